package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// This file is the OpenAI-compatible wire protocol, shaped like vLLM's.

// Chat template overhead: a real chat template wraps every message in
// role markers and separators and appends the assistant's header. The
// simulator counts chatTokensPerMessage per message plus chatTokensReply
// on top of the content's tokens (the OpenAI cookbook's accounting for
// gpt-3.5/4 chat, rounded). A client that counts only the content will
// therefore count fewer prompt tokens than the server reports: the
// server-vs-client disagreement llmload reports.
const (
	chatTokensPerMessage = 4
	chatTokensReply      = 3
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 32 << 20

// genRequest is the body of /v1/chat/completions and /v1/completions.
type genRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MinTokens           int             `json:"min_tokens"`
	IgnoreEOS           bool            `json:"ignore_eos"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	N    *int  `json:"n"`
	Seed int64 `json:"seed"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// messageText returns a message's text: content is a string, an array of
// parts ({"type":"text","text":...}; other parts count nothing) or null.
func messageText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("message content must be a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// countPrompt returns the prompt's token count and its text (for the
// request hash). Chat: Σ (content tokens + chatTokensPerMessage) +
// chatTokensReply. Completions: "prompt" is a string, an array of strings
// (counted together, answered with one choice), or token ids.
func (s *Server) countPrompt(req *genRequest, chat bool) (int, []string, error) {
	if chat {
		if len(req.Messages) == 0 {
			return 0, nil, errors.New("'messages' is required and must not be empty")
		}
		n := chatTokensReply
		parts := make([]string, 0, 2*len(req.Messages))
		for _, m := range req.Messages {
			text, err := messageText(m.Content)
			if err != nil {
				return 0, nil, err
			}
			n += s.tok.Count(text) + chatTokensPerMessage
			parts = append(parts, m.Role, text)
		}
		return n, parts, nil
	}
	raw := req.Prompt
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil, errors.New("'prompt' is required")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return s.tok.Count(one), []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		n := 0
		for _, p := range many {
			n += s.tok.Count(p)
		}
		return n, many, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err == nil {
		return len(ids), []string{string(raw)}, nil
	}
	return 0, nil, errors.New("'prompt' must be a string, an array of strings or an array of token ids")
}

// plan is what the server decided to do with a request.
type plan struct {
	prompt, target, reserve int
	cached                  int    // prompt tokens served from the prefix cache
	cacheOn                 bool   // the server has a prefix cache: report it
	finish                  string // finish_reason of the last token
	hash                    uint64
}

// planRequest decides the output length and KV reservation, or returns a
// client error message.
//
// With "ignore_eos" or "min_tokens" ≥ max_tokens the request emits exactly
// max_tokens ("length"). Otherwise it emits min(max_tokens, natural), the
// natural length drawn from the seed and the request (uniform 50–400, at
// least min_tokens): "stop" when natural < max_tokens. Without max_tokens
// the limit is what is left of the context. The KV reservation is prompt +
// max_tokens (prompt + output when max_tokens is absent).
func (s *Server) planRequest(req genParams, prompt int, parts []string) (plan, string) {
	mc := s.profile.Model.MaxContext
	left := mc - prompt
	if left < 1 {
		return plan{}, fmt.Sprintf("This model's maximum context length is %d tokens. However, your prompt has %d tokens, which leaves no room for output.", mc, prompt)
	}
	limit := req.MaxTokens
	if limit != nil && *limit < 1 {
		return plan{}, fmt.Sprintf("max_tokens must be at least 1, got %d", *limit)
	}
	if limit != nil && prompt+*limit > mc {
		return plan{}, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
			mc, prompt+*limit, prompt, *limit)
	}
	h := requestHash(s.seed, req.Seed, parts)
	pl := plan{prompt: prompt, hash: h}
	most := left
	if limit != nil {
		most = *limit
	}
	natural := max(naturalLength(h), req.MinTokens)
	if req.IgnoreEOS || natural >= most {
		pl.target, pl.finish = most, "length"
	} else {
		pl.target, pl.finish = natural, "stop"
	}
	if limit != nil {
		pl.reserve = prompt + *limit
	} else {
		pl.reserve = prompt + pl.target
	}
	if c := s.engines[0].b.capacity; pl.reserve > c {
		return plan{}, fmt.Sprintf("request needs %d tokens of KV cache (%d prompt + %d output) but the cache of profile %s holds %d; reduce the prompt or max_tokens",
			pl.reserve, prompt, pl.reserve-prompt, s.profile.Name, c)
	}
	return pl, ""
}

// genParams are the output controls of a request, whatever its protocol.
type genParams struct {
	MaxTokens *int // nil: no limit but the context
	MinTokens int
	IgnoreEOS bool
	Seed      int64
}

// params returns the output controls of an OpenAI request.
func (req *genRequest) params() genParams {
	limit := req.MaxCompletionTokens
	if limit == nil {
		limit = req.MaxTokens
	}
	return genParams{MaxTokens: limit, MinTokens: req.MinTokens, IgnoreEOS: req.IgnoreEOS, Seed: req.Seed}
}

// Response shapes.

type usage struct {
	PromptTokens            int                `json:"prompt_tokens"`
	CompletionTokens        int                `json:"completion_tokens"`
	TotalTokens             int                `json:"total_tokens"`
	PromptTokensDetails     *promptDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *completionDetails `json:"completion_tokens_details,omitempty"`
}

// completionDetails is OpenAI's (and vLLM's) usage.completion_tokens_details.
type completionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// promptDetails is vLLM's (and OpenAI's) usage.prompt_tokens_details.
type promptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// cacheTimings is the token-count part of llama.cpp server's "timings":
// prompt_n tokens computed, cache_n taken from the cache.
type cacheTimings struct {
	PromptN int `json:"prompt_n"`
	CacheN  int `json:"cache_n"`
}

type delta struct {
	Role             string `json:"role,omitempty"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Reasoning        string `json:"reasoning,omitempty"`
}

// Kinds of output token, by the delta field that carries them.
const (
	kindContent   = iota // delta.content (or text, completions)
	kindReasoning        // delta.reasoning_content
	kindPlain            // delta.reasoning
	kinds
)

// deltaOf is the delta carrying text as kind.
func deltaOf(kind int, text string) *delta {
	switch kind {
	case kindReasoning:
		return &delta{ReasoningContent: text}
	case kindPlain:
		return &delta{Reasoning: text}
	}
	return &delta{Content: text}
}

type chunkChoice struct {
	Index        int     `json:"index"`
	Delta        *delta  `json:"delta,omitempty"`
	Text         *string `json:"text,omitempty"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage,omitempty"`
	Timings *cacheTimings `json:"timings,omitempty"`
}

type message struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Reasoning        string `json:"reasoning,omitempty"`
}

