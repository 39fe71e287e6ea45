package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// This file is Ollama's native protocol: POST /api/chat and
// /api/generate, streamed as newline-delimited JSON (the default) or
// answered with one JSON object ("stream": false), GET /api/tags and
// GET /api/version. Errors are {"error": "..."} with an HTTP status, or an
// {"error": ...} line once a stream has started.

// olLoadDuration is the load_duration reported for the (always loaded)
// simulated model.
const olLoadDuration = 500 * time.Microsecond

// olBusy is Ollama's answer when its queue is full (OLLAMA_MAX_QUEUE).
const olBusy = "server busy, please try again.  maximum pending requests exceeded"

// olRequest is the body of /api/chat and /api/generate.
type olRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Prompt   *string       `json:"prompt"`
	Stream   *bool         `json:"stream"`
	Options  struct {
		NumPredict *int   `json:"num_predict"`
		Seed       *int64 `json:"seed"`
		// IgnoreEOS is not an Ollama option: the simulator accepts it so
		// that benchmarks can get exactly num_predict tokens.
		IgnoreEOS bool `json:"ignore_eos"`
	} `json:"options"`
}

type olMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// olLine is one line of a response (or the whole non-streamed response).
type olLine struct {
	Model              string     `json:"model"`
	CreatedAt          string     `json:"created_at"`
	Message            *olMessage `json:"message,omitempty"`
	Response           *string    `json:"response,omitempty"`
	Done               bool       `json:"done"`
	DoneReason         string     `json:"done_reason,omitempty"`
	TotalDuration      int64      `json:"total_duration,omitempty"`
	LoadDuration       int64      `json:"load_duration,omitempty"`
	PromptEvalCount    int        `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64      `json:"prompt_eval_duration,omitempty"`
	EvalCount          int        `json:"eval_count,omitempty"`
	EvalDuration       int64      `json:"eval_duration,omitempty"`
}

func olErrorBody(msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return b
}

func writeOllamaError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(olErrorBody(msg), '\n'))
}

// serveOllama routes the /api/ paths.
func (s *Server) serveOllama(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/api/chat", "/api/generate":
		if r.Method != http.MethodPost {
			writeOllamaError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use POST")
			return
		}
		s.serveOllamaGenerate(w, r, path == "/api/chat")
	case "/api/tags", "/api/version":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeOllamaError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use GET")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if path == "/api/version" {
			json.NewEncoder(w).Encode(map[string]string{"version": "0.0.0-llmload-sim"})
			return
		}
		m := s.profile.Model
		models := make([]map[string]any, len(s.models))
		for i, name := range s.models {
			models[i] = map[string]any{
				"name": name, "model": name, "modified_at": "2024-01-01T00:00:00Z",
				"size": int64(m.Params * m.BytesPerValue), "digest": "sha256:" + strings.Repeat("0", 64),
				"details": map[string]any{"format": "gguf", "family": "llama", "families": []string{"llama"},
					"parameter_size": fmt.Sprintf("%.1fB", m.Params/1e9), "quantization_level": "F16"},
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"models": models})
	default:
		writeOllamaError(w, http.StatusNotFound, "unknown path "+r.URL.Path+" (serving /api/chat, /api/generate, /api/tags, /api/version)")
	}
}

// serveOllamaGenerate serves one /api/chat or /api/generate request.
func (s *Server) serveOllamaGenerate(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	var req olRequest
	body := io.LimitReader(r.Body, maxBodyBytes)
	err := json.NewDecoder(body).Decode(&req)
	io.Copy(io.Discard, body) // only then does net/http cancel r.Context() on disconnect
	if err != nil {
		writeOllamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case req.Model == "":
		writeOllamaError(w, http.StatusBadRequest, "model is required")
		return
	case !s.serves(req.Model) && !s.serves(strings.TrimSuffix(req.Model, ":latest")):
		writeOllamaError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	var prompt int
	var parts []string
	if chat {
		if len(req.Messages) == 0 {
			writeOllamaError(w, http.StatusBadRequest, "messages are required")
			return
		}
		prompt, parts, err = s.countPrompt(&genRequest{Messages: req.Messages}, true)
	} else {
		if req.Prompt == nil || *req.Prompt == "" {
			writeOllamaError(w, http.StatusBadRequest, "prompt is required")
			return
		}
		prompt, parts = s.tok.Count(*req.Prompt), []string{*req.Prompt}
	}
	if err != nil {
		writeOllamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	gp := genParams{IgnoreEOS: req.Options.IgnoreEOS}
	if n := req.Options.NumPredict; n != nil && *n > 0 {
		gp.MaxTokens = n // -1 (infinite) and -2 (fill the context): the rest of the context
	}
	if req.Options.Seed != nil {
		gp.Seed = *req.Options.Seed
	}
	pl, msg := s.planRequest(gp, prompt, parts)
	if msg != "" {
		writeOllamaError(w, http.StatusBadRequest, msg)
		return
	}
	if ok, wait := s.quota.Take(time.Now(), pl.reserve); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeOllamaError(w, http.StatusTooManyRequests,
			"rate limit reached: requests or tokens per minute quota exceeded; retry after "+retryAfterSeconds(wait)+"s")
		return
	}
	q, err := s.enqueue(fmt.Sprintf("ollama-%d", s.ids.Add(1)), pl, arrived)
	switch err {
	case nil:
	case errOverloaded:
		writeOllamaError(w, http.StatusServiceUnavailable, olBusy)
		return
	default:
		writeOllamaError(w, http.StatusServiceUnavailable, "server shutting down")
		return
	}
	em := &olEmitter{s: s, w: w, rc: http.NewResponseController(w), chat: chat,
		stream: req.Stream == nil || *req.Stream, arrived: arrived, pl: pl, q: q}
	s.deliver(r, q, pl, arrived, em)
}

// olEmitter writes one Ollama response.
type olEmitter struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	chat    bool
	stream  bool
	arrived time.Time
	pl      plan
	q       *seq
	started bool
	text    strings.Builder // non-streamed output
}

func (em *olEmitter) lineOf(text string) olLine {
	l := olLine{Model: em.s.model, CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if em.chat {
		l.Message = &olMessage{Role: "assistant", Content: text}
	} else {
		l.Response = &text
	}
	return l
}

func (em *olEmitter) write(l olLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := em.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return em.rc.Flush()
}

func (em *olEmitter) begin() {
	if em.started {
		return
	}
	em.started = true
	em.w.Header().Set("Content-Type", "application/x-ndjson")
	em.w.WriteHeader(http.StatusOK)
}

func (em *olEmitter) token(i int) error {
	text := word(em.pl.hash, i)
	if !em.stream {
		em.text.WriteString(text)
		return nil
	}
	em.begin()
	return em.write(em.lineOf(text))
}

// end writes the final line: done, done_reason and the metrics, with
// durations in nanoseconds measured from the engine's own clock:
// prompt_eval_duration from admission to the first token (prefill, no
// queueing), eval_duration from the first token to the last, and
// total_duration from arrival to now.
func (em *olEmitter) end() {
	now := time.Now()
	admitted, times := em.s.seqClock(em.q)
	l := em.lineOf(em.text.String())
	l.Done, l.DoneReason = true, em.pl.finish
	l.TotalDuration = int64(now.Sub(em.arrived))
	l.LoadDuration = int64(olLoadDuration)
	l.PromptEvalCount, l.EvalCount = em.pl.prompt, len(times)
	if n := len(times); n > 0 && !admitted.IsZero() {
		l.PromptEvalDuration = int64(max(times[0].Sub(admitted), 1))
		l.EvalDuration = int64(max(times[n-1].Sub(times[0]), 1))
	}
	if em.stream {
		em.begin()
		em.write(l)
		return
	}
	em.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(l)
	em.w.Write(append(b, '\n'))
}

// fail ends a response early: an {"error": ...} line on a started stream,
// else an HTTP error (408 for a timeout, 503 when the server closed).
func (em *olEmitter) fail(reason string) {
	msg, status := reasonTimeout, http.StatusRequestTimeout
	if reason != reasonTimeout {
		msg, status = "server shutting down", http.StatusServiceUnavailable
	}
	if !em.started {
		writeOllamaError(em.w, status, msg)
		return
	}
	em.w.Write(append(olErrorBody(msg), '\n'))
	em.rc.Flush()
}
