// Package tgi is the llmload provider for Hugging Face Text Generation
// Inference's native API: POST /generate_stream (server-sent events, one
// per token) and POST /generate (one JSON body).
//
// TGI's OpenAI-compatible API (/v1/chat/completions) is served by
// llm/openai; this provider exists for TGI's own token events, its
// details (finish reason, generated and input token counts) and the
// x-*-time headers in which /generate reports the server's own timings.
//
// The provider parses; it never times. Stream.Next returns each event the
// moment its SSE record is complete, and the load runner stamps it.
package tgi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = wire.DefaultMaxConns

// Options configures a Provider.
type Options struct {
	// BaseURL is the server root, e.g. "http://127.0.0.1:8080"; the paths
	// "/generate_stream" and "/generate" are appended to its path. A
	// trailing slash does not matter and a query string is kept.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when non-empty (a
	// Hugging Face token for Inference Endpoints). It is never logged and
	// is redacted from every error message.
	APIKey string
	// Headers are extra headers sent with every request; they override the
	// provider's defaults and are overridden by llm.Request.Headers.
	Headers map[string]string
	// HTTPClient sends the requests. When nil, New builds one whose idle
	// pool keeps MaxConns connections per host, with no client Timeout:
	// the context given to Start bounds each request.
	HTTPClient *http.Client
	// MaxConns is the number of streams expected to run at once; it sizes
	// the pool of the client New builds. 0 means DefaultMaxConns.
	MaxConns int
	// Client chooses the client New builds: "auto" (or "") sends plain
	// http:// requests that no proxy applies to through a lean HTTP/1.1
	// client made for many streams at once (one goroutine per stream, one
	// read per chunk), and https, proxied and HTTP/2 ones through
	// net/http; "std" uses net/http for everything (docs/performance.md).
	Client string
}

// Provider sends requests to one TGI server. It is safe for concurrent
// use by many goroutines.
type Provider struct {
	streamURL   string
	generateURL string
	infoURL     string
	apiKey      string
	headers     map[string]string
	client      *http.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It fails when BaseURL is not an
// absolute http or https URL with a host.
func New(opts Options) (*Provider, error) {
	u, err := wire.ParseBaseURL("tgi", opts.BaseURL, "http://127.0.0.1:8080")
	if err != nil {
		return nil, err
	}
	p := &Provider{
		streamURL:   wire.Endpoint(u, "/generate_stream"),
		generateURL: wire.Endpoint(u, "/generate"),
		infoURL:     wire.Endpoint(u, "/info"),
		apiKey:      opts.APIKey,
		headers:     wire.CopyHeaders(opts.Headers),
		client:      opts.HTTPClient,
	}
	if p.client == nil {
		c, err := wire.NewClient(opts.MaxConns, opts.Client)
		if err != nil {
			return nil, fmt.Errorf("tgi: %w", err)
		}
		p.client = c
	}
	return p, nil
}

// Name returns "tgi".
func (p *Provider) Name() string { return "tgi" }

// Start sends req to /generate_stream (req.Stream) or /generate and
// returns once the response status and headers have arrived. A non-2xx
// response is returned as an *llm.Error carrying TGI's message.
func (p *Provider) Start(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req == nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "tgi: nil request"}
	}
	body, err := requestBody(req)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "tgi: encoding request: " + wire.Redact(err.Error(), p.apiKey), Err: err}
	}
	target := p.generateURL
	if req.Stream {
		target = p.streamURL
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "tgi: " + wire.Redact(err.Error(), p.apiKey)}
	}
	accept := "application/json"
	if req.Stream {
		accept = "text/event-stream"
	}
	wire.SetHeaders(hreq, accept, p.apiKey, p.headers, req.Headers)
	wire.MarkReplayable(hreq)
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, llm.Classify(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(resp)
	}
	timing := headerTiming(resp.Header)
	sse := req.Stream
	switch wire.MediaType(resp.Header) {
	case "text/event-stream":
		sse = true
	case "application/json":
		sse = false
	}
	if sse {
		return newSSEStream(ctx, resp.Body, resp.StatusCode, p.apiKey, timing), nil
	}
	return newJSONStream(ctx, resp, p.apiKey, timing), nil
}

// requestBody builds {"inputs": ..., "parameters": {...}}. req.Extra is
// merged into "parameters" last and overrides what llmload sets.
func requestBody(req *llm.Request) ([]byte, error) {
	params := make(map[string]any, 4+len(req.Extra))
	params["details"] = true
	if req.MaxTokens > 0 {
		params["max_new_tokens"] = req.MaxTokens
	}
	if t := req.Temperature; t != nil {
		// TGI rejects temperature 0 ("must be strictly positive"); greedy
		// decoding is do_sample false, its default.
		if *t > 0 {
			params["temperature"] = *t
		} else {
			params["do_sample"] = false
		}
	}
	if req.IgnoreEOS {
		// Not a TGI parameter (TGI ignores unknown ones); llmload's
		// simulator honours it.
		params["ignore_eos"] = true
	}
	for k, v := range req.Extra {
		params[k] = v
	}
	return json.Marshal(map[string]any{"inputs": inputs(req), "parameters": params})
}

