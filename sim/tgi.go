package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file is Hugging Face TGI's native protocol: POST /generate_stream
// (server-sent events, one per token), POST /generate (one JSON body) and
// GET /info, shaped like TGI 2.x/3.x.
//
// Like TGI, /generate_stream answers 200 at once and reports every
// failure after that as an SSE event {"error":…,"error_type":…}: an
// overloaded server ("overloaded"), a validation error ("validation"), an
// invocation timeout ("incomplete_generation"). /generate uses HTTP
// statuses (429, 422, 424…). Quotas are not a TGI feature: the simulator
// answers a spent RPM/TPM quota on both paths with HTTP 429 and
// error_type "rate_limited", as a gateway in front of TGI would.

// tnDefaultMaxNewTokens is TGI's max_new_tokens when a request sets none.
const tnDefaultMaxNewTokens = 100

// tnEOSID is the token id of the simulated EOS token.
const tnEOSID = 2

// tnRequest is the body of /generate and /generate_stream.
type tnRequest struct {
	Inputs     *string `json:"inputs"`
	Parameters struct {
		MaxNewTokens        *int     `json:"max_new_tokens"`
		Details             bool     `json:"details"`
		DecoderInputDetails bool     `json:"decoder_input_details"`
		Temperature         *float64 `json:"temperature"`
		Seed                *int64   `json:"seed"`
		BestOf              *int     `json:"best_of"`
		// IgnoreEOS is not a TGI parameter: the simulator accepts it so
		// that benchmarks can get exactly max_new_tokens tokens.
		IgnoreEOS bool `json:"ignore_eos"`
	} `json:"parameters"`
}

type tnToken struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob"`
	Special bool    `json:"special"`
}

type tnStreamDetails struct {
	FinishReason    string `json:"finish_reason"`
	GeneratedTokens int    `json:"generated_tokens"`
	Seed            *int64 `json:"seed"`
	InputLength     int    `json:"input_length"`
}

type tnStreamEvent struct {
	Index         int              `json:"index"`
	Token         tnToken          `json:"token"`
	GeneratedText *string          `json:"generated_text"`
	Details       *tnStreamDetails `json:"details"`
}

type tnDetails struct {
	FinishReason    string    `json:"finish_reason"`
	GeneratedTokens int       `json:"generated_tokens"`
	Seed            *int64    `json:"seed"`
	Prefill         []tnToken `json:"prefill"`
	Tokens          []tnToken `json:"tokens"`
}

type tnResponse struct {
	GeneratedText string     `json:"generated_text"`
	Details       *tnDetails `json:"details,omitempty"`
}

// tnErrorBody is TGI's error object.
func tnErrorBody(msg, typ string) []byte {
	b, _ := json.Marshal(struct {
		Error     string `json:"error"`
		ErrorType string `json:"error_type"`
	}{msg, typ})
	return b
}

func writeTNError(w http.ResponseWriter, status int, msg, typ string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(tnErrorBody(msg, typ), '\n'))
}

// tnFinish maps the plan's finish reason to TGI's.
func tnFinish(finish string) string {
	if finish == "stop" {
		return "eos_token"
	}
	return "length"
}

// serveTGI routes the TGI paths.
func (s *Server) serveTGI(w http.ResponseWriter, r *http.Request) {
	switch path := strings.TrimSuffix(r.URL.Path, "/"); path {
	case "/info":
		if r.Method != http.MethodGet {
			writeTNError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use GET", "validation")
			return
		}
		s.serveTGIInfo(w)
	default:
		if r.Method != http.MethodPost {
			writeTNError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use POST", "validation")
			return
		}
		s.serveTGIGenerate(w, r, path == "/generate_stream")
	}
}

func (s *Server) serveTGIInfo(w http.ResponseWriter) {
	mc := s.profile.Model.MaxContext
	limit := s.limit
	if limit < 0 {
		limit = 0
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"model_id":                 s.model,
		"model_sha":                nil,
		"model_dtype":              "torch.float16",
		"model_device_type":        "cuda",
		"model_pipeline_tag":       "text-generation",
		"max_concurrent_requests":  limit,
		"max_best_of":              1,
		"max_stop_sequences":       4,
		"max_input_tokens":         mc - 1,
		"max_total_tokens":         mc,
		"validation_workers":       2,
		"max_client_batch_size":    4,
		"router":                   "text-generation-router",
		"version":                  "llmload-sim",
		"sha":                      nil,
		"docker_label":             nil,
		"max_batch_prefill_tokens": s.profile.MaxPrefillTokens,
	})
}

