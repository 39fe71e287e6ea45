package openai

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
)

const testKey = "sk-test-SECRET-0123456789"

// captured is what a test server received.
type captured struct {
	path   string
	header http.Header
	body   map[string]any
}

// captureServer records each request and answers with a short stream or,
// for non-streamed requests, a JSON completion.
func captureServer(t *testing.T) (*httptest.Server, chan captured) {
	t.Helper()
	ch := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		ch <- captured{path: r.URL.Path, header: r.Header.Clone(), body: body}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, `data: {"id":"c1","choices":[{"delta":{"content":"a"},"text":"a"}]}`+"\n\n"+doneChunk)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","choices":[{"message":{"content":"a"},"text":"a","finish_reason":"stop"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestRequest(t *testing.T) {
	temp := 0.5
	tests := []struct {
		name     string
		opts     Options
		req      llm.Request
		wantPath string
		want     map[string]any // expected body fields; nil value: field must be absent
		wantHdr  map[string]string
	}{
		// A streamed chat request with every field llmload sets.
		{name: "chat stream", opts: Options{APIKey: testKey},
			req:      llm.Request{Model: "m", Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 64, Stream: true, Temperature: &temp},
			wantPath: "/v1/chat/completions",
			want: map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "hi"}},
				"max_tokens": 64.0, "stream": true, "stream_options": map[string]any{"include_usage": true}, "temperature": 0.5,
				"ignore_eos": nil, "min_tokens": nil, "prompt": nil},
			wantHdr: map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json", "Accept": "text/event-stream"}},
		// A non-streamed chat request: no stream_options, no max_tokens when 0, no temperature when nil, no Authorization without a key.
		{name: "chat plain", req: llm.Request{Model: "m", Messages: []llm.Message{{Role: "user", Content: "hi"}}},
			wantPath: "/v1/chat/completions",
			want:     map[string]any{"model": "m", "stream": false, "stream_options": nil, "max_tokens": nil, "temperature": nil},
			wantHdr:  map[string]string{"Authorization": "", "Accept": "application/json"}},
		// Chat with only a Prompt sends it as one user message.
		{name: "chat from prompt", req: llm.Request{Model: "m", Prompt: "hello", Stream: true},
			wantPath: "/v1/chat/completions",
			want:     map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hello"}}}},
		// The completions API posts a prompt to /completions.
		{name: "completions", req: llm.Request{Model: "m", API: llm.APICompletion, Prompt: "once upon", MaxTokens: 8, Stream: true},
			wantPath: "/v1/completions",
			want:     map[string]any{"prompt": "once upon", "messages": nil, "max_tokens": 8.0}},
		// IgnoreEOS sends ignore_eos and min_tokens = max_tokens.
		{name: "ignore eos", req: llm.Request{Model: "m", Prompt: "p", MaxTokens: 100, IgnoreEOS: true, Stream: true},
			wantPath: "/v1/chat/completions",
			want:     map[string]any{"ignore_eos": true, "min_tokens": 100.0, "max_tokens": 100.0}},
		// IgnoreEOS without MaxTokens sends no min_tokens.
		{name: "ignore eos no max", req: llm.Request{Model: "m", Prompt: "p", IgnoreEOS: true, Stream: true},
			wantPath: "/v1/chat/completions",
			want:     map[string]any{"ignore_eos": true, "min_tokens": nil, "max_tokens": nil}},
		// Extra fields are added and override llmload's own.
		{name: "extra overrides", req: llm.Request{Model: "m", Prompt: "p", MaxTokens: 10, IgnoreEOS: true, Stream: true,
			Extra: map[string]any{"max_tokens": 20, "ignore_eos": false, "top_p": 0.9, "stream_options": map[string]any{"include_usage": false}}},
			wantPath: "/v1/chat/completions",
			want: map[string]any{"max_tokens": 20.0, "ignore_eos": false, "top_p": 0.9, "min_tokens": 10.0,
				"stream_options": map[string]any{"include_usage": false}}},
		// Option headers override defaults; request headers override option headers.
		{name: "headers", opts: Options{APIKey: testKey, Headers: map[string]string{"X-A": "opt", "X-B": "opt", "Authorization": "Basic abc"}},
			req:      llm.Request{Model: "m", Prompt: "p", Stream: true, Headers: map[string]string{"X-B": "req", "accept": "*/*"}},
			wantPath: "/v1/chat/completions",
			wantHdr:  map[string]string{"X-A": "opt", "X-B": "req", "Authorization": "Basic abc", "Accept": "*/*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ch := captureServer(t)
			opts := tt.opts
			opts.BaseURL = srv.URL + "/v1/" // a trailing slash does not matter
			p, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.Start(t.Context(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(s)
			s.Close()
			if err != io.EOF || len(evs) != 1 || evs[0].Text != "a" {
				t.Errorf("response = %+v, %v", evs, err)
			}
			got := <-ch
			if got.path != tt.wantPath {
				t.Errorf("path = %s, want %s", got.path, tt.wantPath)
			}
			for k, want := range tt.want {
				v, ok := got.body[k]
				if want == nil {
					if ok {
						t.Errorf("body[%q] = %v, want absent", k, v)
					}
					continue
				}
				if gj, wj := jsonString(v), jsonString(want); gj != wj {
					t.Errorf("body[%q] = %s, want %s", k, gj, wj)
				}
			}
			for k, want := range tt.wantHdr {
				if v := got.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    llm.ErrorKind
		wantMsg string
	}{
		// A plain 429 is throttling.
		{"429", 429, `{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`, llm.KindThrottled, "Rate limit reached for requests"},
		// A 429 that says overloaded is overload.
		{"429 overloaded", 429, `{"error":{"message":"Server overloaded, try later","type":"overloaded_error"}}`, llm.KindOverloaded, "Server overloaded, try later"},
		// 400 is a client error; vLLM's error shape.
		{"400", 400, `{"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400}`, llm.KindClient, "max_tokens is too large"},
		// 404 with FastAPI's detail.
		{"404 detail", 404, `{"detail":"Not Found"}`, llm.KindClient, "Not Found"},
		// 500 with TGI's string error.
		{"500", 500, `{"error":"Request failed during generation","error_type":"generation"}`, llm.KindServer, "Request failed during generation"},
		// 503 overloaded with a plain message field.
		{"503 overloaded", 503, `{"message":"Model is overloaded"}`, llm.KindOverloaded, "Model is overloaded"},
		// 503 without "overloaded" is a server error; a non-JSON body is the message.
		{"503 text", 503, "upstream connect error\n", llm.KindServer, "upstream connect error"},
		// 504 from a gateway is a timeout; an empty body gives the status text.
		{"504 empty", 504, "", llm.KindTimeout, "Gateway Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			p := newTestProvider(t, srv.URL)
			s, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
			if s != nil {
				t.Fatal("non-nil stream with an error")
			}
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if e.Kind != tt.want || e.Status != tt.status || e.Message != tt.wantMsg {
				t.Errorf("got {%s %d %q}, want {%s %d %q}", e.Kind, e.Status, e.Message, tt.want, tt.status, tt.wantMsg)
			}
		})
	}
}

// TestAPIKeyNeverInErrors: the key stays out of every error, even when a server echoes it back.
func TestAPIKeyNeverInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/v1/completions": // mid-stream error echoing the key
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, `data: {"error":{"message":"bad key `+auth+`"}}`+"\n\n")
		default: // 401 echoing the key
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+auth+`"}}`)
		}
	}))
	defer srv.Close()
	p := newTestProvider(t, srv.URL, func(o *Options) { o.APIKey = testKey })
	var errs []error
	_, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
	errs = append(errs, err)
	if kindOf(err) != llm.KindClient {
		t.Errorf("401: %v", err)
	}
	s, err := p.Start(t.Context(), &llm.Request{Model: "m", API: llm.APICompletion, Prompt: "p", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(s)
	s.Close()
	errs = append(errs, err)
	// A connection failure.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	p2, _ := New(Options{BaseURL: "http://" + addr + "/v1", APIKey: testKey})
	_, err = p2.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p"})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error leaks the API key: %v", err)
		}
	}
}