// inputs is the raw text TGI generates from: Prompt, or else the contents
// of Messages joined by blank lines (the native API applies no chat
// template).
func inputs(req *llm.Request) string {
	if req.Prompt != "" || len(req.Messages) == 0 {
		return req.Prompt
	}
	if len(req.Messages) == 1 {
		return req.Messages[0].Content
	}
	parts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n\n")
}

// timingHeaders maps TGI's timing headers to ServerTiming names. TGI
// writes them in whole milliseconds, except x-compute-time in seconds.
var timingHeaders = [...]struct {
	header, name string
	scale        float64 // to seconds
}{
	{"X-Total-Time", "total_s", 1e-3},
	{"X-Validation-Time", "validation_s", 1e-3},
	{"X-Queue-Time", "queue_s", 1e-3},
	{"X-Inference-Time", "inference_s", 1e-3},
	{"X-Time-Per-Token", "time_per_token_s", 1e-3},
	{"X-Compute-Time", "compute_s", 1},
}

// headerTiming returns the server timings present in h, nil when none.
func headerTiming(h http.Header) map[string]float64 {
	var m map[string]float64
	for _, t := range timingHeaders {
		v := h.Get(t.header)
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 {
			continue
		}
		if m == nil {
			m = make(map[string]float64, len(timingHeaders))
		}
		m[t.name] = f * t.scale
	}
	return m
}

// headerInt returns an integer header, or -1.
func headerInt(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// tgiError is TGI's error body: {"error": "...", "error_type": "..."}.
type tgiError struct {
	Error     json.RawMessage `json:"error"`
	ErrorType string          `json:"error_type"`
	Message   string          `json:"message"`
}

// parseError extracts message and type from an error body; ok is false
// when b is not a JSON object holding one.
func parseError(b []byte) (msg, typ string, ok bool) {
	var e tgiError
	if json.Unmarshal(b, &e) != nil {
		return "", "", false
	}
	msg, typ = wire.ErrorText(e.Error)
	if msg == "" {
		msg = e.Message
	}
	if e.ErrorType != "" {
		typ = e.ErrorType
	}
	return msg, typ, msg != "" || typ != ""
}

// statusError reads the start of a non-2xx response, releases the
// connection and classifies the failure: 429 is overloaded when TGI says
// so (its concurrency limit) and throttled otherwise (a gateway's rate
// limit); 424 (generation failed) is a server error; 422 (validation) and
// other 4xx are client errors.
func (p *Provider) statusError(resp *http.Response) error {
	b := wire.ErrorBody(resp)
	msg, typ, _ := parseError(b)
	msg = wire.Message(msg, b, resp.StatusCode)
	kind := llm.KindOfStatus(resp.StatusCode, string(b))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && typ == "overloaded":
		kind = llm.KindOverloaded
	case resp.StatusCode == http.StatusFailedDependency:
		kind = llm.KindServer
	}
	return wire.StatusError(resp, kind, msg, p.apiKey)
}

// eventError builds the *llm.Error for an error TGI reported in a 2xx
// response: overloaded for error_type "overloaded", client_error for
// "validation", timeout when the message says the request timed out,
// throttled for a rate limit, server_error otherwise.
func eventError(msg, typ string, status int, apiKey string) *llm.Error {
	if msg == "" {
		msg = "error event in stream"
	}
	kind := llm.KindServer
	low := strings.ToLower(typ + " " + msg)
	switch {
	case typ == "overloaded" || strings.Contains(low, "overloaded"):
		kind = llm.KindOverloaded
	case typ == "validation":
		kind = llm.KindClient
	case strings.Contains(low, "timed out") || strings.Contains(low, "timeout"):
		kind = llm.KindTimeout
	case strings.Contains(low, "rate limit") || strings.Contains(low, "rate_limit"):
		kind = llm.KindThrottled
	}
	return &llm.Error{Kind: kind, Status: status, Message: wire.Clip(wire.Redact(msg, apiKey))}
}

// finishReason maps TGI's finish reasons to llmload's: "length" stays,
// "eos_token" and "stop_sequence" become "stop"; anything else is kept.
func finishReason(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "length":
		return "length"
	case "eos_token", "stop_sequence":
		return "stop"
	}
	return string(b)
}
