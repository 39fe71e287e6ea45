// Package openai is the llmload provider for OpenAI-compatible endpoints:
// vLLM, TGI's OpenAI API, llama.cpp server, Ollama's /v1, and gateways that
// speak /v1/chat/completions and /v1/completions with server-sent events.
//
// The provider parses; it never times. Stream.Next returns each event the
// moment its SSE record is complete, and the load runner stamps it.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = wire.DefaultMaxConns

// Options configures a Provider.
type Options struct {
	// BaseURL is the API root, e.g. "http://127.0.0.1:8000/v1". Request
	// paths ("/chat/completions", "/completions") are appended to its path;
	// a trailing slash does not matter and a query string is kept.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when non-empty. It is
	// never logged and is redacted from every error message.
	APIKey string
	// Headers are extra headers sent with every request; they override the
	// provider's defaults (Content-Type, Accept, Authorization) and are
	// overridden by llm.Request.Headers.
	Headers map[string]string
	// HTTPClient sends the requests. When nil, New builds one from a clone
	// of http.DefaultTransport whose idle pool holds MaxConns connections per
	// host, with no cap on connections per host and no client Timeout: the
	// context given to Start bounds each request.
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

// Provider sends requests to one OpenAI-compatible endpoint. It is safe for
// concurrent use by many goroutines.
type Provider struct {
	chatURL       string
	completionURL string
	embeddingsURL string
	modelsURL     string
	apiKey        string
	headers       map[string]string
	client        *http.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It fails when BaseURL is not an absolute
// http or https URL with a host.
func New(opts Options) (*Provider, error) {
	u, err := wire.ParseBaseURL("openai", opts.BaseURL, "http://127.0.0.1:8000/v1")
	if err != nil {
		return nil, err
	}
	p := &Provider{
		chatURL:       wire.Endpoint(u, "/chat/completions"),
		completionURL: wire.Endpoint(u, "/completions"),
		embeddingsURL: wire.Endpoint(u, "/embeddings"),
		modelsURL:     wire.Endpoint(u, "/models"),
		apiKey:        opts.APIKey,
		headers:       wire.CopyHeaders(opts.Headers),
		client:        opts.HTTPClient,
	}
	if p.client == nil {
		c, err := wire.NewClient(opts.MaxConns, opts.Client)
		if err != nil {
			return nil, fmt.Errorf("openai: %w", err)
		}
		p.client = c
	}
	return p, nil
}

// Name returns "openai".
func (p *Provider) Name() string { return "openai" }

// Start sends req and returns once the response status and headers have
// arrived. A non-2xx response is returned as an *llm.Error carrying the
// server's message; a transport failure is classified by llm.Classify.
func (p *Provider) Start(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req == nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: nil request"}
	}
	target := p.chatURL
	api := req.API
	switch api {
	case llm.APIChat, "":
		api = llm.APIChat
	case llm.APICompletion:
		target = p.completionURL
	case llm.APIEmbeddings:
		if len(req.Inputs) == 0 {
			return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: embeddings request without inputs"}
		}
		target = p.embeddingsURL
	default:
		return nil, &llm.Error{Kind: llm.KindClient, Message: fmt.Sprintf("openai: unsupported API %q", req.API)}
	}
	body, err := requestBody(req, api)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: encoding request: " + wire.Redact(err.Error(), p.apiKey), Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: " + wire.Redact(err.Error(), p.apiKey)}
	}
	accept := "application/json"
	if req.Stream && api != llm.APIEmbeddings {
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
	if api == llm.APIEmbeddings {
		s := newJSONStream(ctx, resp.Body, api, resp.StatusCode, p.apiKey)
		s.inputs = len(req.Inputs)
		return s, nil
	}
	sse := req.Stream
	switch wire.MediaType(resp.Header) {
	case "text/event-stream":
		sse = true
	case "application/json":
		sse = false
	}
	if sse {
		return newSSEStream(ctx, resp.Body, api, resp.StatusCode, p.apiKey), nil
	}
	return newJSONStream(ctx, resp.Body, api, resp.StatusCode, p.apiKey), nil
}

// requestBody builds the JSON body of req. Fields llmload sets come first;
// req.Extra is merged last and overrides them. Chat and completion
// requests without Extra are encoded by appendBody (body.go), the same
// bytes without a map and reflection.
func requestBody(req *llm.Request, api llm.API) ([]byte, error) {
	if b, ok := appendBody(nil, req, api); ok {
		return b, nil
	}
	return mapBody(req, api)
}

// mapBody is requestBody through a map and json.Marshal: the general case.
func mapBody(req *llm.Request, api llm.API) ([]byte, error) {
	m := make(map[string]any, 8+len(req.Extra))
	m["model"] = req.Model
	if api == llm.APIEmbeddings {
		m["input"] = req.Inputs
		m["encoding_format"] = "float"
		for k, v := range req.Extra {
			m[k] = v
		}
		return json.Marshal(m)
	}
	if api == llm.APIChat {
		msgs := req.Messages
		if len(msgs) == 0 && req.Prompt != "" {
			msgs = []llm.Message{{Role: "user", Content: req.Prompt}}
		}
		if msgs == nil {
			msgs = []llm.Message{}
		}
		m["messages"] = msgs
	} else {
		m["prompt"] = req.Prompt
	}
	if req.MaxTokens > 0 {
		m["max_tokens"] = req.MaxTokens
	}
	m["stream"] = req.Stream
	if req.Stream {
		m["stream_options"] = map[string]any{"include_usage": true}
	}
	if req.Temperature != nil {
		m["temperature"] = *req.Temperature
	}
	if req.IgnoreEOS {
		m["ignore_eos"] = true
		if req.MaxTokens > 0 {
			m["min_tokens"] = req.MaxTokens
		}
	}
	for k, v := range req.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// statusError reads the start of a non-2xx response, releases the
// connection, and classifies the failure.
func (p *Provider) statusError(resp *http.Response) error {
	b := wire.ErrorBody(resp)
	msg, _ := errorMessage(b)
	return wire.StatusError(resp, llm.KindOfStatus(resp.StatusCode, string(b)), wire.Message(msg, b, resp.StatusCode), p.apiKey)
}
