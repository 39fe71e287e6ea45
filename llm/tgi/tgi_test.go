package tgi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/streamtest"
)

// collect and collectText read a stream through Next and through
// NextText (llm.TextStream).
var collect, collectText = streamtest.Collect, streamtest.CollectText

const testKey = "hf_SECRET_0123456789"

// sseServer serves parts as one SSE response, flushing after each and
// pausing between them so that each arrives in its own read.
func sseServer(t *testing.T, header http.Header, parts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i, p := range parts {
			if i > 0 {
				time.Sleep(3 * time.Millisecond)
			}
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, baseURL string) *Provider {
	t.Helper()
	p, err := New(Options{BaseURL: baseURL, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var kindOf = streamtest.Kind

func tok(i int, text string) string {
	return `data:{"index":` + itoa(i) + `,"token":{"id":` + itoa(100+i) + `,"text":"` + text + `","logprob":-0.25,"special":false},"generated_text":null,"details":null}` + "\n\n"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// final is TGI's last event: the EOS special token, generated_text, details.
const final = `data:{"index":3,"token":{"id":2,"text":"</s>","logprob":-0.01,"special":true},"generated_text":"Hello world","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null,"input_length":5}}` + "\n\n"

func TestStream(t *testing.T) {
	hello, world := llm.Event{Text: "Hello"}, llm.Event{Text: " world"}
	end := llm.Event{FinishReason: "stop", Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 3}}
	tests := []struct {
		name    string
		parts   []string
		want    []llm.Event
		wantErr llm.ErrorKind // "" means io.EOF
		wantMsg string
	}{
		// TGI's usual stream: tokens, then the EOS special token with generated_text and details.
		{name: "tgi", parts: []string{tok(1, "Hello"), tok(2, " world"), final}, want: []llm.Event{hello, world, end}},
		// Events split inside the JSON and inside "data:" arrive across reads.
		{name: "split", parts: []string{tok(1, "Hello")[:20], tok(1, "Hello")[20:], "da", "ta: " + tok(2, " world")[5:], final[:40], final[40:]},
			want: []llm.Event{hello, world, end}},
		// CRLF endings, keep-alive comments, "data: " with a space.
		{name: "crlf comments", parts: []string{":\n\n", strings.ReplaceAll(tok(1, "Hello"), "\n", "\r\n"), ": keep-alive\n", tok(2, " world"), final},
			want: []llm.Event{hello, world, end}},
		// A last event whose text is not special is output text; max length reached.
		{name: "length", parts: []string{tok(1, "Hello"), `data:{"index":2,"token":{"id":5,"text":" world","logprob":-1,"special":false},"generated_text":"Hello world","details":{"finish_reason":"length","generated_tokens":2,"seed":7,"input_length":5}}`},
			want: []llm.Event{hello, {Text: " world", FinishReason: "length", Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 2}}}},
		// Without details (or input_length) the last event has no usage.
		{name: "no details", parts: []string{tok(1, "Hello"), `data:{"index":2,"token":{"id":2,"text":"</s>","special":true},"generated_text":"Hello","details":null}` + "\n\n"},
			want: []llm.Event{hello, {FinishReason: "stop"}}},
		// A special token mid-stream yields nothing; escapes are decoded.
		{name: "special and escapes", parts: []string{`data:{"index":1,"token":{"id":1,"text":"<s>","special":true}}` + "\n\n", tok(2, `a\n\"b\u00e9`), final},
			want: []llm.Event{{Text: "a\n\"bé"}, end}},
		// The stream ends before the final event.
		{name: "truncated", parts: []string{tok(1, "Hello")}, want: []llm.Event{hello}, wantErr: llm.KindMalformedStream, wantMsg: "before the final event"},
		// Invalid JSON.
		{name: "bad json", parts: []string{`data:{"index":1,"token":{` + "\n\n"}, wantErr: llm.KindMalformedStream},
		// TGI reports overload inside a 200 stream.
		{name: "overloaded", parts: []string{`data:{"error":"Model is overloaded","error_type":"overloaded"}` + "\n\n"}, wantErr: llm.KindOverloaded, wantMsg: "Model is overloaded"},
		{name: "validation", parts: []string{`data:{"error":"Input validation error: ` + "`inputs`" + ` must have less than 4096 tokens","error_type":"validation"}` + "\n\n"}, wantErr: llm.KindClient},
		{name: "generation", parts: []string{tok(1, "Hello"), `data:{"error":"Request failed during generation: CUDA OOM","error_type":"generation"}` + "\n\n"},
			want: []llm.Event{hello}, wantErr: llm.KindServer, wantMsg: "CUDA OOM"},
		{name: "incomplete", parts: []string{tok(1, "Hello"), `data:{"error":"Incomplete generation","error_type":"incomplete_generation"}` + "\n\n"},
			want: []llm.Event{hello}, wantErr: llm.KindServer},
		// The simulator's invocation timeout.
		{name: "timed out", parts: []string{tok(1, "Hello"), `data:{"error":"Request timed out","error_type":"incomplete_generation"}` + "\n\n"},
			want: []llm.Event{hello}, wantErr: llm.KindTimeout},
		// An error that echoes the key is redacted.
		{name: "redacted", parts: []string{`data:{"error":"bad token ` + testKey + `","error_type":"generation"}` + "\n\n"}, wantErr: llm.KindServer, wantMsg: "[REDACTED]"},
	}
	for _, tt := range tests {
		for _, readText := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/text=%v", tt.name, readText), func(t *testing.T) {
				srv := sseServer(t, nil, tt.parts...)
				s, err := newProvider(t, srv.URL).Start(t.Context(), &llm.Request{Prompt: "p", Stream: true})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				evs, err := streamtest.Read(s, readText)
				streamtest.CheckEvents(t, evs, tt.want)
				streamtest.CheckEnd(t, err, tt.wantErr, tt.wantMsg)
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error leaks the key: %v", err)
				}
				if _, err2 := s.Next(); err2 != err && !(err == io.EOF && err2 == io.EOF) {
					t.Errorf("Next after end = %v, want sticky %v", err2, err)
				}
			})
		}
	}
}