type fullChoice struct {
	Index        int      `json:"index"`
	Message      *message `json:"message,omitempty"`
	Text         *string  `json:"text,omitempty"`
	Logprobs     any      `json:"logprobs"`
	FinishReason string   `json:"finish_reason"`
}

type fullResponse struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []fullChoice  `json:"choices"`
	Usage   usage         `json:"usage"`
	Timings *cacheTimings `json:"timings,omitempty"`
}

type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code,omitempty"`
	} `json:"error"`
}

func errorBody(status int, typ, msg string) []byte {
	var e apiError
	e.Error.Message, e.Error.Type = msg, typ
	if status != http.StatusTooManyRequests {
		e.Error.Code = status
	}
	b, _ := json.Marshal(e)
	return b
}

// writeError writes an OpenAI-style error: {"error":{"message","type","code"}}.
// The 429 body is exactly TGI-like {"error":{"message":"Model is
// overloaded","type":"overloaded"}}.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(errorBody(status, typ, msg), '\n'))
}

func (s *Server) serveModels(w http.ResponseWriter) {
	data := make([]map[string]any, len(s.models))
	for i, m := range s.models {
		data[i] = map[string]any{
			"id":            m,
			"object":        "model",
			"created":       0,
			"owned_by":      "llmload-sim",
			"max_model_len": s.profile.Model.MaxContext,
		}
	}
	body := map[string]any{"object": "list", "data": data}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// endError maps an early-end reason to its HTTP status, error type and message.
func endError(reason string) (int, string, string) {
	if reason == reasonTimeout {
		return http.StatusRequestTimeout, "timeout", reasonTimeout
	}
	return http.StatusServiceUnavailable, "server_error", "server shutting down"
}

// readRequest reads a POSTed OpenAI JSON body into v, whose model field
// is *model, and checks that the model is served. When it is not a POST,
// not JSON or not for a served model it answers as OpenAI does and
// returns false.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, v any, model *string) bool {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method "+r.Method+" not allowed; use POST")
		return false
	}
	body := io.LimitReader(r.Body, maxBodyBytes)
	err := json.NewDecoder(body).Decode(v)
	// Read to EOF: only then does net/http watch the connection and cancel
	// r.Context() when the client goes away.
	io.Copy(io.Discard, body)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return false
	case *model == "":
		writeError(w, http.StatusBadRequest, "invalid_request_error", "'model' is required")
		return false
	case !s.serves(*model):
		writeError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("The model `%s` does not exist. Served: %s", *model, strings.Join(s.models, ", ")))
		return false
	}
	return true
}