// TestConnectionRefused: nothing listening is KindConnection.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newTestProvider(t, "http://"+addr)
	_, err = p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
	if kindOf(err) != llm.KindConnection {
		t.Fatalf("err = %v, want kind connection", err)
	}
}

func TestNonStreaming(t *testing.T) {
	tests := []struct {
		name    string
		api     llm.API
		body    string
		want    llm.Event
		wantErr llm.ErrorKind
	}{
		// A chat completion: text from message.content, usage, finish_reason, id.
		{name: "chat", api: llm.APIChat,
			body: `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`,
			want: llm.Event{Text: "Hello there", FinishReason: "stop", ID: "chatcmpl-1", Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 2}}},
		// A text completion: text from choices[0].text.
		{name: "completions", api: llm.APICompletion,
			body: `{"id":"cmpl-2","object":"text_completion","choices":[{"index":0,"text":" a story","finish_reason":"length"}]}`,
			want: llm.Event{Text: " a story", FinishReason: "length", ID: "cmpl-2"}},
		// An error object in a 200 response.
		{name: "error in 200", api: llm.APIChat, body: `{"error":{"message":"overloaded, retry"}}`, wantErr: llm.KindOverloaded},
		// A body that is not JSON.
		{name: "bad JSON", api: llm.APIChat, body: `{"id":`, wantErr: llm.KindMalformedStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			p := newTestProvider(t, srv.URL)
			s, err := p.Start(t.Context(), &llm.Request{Model: "m", API: tt.api, Prompt: "p"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := collect(s)
			if tt.wantErr != "" {
				if kindOf(err) != tt.wantErr {
					t.Fatalf("err = %v, want kind %s", err, tt.wantErr)
				}
				return
			}
			if err != io.EOF || len(evs) != 1 {
				t.Fatalf("got %+v, %v", evs, err)
			}
			if jsonString(evs[0]) != jsonString(tt.want) {
				t.Errorf("event = %s, want %s", jsonString(evs[0]), jsonString(tt.want))
			}
		})
	}
}