// serveTGIGenerate serves one /generate or /generate_stream request.
func (s *Server) serveTGIGenerate(w http.ResponseWriter, r *http.Request, stream bool) {
	start := time.Now()
	var req tnRequest
	body := io.LimitReader(r.Body, maxBodyBytes)
	err := json.NewDecoder(body).Decode(&req)
	io.Copy(io.Discard, body) // only then does net/http cancel r.Context() on disconnect
	if err != nil {
		// axum's Json extractor: 422 before any stream starts.
		writeTNError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error(), "validation")
		return
	}
	em := &tnEmitter{s: s, w: w, rc: http.NewResponseController(w), stream: stream, start: start,
		details: req.Parameters.Details, seed: req.Parameters.Seed}
	pl, msg := s.planTGINative(&req)
	if msg != "" {
		em.refuse(http.StatusUnprocessableEntity, "Input validation error: "+msg, "validation")
		return
	}
	if ok, wait := s.quota.Take(time.Now(), pl.reserve); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeTNError(w, http.StatusTooManyRequests,
			"Rate limit reached: requests or tokens per minute quota exceeded; retry after "+retryAfterSeconds(wait)+"s", "rate_limited")
		return
	}
	em.pl, em.queued = pl, time.Now()
	q, err := s.enqueue(fmt.Sprintf("tgi-%d", s.ids.Add(1)), pl, start)
	switch err {
	case nil:
	case errOverloaded:
		em.refuse(http.StatusTooManyRequests, errOverloaded.Error(), "overloaded")
		return
	default:
		em.refuse(http.StatusServiceUnavailable, "server shutting down", "generation")
		return
	}
	em.q = q
	s.deliver(r, q, pl, start, em)
}

// planTGINative validates a request as TGI does and plans it; msg is the
// validation error.
func (s *Server) planTGINative(req *tnRequest) (pl plan, msg string) {
	p := &req.Parameters
	switch {
	case req.Inputs == nil || *req.Inputs == "":
		return pl, "`inputs` cannot be empty"
	case p.MaxNewTokens != nil && *p.MaxNewTokens < 1:
		return pl, "`max_new_tokens` must be strictly positive"
	case p.Temperature != nil && *p.Temperature <= 0:
		return pl, "`temperature` must be strictly positive"
	case p.BestOf != nil && *p.BestOf != 1:
		return pl, "`best_of` != 1 is not supported by the simulator"
	}
	limit := tnDefaultMaxNewTokens
	if p.MaxNewTokens != nil {
		limit = *p.MaxNewTokens
	}
	prompt := s.tok.Count(*req.Inputs)
	if mc := s.profile.Model.MaxContext; prompt+limit > mc {
		return pl, fmt.Sprintf("`inputs` tokens + `max_new_tokens` must be <= %d. Given: %d `inputs` tokens and %d `max_new_tokens`", mc, prompt, limit)
	}
	var seed int64
	if p.Seed != nil {
		seed = *p.Seed
	}
	pl, msg = s.planRequest(genParams{MaxTokens: &limit, IgnoreEOS: p.IgnoreEOS, Seed: seed}, prompt, []string{*req.Inputs})
	return pl, msg
}

// seqClock returns q's admission and token times, read under the lock.
func (s *Server) seqClock(q *seq) (admitted time.Time, times []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return q.admitted, append([]time.Time(nil), q.times...)
}

// tnEmitter writes one TGI response.
type tnEmitter struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	stream  bool
	details bool
	seed    *int64
	start   time.Time // the request arrived
	queued  time.Time // validated and queued
	pl      plan
	q       *seq
	started bool            // streaming headers sent
	text    strings.Builder // the output so far
	tokens  []tnToken       // /generate with details
}

// tokenAt is output token i: a word, or the EOS special token that ends a
// naturally stopped output (TGI counts it in generated_tokens but not in
// generated_text).
func (em *tnEmitter) tokenAt(i int) tnToken {
	h := em.pl.hash
	if i == em.pl.target-1 && em.pl.finish == "stop" {
		return tnToken{ID: tnEOSID, Text: "</s>", Logprob: -0.0123, Special: true}
	}
	id := int(splitmix64(h+uint64(i)*0x9e3779b97f4a7c15) % uint64(len(words)))
	lp := -float64(splitmix64(h^uint64(i))%4000) / 1000
	return tnToken{ID: 1000 + id, Text: word(h, i), Logprob: lp}
}

