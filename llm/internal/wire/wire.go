// Package wire holds the HTTP plumbing the net/http providers (llm/openai,
// llm/tgi, llm/ollama) share: the default client, base-URL checks, request
// headers, reading and classifying non-2xx responses, and the safe
// rendering of a server's message. Body, in body.go, is the reading half
// of their streams. What a provider's wire format means stays in the
// provider.
package wire

import (
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

// DefaultMaxConns sizes the connection pool of NewClient when maxConns is
// not set.
const DefaultMaxConns = 100

// writeBufSize is the connection write buffer of NewClient's transport.
const writeBufSize = 1 << 10

// NewClient builds a provider's default client: http.DefaultTransport's
// dialer, proxy, TLS and HTTP/2 settings, with an idle pool that keeps one
// connection per expected stream (maxConns, or DefaultMaxConns when it is
// not positive) so keep-alive connections are reused instead of re-dialed
// under load. It has no cap on connections per host and no Timeout: the
// context of each request bounds it. kind is ClientAuto ("" too: plain
// http:// requests that no proxy applies to go through the lean HTTP/1.1
// client, leanTransport; https, proxies and HTTP/2 through net/http) or
// ClientStd (net/http for everything); anything else is an error.
func NewClient(maxConns int, kind string) (*http.Client, error) {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(maxConns, t.MaxIdleConns)
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = 0
	// Each connection keeps its write buffer for its whole life, but only
	// request headers and bodies pass through it; 1 KiB (net/http's
	// default is 4) saves 3 KiB per stream at no cost in syscalls worth
	// counting (docs/performance.md).
	t.WriteBufferSize = writeBufSize
	switch kind {
	case ClientAuto, "":
		return &http.Client{Transport: &autoTransport{lean: newLeanTransport(maxConns), std: t}}, nil
	case ClientStd:
		return &http.Client{Transport: t}, nil
	}
	return nil, fmt.Errorf("HTTP client %q: want %s or %s", kind, ClientAuto, ClientStd)
}

// ParseBaseURL parses a provider's BaseURL: an absolute http or https URL
// with a host, returned without its fragment. Errors start with name (the
// provider's) and never repeat credentials held in the URL; example is an
// address shown in the scheme error.
func ParseBaseURL(name, raw, example string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, which may hold credentials
		}
		return nil, fmt.Errorf("%s: invalid BaseURL: %w", name, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: BaseURL %q: scheme must be http or https (e.g. %s)", name, u.Redacted(), example)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: BaseURL %q: no host", name, u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// Endpoint returns base with p appended to its path (a trailing slash of
// the base does not matter); the query is kept.
func Endpoint(base *url.URL, p string) string {
	v := *base
	v.Path = strings.TrimRight(base.Path, "/") + p
	v.RawPath = ""
	return v.String()
}

// CopyHeaders returns a copy of h, nil when h is empty.
func CopyHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// SetHeaders sets a JSON request's headers: Content-Type, Accept, a
// bearer Authorization when apiKey is not empty, then each of extra in
// order, later maps overriding earlier ones. A "Host" key sets the
// request's Host.
func SetHeaders(h *http.Request, accept, apiKey string, extra ...map[string]string) {
	h.Header.Set("Content-Type", "application/json")
	h.Header.Set("Accept", accept)
	if apiKey != "" {
		h.Header.Set("Authorization", "Bearer "+apiKey)
	}
	for _, hs := range extra {
		for k, v := range hs {
			if strings.EqualFold(k, "Host") {
				h.Host = v
				continue
			}
			h.Header.Set(k, v)
		}
	}
}

// MarkReplayable lets net/http's Transport send h again on another
// connection when the kept-alive connection it was sent on closes before
// any response byte arrived: the server never saw it (a server closing
// idle connections early, as llama-server does after each streamed
// response, without "Connection: close"). The Transport replays only a
// request with a GetBody (http.NewRequestWithContext sets it for a bytes
// reader) that it deems idempotent, and only after failures on reused
// connections, so a server that refuses the request on a fresh connection
// still fails it. An "Idempotency-Key" key with a nil value marks a POST
// replayable without sending the header (documented in net/http's
// Transport); a key set by the user's headers is kept.
func MarkReplayable(h *http.Request) {
	if h.GetBody == nil {
		return
	}
	if _, ok := h.Header["Idempotency-Key"]; ok {
		return
	}
	if _, ok := h.Header["X-Idempotency-Key"]; ok {
		return
	}
	h.Header["Idempotency-Key"] = nil
}

// MediaType returns the media type of h's Content-Type, "" when it has
// none or cannot be parsed.
func MediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// errBodyLimit is how much of a non-2xx response body is read for its message.
const errBodyLimit = 4 << 10

// ErrorBody reads the start of a non-2xx response's body (enough for its
// message) and releases the connection.
func ErrorBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	DrainClose(resp.Body, resp.Body)
	return b
}

// Message returns msg, the message a provider found in a non-2xx body b;
// when it is empty, the body itself, trimmed; when that is empty too, the
// status text.
func Message(msg string, b []byte, status int) string {
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// StatusError is the *llm.Error of a non-2xx response: kind, its status,
// msg clipped with apiKey redacted, and its Retry-After.
func StatusError(resp *http.Response, kind llm.ErrorKind, msg, apiKey string) *llm.Error {
	return &llm.Error{
		Kind:       kind,
		Status:     resp.StatusCode,
		Message:    Clip(Redact(msg, apiKey)),
		RetryAfter: llm.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// Redact removes the API key from s.
func Redact(s, key string) string {
	if key == "" || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// maxMessage bounds the length of an error message taken from a server.
const maxMessage = 512

// Clip shortens s to maxMessage bytes on a rune boundary and folds it to
// one line.
func Clip(s string) string {
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

// DrainClose reads what is left of a response from r (at most maxDrain
// bytes, for at most drainTimeout) and closes body. An HTTP/1.1
// connection goes back to the pool only when its body was read to the
// end; closing it early makes the next request dial again, which a load
// test must not do needlessly. The timeout keeps a server that never ends
// the body from holding Close.
func DrainClose(r io.Reader, body io.Closer) error {
	t := time.AfterFunc(drainTimeout, func() { body.Close() })
	io.CopyN(io.Discard, r, maxDrain)
	t.Stop()
	return body.Close()
}

// ErrorText renders the "error" value of a TGI- or Ollama-style error body
// ({"error": "..."} or {"error": {"message": "...", "type": "..."}}): a
// string as itself, an object with a message as its message and type,
// anything else as its JSON; an absent or null value as "".
func ErrorText(raw json.RawMessage) (msg, typ string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	if json.Unmarshal(raw, &msg) == nil {
		return msg, ""
	}
	var inner struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if json.Unmarshal(raw, &inner) == nil && inner.Message != "" {
		return inner.Message, inner.Type
	}
	return string(raw), ""
}

// GetJSON sends a GET to target with the provider's headers (a bearer
// Authorization when apiKey is not empty, then extra) and decodes the JSON
// response into v. A non-2xx response is an error carrying its status and
// the start of its body, apiKey redacted; the caller adds what it was
// fetching.
func GetJSON(ctx context.Context, client *http.Client, target, apiKey string, extra map[string]string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return errors.New(Redact(err.Error(), apiKey))
	}
	SetHeaders(req, "application/json", apiKey, extra)
	req.Header.Del("Content-Type")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, which may hold credentials
		}
		return errors.New(Redact(err.Error(), apiKey))
	}
	if resp.StatusCode/100 != 2 {
		b := ErrorBody(resp)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, Clip(Redact(Message("", b, resp.StatusCode), apiKey)))
	}
	defer DrainClose(resp.Body, resp.Body)
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v); err != nil {
		return fmt.Errorf("not the JSON expected: %w", err)
	}
	return nil
}
