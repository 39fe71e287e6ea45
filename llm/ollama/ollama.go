// Package ollama is the llmload provider for Ollama's native API: POST
// /api/chat and /api/generate, streamed as newline-delimited JSON.
//
// Ollama's OpenAI-compatible API (/v1) is served by llm/openai; this
// provider exists for the native stream's final line, which reports the
// server's own token counts and its timings (load, prompt evaluation,
// generation) in nanoseconds.
//
// The provider parses; it never times. Stream.Next returns each event the
// moment its line is complete, and the load runner stamps it.
package ollama

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = wire.DefaultMaxConns

// The APIs a Provider can speak.
const (
	APIChat     = "chat"     // POST /api/chat: messages in, message.content out
	APIGenerate = "generate" // POST /api/generate: prompt in, response out
)

// Options configures a Provider.
type Options struct {
	// BaseURL is the server root, e.g. "http://127.0.0.1:11434"; "/api/chat"
	// or "/api/generate" is appended to its path. A trailing slash does not
	// matter and a query string is kept.
	BaseURL string
	// Headers are extra headers sent with every request (e.g. the
	// Authorization of a proxy in front of Ollama); they override the
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
	// API is APIChat (the default when empty) or APIGenerate.
	API string
}

// Provider sends requests to one Ollama server. It is safe for concurrent
// use by many goroutines.
type Provider struct {
	url     string
	tagsURL string
	api     string
	headers map[string]string
	client  *http.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It fails when BaseURL is not an
// absolute http or https URL with a host, or API is unknown.
func New(opts Options) (*Provider, error) {
	api := opts.API
	switch api {
	case "":
		api = APIChat
	case APIChat, APIGenerate:
	default:
		return nil, fmt.Errorf("ollama: unknown API %q (use %q or %q)", opts.API, APIChat, APIGenerate)
	}
	u, err := wire.ParseBaseURL("ollama", opts.BaseURL, "http://127.0.0.1:11434")
	if err != nil {
		return nil, err
	}
	p := &Provider{
		url:     wire.Endpoint(u, "/api/"+api),
		tagsURL: wire.Endpoint(u, "/api/tags"),
		api:     api,
		headers: wire.CopyHeaders(opts.Headers),
		client:  opts.HTTPClient,
	}
	if p.client == nil {
		c, err := wire.NewClient(opts.MaxConns, opts.Client)
		if err != nil {
			return nil, fmt.Errorf("ollama: %w", err)
		}
		p.client = c
	}
	return p, nil
}

// Name returns "ollama".
func (p *Provider) Name() string { return "ollama" }

// Start sends req and returns once the response status and headers have
// arrived. A non-2xx response is returned as an *llm.Error carrying
// Ollama's message.
func (p *Provider) Start(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req == nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "ollama: nil request"}
	}
	body, err := requestBody(req, p.api)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "ollama: encoding request: " + err.Error(), Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "ollama: " + err.Error()}
	}
	accept := "application/json"
	if req.Stream {
		accept = "application/x-ndjson"
	}
	wire.SetHeaders(hreq, accept, "", p.headers, req.Headers)
	wire.MarkReplayable(hreq)

	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, llm.Classify(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusError(resp)
	}
	whole := !req.Stream
	switch wire.MediaType(resp.Header) {
	case "application/x-ndjson":
		whole = false
	case "application/json":
		whole = true
	}
	return newStream(ctx, resp.Body, resp.StatusCode, p.api, whole), nil
}

// topLevel are request fields of Ollama's API that Request.Extra sets at
// the top level of the body; every other Extra key goes into "options".
var topLevel = map[string]bool{
	"format": true, "keep_alive": true, "think": true, "raw": true, "system": true,
	"template": true, "context": true, "tools": true, "images": true, "suffix": true,
	"model": true, "messages": true, "prompt": true, "stream": true,
}

// requestBody builds the JSON body for api.
func requestBody(req *llm.Request, api string) ([]byte, error) {
	body := make(map[string]any, 6)
	body["model"] = req.Model
	if api == APIChat {
		msgs := req.Messages
		if len(msgs) == 0 && req.Prompt != "" {
			msgs = []llm.Message{{Role: "user", Content: req.Prompt}}
		}
		if msgs == nil {
			msgs = []llm.Message{}
		}
		body["messages"] = msgs
	} else {
		body["prompt"] = prompt(req)
	}
	body["stream"] = req.Stream // Ollama streams unless told not to
	opts := make(map[string]any, 3+len(req.Extra))
	if req.MaxTokens > 0 {
		opts["num_predict"] = req.MaxTokens
	}
	if req.Temperature != nil {
		opts["temperature"] = *req.Temperature
	}
	if req.IgnoreEOS {
		// Not an Ollama option (Ollama logs and ignores unknown ones);
		// llmload's simulator honours it.
		opts["ignore_eos"] = true
	}
	for k, v := range req.Extra {
		if topLevel[k] {
			body[k] = v
		} else {
			opts[k] = v
		}
	}
	if len(opts) > 0 {
		body["options"] = opts
	}
	return json.Marshal(body)
}

// prompt is the /api/generate prompt: Prompt, or else the contents of
// Messages joined by blank lines.
func prompt(req *llm.Request) string {
	if req.Prompt != "" || len(req.Messages) == 0 {
		return req.Prompt
	}
	parts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n\n")
}

// errorMessage extracts {"error": "..."} from a body.
func errorMessage(b []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	msg, _ := wire.ErrorText(e.Error)
	return msg
}

// statusError reads the start of a non-2xx response, releases the
// connection and classifies it. Ollama's queue-full answer (503 "server
// busy … maximum pending requests exceeded") is overloaded; a missing
// model (404) is a client error.
func statusError(resp *http.Response) error {
	b := wire.ErrorBody(resp)
	msg := wire.Message(errorMessage(b), b, resp.StatusCode)
	kind := llm.KindOfStatus(resp.StatusCode, string(b))
	if low := strings.ToLower(msg); resp.StatusCode == http.StatusServiceUnavailable &&
		(strings.Contains(low, "server busy") || strings.Contains(low, "maximum pending requests")) {
		kind = llm.KindOverloaded
	}
	return wire.StatusError(resp, kind, msg, "")
}

// lineError classifies an {"error": ...} line inside a 2xx response:
// server_error, or timeout when the message says the request timed out.
func lineError(msg string, status int) *llm.Error {
	if msg == "" {
		msg = "error in stream"
	}
	kind := llm.KindServer
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "timed out") || strings.Contains(low, "timeout"):
		kind = llm.KindTimeout
	case strings.Contains(low, "server busy") || strings.Contains(low, "overloaded"):
		kind = llm.KindOverloaded
	}
	return &llm.Error{Kind: kind, Status: status, Message: wire.Clip(msg)}
}