// serveGenerate serves one chat or completions request.
func (s *Server) serveGenerate(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	var req genRequest
	if !s.readRequest(w, r, &req, &req.Model) {
		return
	}
	switch {
	case req.N != nil && *req.N != 1:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "only n=1 is supported")
		return
	}
	// Like TGI, refuse an overloaded server's request before tokenizing
	// it: a flood of refused requests then costs the simulator little CPU,
	// and the requests it serves are not delayed by it.
	if s.full() {
		writeError(w, http.StatusTooManyRequests, "overloaded", errOverloaded.Error())
		return
	}
	prompt, parts, err := s.countPrompt(&req, chat)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	pl, msg := s.planRequest(req.params(), prompt, parts)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}

	if ok, wait := s.quota.Take(time.Now(), pl.reserve); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded",
			"Rate limit reached: requests or tokens per minute quota exceeded; retry after "+retryAfterSeconds(wait)+"s")
		return
	}

	if s.prefix != nil {
		pl.cached, pl.cacheOn = s.prefix.lookup(parts, prompt), true
		if chat {
			// The answer's blocks too, as a conversation's next turn sends
			// them back (role and text, as countPrompt lists them).
			s.prefix.insert(append(parts[:len(parts):len(parts)], "assistant", answerText(pl.hash, pl.target)))
		}
	}
	id, object := fmt.Sprintf("cmpl-%d", s.ids.Add(1)), "text_completion"
	if chat {
		id, object = "chat"+id, "chat.completion"
	}
	q, err := s.enqueue(id, pl, arrived)
	switch err {
	case nil:
	case errOverloaded:
		writeError(w, http.StatusTooManyRequests, "overloaded", errOverloaded.Error())
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "server_error", "server shutting down")
		return
	}

	wr := &responder{s: s, w: w, rc: http.NewResponseController(w), chat: chat, id: id, object: object,
		created: arrived.Unix(), pl: pl, stream: req.Stream,
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	s.deliver(r, q, pl, arrived, wr)
}

// responder writes one response, streamed or not.
type responder struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	chat    bool
	stream  bool
	usage   bool // stream_options.include_usage
	id      string
	object  string
	created int64
	pl      plan
	started bool            // streaming headers sent
	text    strings.Builder // non-streaming output
	// reasoningText is the non-streaming output sent as reasoning_content
	// or reasoning.
	reasoningText strings.Builder
	// buf is reused for every event; tmplHead and tmplTail are, per kind
	// of token, a chunk's bytes before and after its quoted text (see
	// plainToken).
	buf                []byte
	tmplHead, tmplTail [kinds][]byte
}

func (wr *responder) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return wr.raw(b)
}

func (wr *responder) raw(b []byte) error {
	wr.buf = append(append(append(wr.buf[:0], "data: "...), b...), "\n\n"...)
	return wr.send()
}

// send writes wr.buf and flushes it to the client.
func (wr *responder) send() error {
	if _, err := wr.w.Write(wr.buf); err != nil {
		return err
	}
	return wr.rc.Flush()
}

// placeholder stands for a chunk's text in the template plainToken splits.
const placeholder = "\x00"

// plainToken writes the content chunk of a token that is neither the
// first nor the last, with text made only of characters JSON writes as
// themselves, without encoding/json: the chunk's bytes around the text
// are those json.Marshal produced for the response's first such chunk.
// It is the simulator's per-token work, which must stay small for
// tokens to leave at their emit times under many streams.
// TestPlainTokenMatchesJSON holds it to event's output.
func (wr *responder) plainToken(text string) (ok bool, err error) {
	return wr.plainTokenOf(kindContent, text)
}

// plainTokenOf is plainToken for a token of kind.
func (wr *responder) plainTokenOf(kind int, text string) (ok bool, err error) {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false, nil
		}
	}
	if wr.tmplHead[kind] == nil {
		c := chunkChoice{}
		p := placeholder
		if wr.chat {
			c.Delta = deltaOf(kind, p)
		} else {
			c.Text = &p
		}
		b, err := json.Marshal(wr.chunkOf(c))
		if err != nil {
			return false, err
		}
		head, tail, found := bytes.Cut(b, []byte(`"\u0000"`))
		if !found {
			return false, nil
		}
		wr.tmplHead[kind], wr.tmplTail[kind] = head, tail
	}
	b := append(wr.buf[:0], "data: "...)
	b = append(b, wr.tmplHead[kind]...)
	b = append(b, '"')
	b = append(b, text...)
	b = append(b, '"')
	b = append(b, wr.tmplTail[kind]...)
	wr.buf = append(b, "\n\n"...)
	return true, wr.send()
}