// begin sends the stream's headers: 200, and x-queue-time (ms), the only
// timing known before the end. It reports whether it sent them now.
func (em *tnEmitter) begin() {
	if em.started {
		return
	}
	em.started = true
	h := em.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Compute-Type", "gpu+optimized")
	if em.q != nil {
		if admitted, _ := em.s.seqClock(em.q); !admitted.IsZero() {
			h.Set("X-Queue-Time", tnMillis(admitted.Sub(em.queued)))
		}
	}
	em.w.WriteHeader(http.StatusOK)
}

// event writes one SSE event as TGI (axum) does: "data:" with no space.
func (em *tnEmitter) event(b []byte) error {
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data:"...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := em.w.Write(buf); err != nil {
		return err
	}
	return em.rc.Flush()
}

// refuse answers a request that will not run: an HTTP error on /generate,
// a 200 stream holding one error event on /generate_stream (as TGI does).
func (em *tnEmitter) refuse(status int, msg, typ string) {
	if !em.stream {
		writeTNError(em.w, status, msg, typ)
		return
	}
	em.begin()
	em.event(tnErrorBody(msg, typ))
}

func (em *tnEmitter) token(i int) error {
	t := em.tokenAt(i)
	if !t.Special {
		em.text.WriteString(t.Text)
	}
	last := i == em.pl.target-1
	if !em.stream {
		if em.details {
			em.tokens = append(em.tokens, t)
		}
		return nil
	}
	em.begin()
	ev := tnStreamEvent{Index: i + 1, Token: t}
	if last {
		text := em.text.String()
		ev.GeneratedText = &text
		if em.details {
			ev.Details = &tnStreamDetails{FinishReason: tnFinish(em.pl.finish), GeneratedTokens: em.pl.target,
				Seed: em.seed, InputLength: em.pl.prompt}
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return em.event(b)
}

// end completes a response. A stream is complete with its last token's
// event; /generate writes its body with TGI's timing headers (ms, and
// x-compute-time in seconds).
func (em *tnEmitter) end() {
	if em.stream {
		return
	}
	now := time.Now()
	admitted, times := em.s.seqClock(em.q)
	h := em.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Compute-Type", "gpu+optimized")
	total := now.Sub(em.start)
	h.Set("X-Compute-Time", strconv.FormatFloat(total.Seconds(), 'f', -1, 64))
	h.Set("X-Compute-Characters", strconv.Itoa(0))
	h.Set("X-Total-Time", tnMillis(total))
	h.Set("X-Validation-Time", tnMillis(em.queued.Sub(em.start)))
	if !admitted.IsZero() {
		inference := now.Sub(admitted)
		h.Set("X-Queue-Time", tnMillis(admitted.Sub(em.queued)))
		h.Set("X-Inference-Time", tnMillis(inference))
		if n := len(times); n > 0 {
			h.Set("X-Time-Per-Token", tnMillis(inference/time.Duration(n)))
		}
	}
	h.Set("X-Prompt-Tokens", strconv.Itoa(em.pl.prompt))
	h.Set("X-Generated-Tokens", strconv.Itoa(em.pl.target))
	resp := tnResponse{GeneratedText: em.text.String()}
	if em.details {
		resp.Details = &tnDetails{FinishReason: tnFinish(em.pl.finish), GeneratedTokens: em.pl.target,
			Seed: em.seed, Prefill: []tnToken{}, Tokens: em.tokens}
	}
	json.NewEncoder(em.w).Encode(resp)
}

// fail ends a response early: on a stream an error event (TGI's
// incomplete_generation for a timeout), on /generate an HTTP error (408
// for a timeout, so that generic clients classify it as one).
func (em *tnEmitter) fail(reason string) {
	msg, typ, status := "Request timed out", "incomplete_generation", http.StatusRequestTimeout
	if reason != reasonTimeout {
		msg, typ, status = "server shutting down", "generation", http.StatusServiceUnavailable
	}
	em.refuse(status, msg, typ)
}

// tnMillis formats d as TGI does: whole milliseconds.
func tnMillis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
