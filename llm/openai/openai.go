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
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
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
}

// Provider sends requests to one OpenAI-compatible endpoint. It is safe for
// concurrent use by many goroutines.
type Provider struct {
	chatURL       string
	completionURL string
	apiKey        string
	headers       map[string]string
	client        *http.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It fails when BaseURL is not an absolute
// http or https URL with a host.
func New(opts Options) (*Provider, error) {
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, which may hold credentials
		}
		return nil, fmt.Errorf("openai: invalid BaseURL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("openai: BaseURL %q: scheme must be http or https (e.g. http://127.0.0.1:8000/v1)", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("openai: BaseURL %q: no host", u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	endpoint := func(p string) string {
		v := *u
		v.Path = strings.TrimRight(u.Path, "/") + p
		v.RawPath = ""
		return v.String()
	}
	p := &Provider{
		chatURL:       endpoint("/chat/completions"),
		completionURL: endpoint("/completions"),
		apiKey:        opts.APIKey,
		client:        opts.HTTPClient,
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

// newClient builds the default client: the default transport's dialer,
// proxy, TLS and HTTP/2 settings, with an idle pool that keeps one
// connection per expected stream so that keep-alive connections are reused
// instead of re-dialed under load.
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
	default:
		return nil, &llm.Error{Kind: llm.KindClient, Message: fmt.Sprintf("openai: unsupported API %q", req.API)}
	}
	body, err := requestBody(req, api)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: encoding request: " + p.redact(err.Error()), Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "openai: " + p.redact(err.Error())}
	}
	p.setHeaders(hreq, req)

	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, llm.Classify(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, p.statusError(resp)
	}
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
		return newSSEStream(ctx, resp.Body, api, resp.StatusCode, p.apiKey), nil
	}
	return newJSONStream(ctx, resp.Body, api, resp.StatusCode, p.apiKey), nil
}

// requestBody builds the JSON body of req. Fields llmload sets come first;
// req.Extra is merged last and overrides them.
func requestBody(req *llm.Request, api llm.API) ([]byte, error) {
	m := make(map[string]any, 8+len(req.Extra))
	m["model"] = req.Model
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

// statusError reads the start of a non-2xx response, releases the
// connection, and classifies the failure.
func (p *Provider) statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	drainClose(resp.Body, resp.Body)
	msg, _ := errorMessage(b)
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &llm.Error{
		Kind:       llm.KindOfStatus(resp.StatusCode, string(b)),
		Status:     resp.StatusCode,
		Message:    clip(redact(msg, p.apiKey)),
		RetryAfter: llm.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
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