func (wr *responder) chunkOf(c chunkChoice) chunk {
	obj := "text_completion"
	if wr.chat {
		obj = "chat.completion.chunk"
	}
	return chunk{ID: wr.id, Object: obj, Created: wr.created, Model: wr.s.model, Choices: []chunkChoice{c}}
}

// reasoningTokens is how many of the response's first tokens are reasoning.
func (wr *responder) reasoningTokens() int { return min(wr.s.reasoning, wr.pl.target) }

// tokenOf returns output token i's text and the kind of delta that
// carries it. Reasoning tokens of field "think", and of any field in the
// completions API (which has no reasoning field), are content: the first
// is "<think>", the last "</think>".
func (wr *responder) tokenOf(i int) (string, int) {
	text := word(wr.pl.hash, i)
	n := wr.reasoningTokens()
	if i >= n {
		return text, kindContent
	}
	switch {
	case wr.s.reasoningField == ReasoningThink || !wr.chat:
		switch i {
		case 0:
			text = "<think>"
		case n - 1:
			text = "</think>"
		}
		return text, kindContent
	case wr.s.reasoningField == ReasoningPlain:
		return text, kindPlain
	}
	return text, kindReasoning
}

// token handles output token i.
func (wr *responder) token(i int) error {
	text, kind := wr.tokenOf(i)
	if !wr.stream {
		if kind == kindContent {
			wr.text.WriteString(text)
		} else {
			wr.reasoningText.WriteString(text)
		}
		return nil
	}
	if !wr.started {
		wr.started = true
		h := wr.w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		wr.w.WriteHeader(http.StatusOK)
		if wr.chat {
			if err := wr.event(wr.chunkOf(chunkChoice{Delta: &delta{Role: "assistant"}})); err != nil {
				return err
			}
		}
	}
	if i > 0 && i < wr.pl.target-1 {
		if ok, err := wr.plainTokenOf(kind, text); ok || err != nil {
			return err
		}
	}
	c := chunkChoice{}
	if wr.chat {
		c.Delta = deltaOf(kind, text)
	} else {
		c.Text = &text
	}
	ch := wr.chunkOf(c)
	if i == wr.pl.target-1 {
		c.FinishReason = &wr.pl.finish
		ch = wr.chunkOf(c)
		ch.Timings = wr.timingsOf() // llama.cpp: on the finish chunk
	}
	return wr.event(ch)
}

func (wr *responder) usageOf() usage {
	u := usage{PromptTokens: wr.pl.prompt, CompletionTokens: wr.pl.target, TotalTokens: wr.pl.prompt + wr.pl.target}
	if wr.pl.cacheOn {
		u.PromptTokensDetails = &promptDetails{CachedTokens: wr.pl.cached}
	}
	if n := wr.reasoningTokens(); n > 0 {
		u.CompletionTokensDetails = &completionDetails{ReasoningTokens: n}
	}
	return u
}

// timingsOf is llama.cpp's cache report, nil without a prefix cache.
func (wr *responder) timingsOf() *cacheTimings {
	if !wr.pl.cacheOn {
		return nil
	}
	return &cacheTimings{PromptN: wr.pl.prompt - wr.pl.cached, CacheN: wr.pl.cached}
}

// end finishes a complete response.
func (wr *responder) end() {
	if wr.stream {
		if wr.usage {
			obj := "text_completion"
			if wr.chat {
				obj = "chat.completion.chunk"
			}
			u := wr.usageOf()
			if wr.event(chunk{ID: wr.id, Object: obj, Created: wr.created, Model: wr.s.model,
				Choices: []chunkChoice{}, Usage: &u}) != nil {
				return
			}
		}
		wr.raw([]byte("[DONE]"))
		return
	}
	text := wr.text.String()
	c := fullChoice{FinishReason: wr.pl.finish}
	if wr.chat {
		c.Message = &message{Role: "assistant", Content: text}
		switch r := wr.reasoningText.String(); wr.s.reasoningField {
		case ReasoningPlain:
			c.Message.Reasoning = r
		default:
			c.Message.ReasoningContent = r
		}
	} else {
		c.Text = &text
	}
	wr.w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(wr.w).Encode(fullResponse{ID: wr.id, Object: wr.object, Created: wr.created,
		Model: wr.s.model, Choices: []fullChoice{c}, Usage: wr.usageOf(), Timings: wr.timingsOf()})
}

// fail ends a response early: an HTTP error if nothing was sent yet,
// otherwise an error event (no [DONE]) on the open stream.
func (wr *responder) fail(reason string) {
	status, typ, msg := endError(reason)
	if !wr.started {
		writeError(wr.w, status, typ, msg)
		return
	}
	wr.raw(errorBody(status, typ, msg))
}