func TestRequestBody(t *testing.T) {
	type got struct {
		path string
		hdr  http.Header
		body map[string]any
	}
	ch := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		ch <- got{r.URL.Path, r.Header.Clone(), b}
		if r.URL.Path == "/tgi/generate_stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, final)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"generated_text":"x"}`)
	}))
	defer srv.Close()
	zero, half := 0.0, 0.5
	tests := []struct {
		name     string
		req      llm.Request
		path     string
		inputs   string
		params   string // JSON of "parameters"
		wantAuth bool
	}{
		// Streaming: max_new_tokens, details, temperature, ignore_eos for the simulator.
		{name: "stream", req: llm.Request{Prompt: "hi", MaxTokens: 64, Stream: true, Temperature: &half, IgnoreEOS: true},
			path: "/tgi/generate_stream", inputs: "hi", params: `{"details":true,"ignore_eos":true,"max_new_tokens":64,"temperature":0.5}`},
		// Temperature 0 is greedy: TGI rejects temperature 0, so do_sample false is sent instead.
		{name: "greedy", req: llm.Request{Prompt: "hi", Temperature: &zero}, path: "/tgi/generate", inputs: "hi", params: `{"details":true,"do_sample":false}`},
		// Chat messages become raw text joined by blank lines; Extra overrides parameters.
		{name: "messages extra", req: llm.Request{Messages: []llm.Message{{Role: "system", Content: "a"}, {Role: "user", Content: "b"}}, MaxTokens: 5,
			Extra: map[string]any{"max_new_tokens": 9, "stop": []string{}, "details": false}},
			path: "/tgi/generate", inputs: "a\n\nb", params: `{"details":false,"max_new_tokens":9,"stop":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Options{BaseURL: srv.URL + "/tgi/", APIKey: testKey, Headers: map[string]string{"X-A": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.Start(t.Context(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			collect(s)
			s.Close()
			g := <-ch
			if g.path != tt.path || g.body["inputs"] != tt.inputs {
				t.Errorf("path %s inputs %q, want %s %q", g.path, g.body["inputs"], tt.path, tt.inputs)
			}
			if pj, _ := json.Marshal(g.body["parameters"]); string(pj) != tt.params {
				t.Errorf("parameters = %s, want %s", pj, tt.params)
			}
			if g.hdr.Get("Authorization") != "Bearer "+testKey || g.hdr.Get("X-A") != "1" || g.hdr.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", g.hdr)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   llm.ErrorKind
	}{
		{429, `{"error":"Model is overloaded","error_type":"overloaded"}`, llm.KindOverloaded},
		{429, `{"error":"Rate limit reached","error_type":"rate_limited"}`, llm.KindThrottled},
		{422, `{"error":"Input validation error: max_new_tokens must be <= 4096","error_type":"validation"}`, llm.KindClient},
		{424, `{"error":"Request failed during generation: boom","error_type":"generation"}`, llm.KindServer},
		{500, `{"error":"Incomplete generation","error_type":"incomplete_generation"}`, llm.KindServer},
		{503, `upstream down`, llm.KindServer},
		{408, `{"error":"Request timed out","error_type":"incomplete_generation"}`, llm.KindTimeout},
		{401, `{"error":"Authorization header is correct, but the token seems invalid"}`, llm.KindClient},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		}))
		for _, stream := range []bool{true, false} {
			_, err := newProvider(t, srv.URL).Start(t.Context(), &llm.Request{Prompt: "p", Stream: stream})
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != tt.want || e.Status != tt.status || e.Message == "" {
				t.Errorf("%d %s: err = %v, want %s", tt.status, tt.body, err, tt.want)
			}
		}
		srv.Close()
	}
}

// TestGenerate reads a /generate body and TGI's timing headers: whole
// milliseconds, except x-compute-time in seconds.
func TestGenerate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("x-compute-time", "1.25")
		h.Set("x-total-time", "1250")
		h.Set("x-validation-time", "2")
		h.Set("x-queue-time", "48")
		h.Set("x-inference-time", "1200")
		h.Set("x-time-per-token", "30")
		h.Set("x-prompt-tokens", "17")
		h.Set("x-generated-tokens", "40")
		io.WriteString(w, `{"generated_text":"Hello world","details":{"finish_reason":"length","generated_tokens":40,"seed":null,"prefill":[],"tokens":[{"id":1,"text":"Hello","logprob":-1,"special":false}]}}`)
	}))
	defer srv.Close()
	s, err := newProvider(t, srv.URL).Start(t.Context(), &llm.Request{Prompt: "p", MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	want := llm.Event{Text: "Hello world", FinishReason: "length", Usage: &llm.Usage{PromptTokens: 17, CompletionTokens: 40},
		ServerTiming: map[string]float64{"compute_s": 1.25, "total_s": 1.25, "validation_s": 0.002, "queue_s": 0.048, "inference_s": 1.2, "time_per_token_s": 0.03}}
	if err != io.EOF || len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
		t.Fatalf("got %+v, %v\nwant %+v", evs, err, want)
	}
}

// TestStreamHeaderTiming puts timing headers of a stream on its first event.
func TestStreamHeaderTiming(t *testing.T) {
	srv := sseServer(t, http.Header{"X-Queue-Time": {"12"}}, tok(1, "Hello"), final)
	s, err := newProvider(t, srv.URL).Start(t.Context(), &llm.Request{Prompt: "p", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	if err != io.EOF || len(evs) != 2 || !reflect.DeepEqual(evs[0].ServerTiming, map[string]float64{"queue_s": 0.012}) || evs[1].ServerTiming != nil {
		t.Fatalf("events %+v, %v", evs, err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, tok(1, "Hello"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	s, err := newProvider(t, srv.URL).Start(ctx, &llm.Request{Prompt: "p", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	if len(evs) != 1 || kindOf(err) != llm.KindTimeout {
		t.Fatalf("events %+v, err %v (%s), want one event then timeout", evs, err, kindOf(err))
	}
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://h", "http://"} {
		if _, err := New(Options{BaseURL: bad}); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
	p, err := New(Options{BaseURL: "https://u:pw@h/x/?a=1"})
	if err != nil || p.streamURL != "https://u:pw@h/x/generate_stream?a=1" || p.Name() != "tgi" {
		t.Errorf("New = %+v, %v", p, err)
	}
}
