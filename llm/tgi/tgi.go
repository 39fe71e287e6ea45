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
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/llmload/llmload/llm"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = 100

// errBodyLimit is how much of a non-2xx response body is read for its message.
const errBodyLimit = 4 << 10

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
}

// Provider sends requests to one TGI server. It is safe for concurrent
// use by many goroutines.
type Provider struct {
	streamURL   string
	generateURL string
	apiKey      string
	headers     map[string]string
	client      *http.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It fails when BaseURL is not an
// absolute http or https URL with a host.
func New(opts Options) (*Provider, error) {
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, which may hold credentials
		}
		return nil, fmt.Errorf("tgi: invalid BaseURL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("tgi: BaseURL %q: scheme must be http or https (e.g. http://127.0.0.1:8080)", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("tgi: BaseURL %q: no host", u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	endpoint := func(p string) string {
		v := *u
		v.Path = strings.TrimRight(u.Path, "/") + p
		v.RawPath = ""
		return v.String()
	}
	p := &Provider{
		streamURL:   endpoint("/generate_stream"),
		generateURL: endpoint("/generate"),
		apiKey:      opts.APIKey,
		client:      opts.HTTPClient,
	}
	if len(opts.Headers) > 0 {
		p.headers = make(map[string]string, len(opts.Headers))
		for k, v := range opts.Headers {
			p.headers[k] = v
		}
	}
	if p.client == nil {
		p.client = newClient(opts.MaxConns)
	}
	return p, nil
}

// newClient builds the default client: http.DefaultTransport's settings
// with an idle pool of one connection per expected stream, so keep-alive
// connections are reused instead of re-dialed under load.
func newClient(maxConns int) *http.Client {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(maxConns, t.MaxIdleConns)
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = 0
	return &http.Client{Transport: t}
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
		return nil, &llm.Error{Kind: llm.KindClient, Message: "tgi: encoding request: " + p.redact(err.Error()), Err: err}
	}
	target := p.generateURL
	if req.Stream {
		target = p.streamURL
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "tgi: " + p.redact(err.Error())}
	}
	p.setHeaders(hreq, req)
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, llm.Classify(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(resp)
	}
	timing := headerTiming(resp.Header)
	sse := req.Stream
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		switch mt {
		case "text/event-stream":
			sse = true
		case "application/json":
			sse = false
		}
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

func (p *Provider) setHeaders(h *http.Request, req *llm.Request) {
	h.Header.Set("Content-Type", "application/json")
	if req.Stream {
		h.Header.Set("Accept", "text/event-stream")
	} else {
		h.Header.Set("Accept", "application/json")
	}
	if p.apiKey != "" {
		h.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	set := func(hs map[string]string) {
		for k, v := range hs {
			if strings.EqualFold(k, "Host") {
				h.Host = v
				continue
			}
			h.Header.Set(k, v)
		}
	}
	set(p.headers)
	set(req.Headers)
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
	if len(e.Error) > 0 && string(e.Error) != "null" {
		if json.Unmarshal(e.Error, &msg) != nil {
			var inner struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			}
			if json.Unmarshal(e.Error, &inner) == nil && inner.Message != "" {
				msg, typ = inner.Message, inner.Type
			} else {
				msg = string(e.Error)
			}
		}
	}
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
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	drainClose(resp.Body, resp.Body)
	msg, typ, _ := parseError(b)
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	kind := llm.KindOfStatus(resp.StatusCode, string(b))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && typ == "overloaded":
		kind = llm.KindOverloaded
	case resp.StatusCode == http.StatusFailedDependency:
		kind = llm.KindServer
	}
	return &llm.Error{Kind: kind, Status: resp.StatusCode, Message: clip(redact(msg, p.apiKey)),
		RetryAfter: llm.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
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
	return &llm.Error{Kind: kind, Status: status, Message: clip(redact(msg, apiKey))}
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

func (p *Provider) redact(s string) string { return redact(s, p.apiKey) }

// redact removes the API key from s.
func redact(s, key string) string {
	if key == "" || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// maxMessage bounds the length of an error message taken from a server.
const maxMessage = 512

// clip shortens s to maxMessage bytes on a rune boundary and folds it to one line.
func clip(s string) string {
	if len(s) > maxMessage {
		i := maxMessage
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		s = s[:i] + "…"
	}
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}

// Bounds of the drain that lets the transport reuse a connection.
const (
	maxDrain     = 64 << 10
	drainTimeout = 100 * time.Millisecond
)

// drainClose reads what is left of a response (at most maxDrain bytes,
// for at most drainTimeout) and closes it, so that an HTTP/1.1
// connection goes back to the pool instead of being re-dialed.
func drainClose(r io.Reader, body io.Closer) error {
	t := time.AfterFunc(drainTimeout, func() { body.Close() })
	io.CopyN(io.Discard, r, maxDrain)
	t.Stop()
	return body.Close()
}