// TestStreamIgnoredByServer: a server that answers a streamed request with JSON is read as JSON.
func TestStreamIgnoredByServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"id":"x","choices":[{"message":{"content":"all"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	p := newTestProvider(t, srv.URL)
	s, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	if err != io.EOF || len(evs) != 1 || evs[0].Text != "all" {
		t.Fatalf("got %+v, %v", evs, err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, url string
		wantErr   string // substring; "" means valid
		wantChat  string
	}{
		// The usual base.
		{name: "plain", url: "http://127.0.0.1:8000/v1", wantChat: "http://127.0.0.1:8000/v1/chat/completions"},
		// Trailing slashes are ignored.
		{name: "slash", url: "https://api.example.com/v1//", wantChat: "https://api.example.com/v1/chat/completions"},
		// A query string (e.g. api-version) is kept.
		{name: "query", url: "https://gw.example.com/openai?api-version=1", wantChat: "https://gw.example.com/openai/chat/completions?api-version=1"},
		// No scheme: unparseable, or taken for a scheme.
		{name: "no scheme", url: "127.0.0.1:8000/v1", wantErr: "invalid BaseURL"},
		{name: "host as scheme", url: "localhost:8000/v1", wantErr: "scheme must be http or https"},
		// A scheme that is not HTTP.
		{name: "ftp", url: "ftp://host/v1", wantErr: "scheme must be http or https"},
		// No host.
		{name: "no host", url: "http:///v1", wantErr: "no host"},
		// Empty.
		{name: "empty", url: "", wantErr: "scheme"},
		// Unparseable; the password does not appear in the error.
		{name: "bad", url: "http://user:pw@host:bad/v1", wantErr: "invalid BaseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Options{BaseURL: tt.url})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.chatURL != tt.wantChat {
				t.Errorf("chat URL = %s, want %s", p.chatURL, tt.wantChat)
			}
			if p.Name() != "openai" {
				t.Errorf("Name = %q", p.Name())
			}
		})
	}
}

// TestDefaultClient: the built client's pool is sized to MaxConns, with no overall timeout.
func TestDefaultClient(t *testing.T) {
	p, err := New(Options{BaseURL: "http://127.0.0.1/v1", MaxConns: 512, Client: "std"})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.client.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != 512 || tr.MaxConnsPerHost != 0 || tr.MaxIdleConns < 512 || !tr.ForceAttemptHTTP2 || p.client.Timeout != 0 {
		t.Errorf("transport: idle/host %d, conns/host %d, idle %d, h2 %v, timeout %v",
			tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.MaxIdleConns, tr.ForceAttemptHTTP2, p.client.Timeout)
	}
	if p, err = New(Options{BaseURL: "http://127.0.0.1/v1"}); err != nil {
		t.Fatal(err)
	} else if _, std := p.client.Transport.(*http.Transport); std {
		t.Error("the default client (auto) is net/http's alone")
	}
	if _, err := New(Options{BaseURL: "http://127.0.0.1/v1", Client: "fast"}); err == nil {
		t.Error(`Client "fast" accepted`)
	}
	custom := &http.Client{}
	p, _ = New(Options{BaseURL: "http://127.0.0.1/v1", HTTPClient: custom})
	if p.client != custom {
		t.Error("HTTPClient not used")
	}
}
