package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/streamtest"
)

// collect and collectText read a stream through Next and through
// NextText (llm.TextStream).
var collect, collectText = streamtest.Collect, streamtest.CollectText

// sseServer serves parts as one SSE response, flushing after each part and
// pausing between parts so that each arrives in its own TCP read.
func sseServer(t *testing.T, parts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i, p := range parts {
			if i > 0 {
				time.Sleep(5 * time.Millisecond)
			}
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestProvider(t *testing.T, baseURL string, opts ...func(*Options)) *Provider {
	t.Helper()
	o := Options{BaseURL: baseURL + "/v1"}
	for _, f := range opts {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var kindOf = streamtest.Kind

func chatChunk(content string) string {
	return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
}

const (
	roleChunk   = `data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	stopChunk   = `data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	usageChunk  = `data: {"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}` + "\n\n"
	doneChunk   = "data: [DONE]\n\n"
	stopEventID = "c1"
)

func text(s string) llm.Event { return llm.Event{Text: s, ID: stopEventID} }

var (
	stopEvent  = llm.Event{FinishReason: "stop", ID: stopEventID}
	usageEvent = llm.Event{Usage: &llm.Usage{PromptTokens: 7, CompletionTokens: 2}, ID: stopEventID}
)

func TestSSE(t *testing.T) {
	tests := []struct {
		name    string
		api     llm.API
		parts   []string
		want    []llm.Event
		wantErr llm.ErrorKind // "" means io.EOF
		wantMsg string        // substring of the error message
	}{
		// The usual vLLM stream: role-only delta skipped, text, finish, usage-only chunk, [DONE].
		{name: "vllm", parts: []string{roleChunk, chatChunk("Hel"), chatChunk("lo"), stopChunk, usageChunk, doneChunk},
			want: []llm.Event{text("Hel"), text("lo"), stopEvent, usageEvent}},
		// One event flushed in two halves, split inside the JSON, arrives across reads.
		{name: "split JSON", parts: []string{chatChunk("ab")[:30], chatChunk("ab")[30:], doneChunk},
			want: []llm.Event{text("ab")}},
		// Split between the data line and its blank line, and inside "data:".
		{name: "split lines", parts: []string{"da", "ta: " + chatChunk("x")[6:len(chatChunk("x"))-1], "\n", doneChunk[:3], doneChunk[3:]},
			want: []llm.Event{text("x")}},
		// CRLF line endings, and a CRLF split between its CR and LF.
		{name: "CRLF", parts: []string{strings.ReplaceAll(chatChunk("a"), "\n", "\r\n"), "data: [DONE]\r", "\n\r\n"},
			want: []llm.Event{text("a")}},
		// Comments and keep-alives are ignored, between and inside events.
		{name: "comments", parts: []string{": keep-alive\n\n", ":\n", chatChunk("a"), ": ping\n", doneChunk},
			want: []llm.Event{text("a")}},
		// "data:" with no space after the colon.
		{name: "no space", parts: []string{`data:{"id":"c1","choices":[{"delta":{"content":"a"}}]}` + "\n\ndata:[DONE]\n\n"},
			want: []llm.Event{text("a")}},
		// A multi-line data field is joined with "\n" before decoding.
		{name: "multi-line data", parts: []string{"data: {\"id\":\"c1\",\ndata: \"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", doneChunk},
			want: []llm.Event{text("a")}},
		// id, retry and unknown fields, and "event: message", are ignored.
		{name: "other fields", parts: []string{"id: 5\nretry: 100\nfoo\nevent: message\n" + chatChunk("a"), doneChunk},
			want: []llm.Event{text("a")}},
		// A chunk with no choices and no usage (e.g. a ping event) is skipped.
		{name: "empty chunk", parts: []string{"event: ping\ndata: {}\n\n", "data: \n\n", chatChunk("a"), doneChunk},
			want: []llm.Event{text("a")}},
		// The final chunk carries text, finish_reason and usage at once (vLLM continuous usage).
		{name: "text+finish+usage", parts: []string{`data: {"id":"c1","choices":[{"delta":{"content":"z"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":3}}` + "\n\n", doneChunk},
			want: []llm.Event{{Text: "z", FinishReason: "length", ID: "c1", Usage: &llm.Usage{PromptTokens: 1, CompletionTokens: 3}}}},
		// JSON escapes and non-ASCII text are decoded.
		{name: "escapes", parts: []string{chatChunk(`line\n\"q\" \u00e9 日本`), doneChunk},
			want: []llm.Event{text("line\n\"q\" é 日本")}},
		// A line far longer than the read buffer is assembled whole.
		{name: "long line", parts: []string{chatChunk(strings.Repeat("x", 100<<10)), doneChunk},
			want: []llm.Event{text(strings.Repeat("x", 100<<10))}},
		// Nothing after [DONE] is read.
		{name: "after DONE", parts: []string{chatChunk("a"), doneChunk, "data: {bad\n\n"},
			want: []llm.Event{text("a")}},
		// [DONE] without its blank line at the end of the body still ends the stream.
		{name: "DONE at EOF", parts: []string{chatChunk("a"), "data: [DONE]"},
			want: []llm.Event{text("a")}},
		// The completions API reads choices[0].text.
		{name: "completions", api: llm.APICompletion,
			parts: []string{`data: {"id":"c1","object":"text_completion","choices":[{"index":0,"text":"foo","finish_reason":null}]}` + "\n\n", `data: {"id":"c1","choices":[{"index":0,"text":"","finish_reason":"length"}]}` + "\n\n", doneChunk},
			want:  []llm.Event{text("foo"), {FinishReason: "length", ID: "c1"}}},
		// The server omits [DONE] after a finish_reason: a normal end.
		{name: "no DONE after finish", parts: []string{chatChunk("a"), stopChunk, usageChunk},
			want: []llm.Event{text("a"), stopEvent, usageEvent}},
		// The body ends without [DONE] or a finish_reason: truncated.
		{name: "no DONE no finish", parts: []string{chatChunk("a")},
			want: []llm.Event{text("a")}, wantErr: llm.KindMalformedStream, wantMsg: "stream ended before [DONE]"},
		// An empty 200 body.
		{name: "empty body", parts: []string{""}, wantErr: llm.KindMalformedStream, wantMsg: "before [DONE]"},
		// Data that is not JSON.
		{name: "invalid JSON", parts: []string{chatChunk("a"), "data: {\"choices\":[\n\n"},
			want: []llm.Event{text("a")}, wantErr: llm.KindMalformedStream, wantMsg: "invalid JSON"},
		// An error object mid-stream is a server error with the server's message.
		{name: "mid-stream error", parts: []string{chatChunk("a"), `data: {"error":{"message":"CUDA out of memory","type":"InternalServerError","code":500}}` + "\n\n"},
			want: []llm.Event{text("a")}, wantErr: llm.KindServer, wantMsg: "CUDA out of memory"},
		// A mid-stream error whose type says rate limit is throttling.
		{name: "mid-stream rate limit", parts: []string{`data: {"error":{"message":"slow down","type":"rate_limit_exceeded"}}` + "\n\n"},
			wantErr: llm.KindThrottled, wantMsg: "slow down"},
		// A mid-stream error whose message says overloaded.
		{name: "mid-stream overloaded", parts: []string{`data: {"error":{"message":"Server is overloaded","code":503}}` + "\n\n"},
			wantErr: llm.KindOverloaded, wantMsg: "overloaded"},
		// TGI's string error shape.
		{name: "TGI error", parts: []string{`data: {"error":"Input validation error","error_type":"validation"}` + "\n\n"},
			wantErr: llm.KindServer, wantMsg: "Input validation error"},
		// Older vLLM's top-level error object.
		{name: "object error", parts: []string{`data: {"object":"error","message":"bad things","type":"BadRequestError","code":400}` + "\n\n"},
			wantErr: llm.KindServer, wantMsg: "bad things"},
		// "event: error" with JSON data.
		{name: "event error", parts: []string{chatChunk("a"), "event: error\ndata: {\"message\":\"engine died\"}\n\n"},
			want: []llm.Event{text("a")}, wantErr: llm.KindServer, wantMsg: "engine died"},
		// "event: error" with plain-text data.
		{name: "event error text", parts: []string{"event: error\ndata: too many requests\n\n"},
			wantErr: llm.KindThrottled, wantMsg: "too many requests"},
	}
	for _, tt := range tests {
		for _, readText := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/text=%v", tt.name, readText), func(t *testing.T) {
				srv := sseServer(t, tt.parts...)
				p := newTestProvider(t, srv.URL)
				api := tt.api
				if api == "" {
					api = llm.APIChat
				}
				s, err := p.Start(t.Context(), &llm.Request{Model: "m", API: api, Prompt: "p", Stream: true})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				got, err := streamtest.Read(s, readText)
				streamtest.CheckEvents(t, got, tt.want)
				if tt.wantErr == "" {
					if err != io.EOF {
						t.Fatalf("err = %v, want io.EOF", err)
					}
				} else {
					var e *llm.Error
					if !errors.As(err, &e) || e.Kind != tt.wantErr || !strings.Contains(e.Message, tt.wantMsg) {
						t.Fatalf("err = %#v, want kind %s with %q", err, tt.wantErr, tt.wantMsg)
					}
					if e.Status != http.StatusOK {
						t.Errorf("status = %d, want 200", e.Status)
					}
				}
				// The result is sticky.
				if _, err2 := s.Next(); err2 != err {
					t.Errorf("second Next after end = %v, want %v", err2, err)
				}
			})
		}
	}
}

// TestSSEStallTimeout: a server that stalls mid-stream ends in KindTimeout at the ctx deadline.
func TestSSEStallTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chatChunk("a"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p := newTestProvider(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	s, err := p.Start(ctx, &llm.Request{Model: "m", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev, err := s.Next(); err != nil || ev.Text != "a" {
		t.Fatalf("first Next = %+v, %v", ev, err)
	}
	start := time.Now()
	_, err = s.Next()
	if kindOf(err) != llm.KindTimeout {
		t.Fatalf("err = %v, want kind timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// TestSSECloseAbortsNext: Close from another goroutine unblocks a Next waiting on a stalled server.
func TestSSECloseAbortsNext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p := newTestProvider(t, srv.URL)
	s, err := p.Start(t.Context(), &llm.Request{Model: "m", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { s.Close() })
	if _, err := s.Next(); kindOf(err) != llm.KindCanceled {
		t.Fatalf("err = %v, want kind canceled", err)
	}
}

// TestSSEClose: Close is idempotent and Next after Close fails without panicking.
func TestSSEClose(t *testing.T) {
	srv := sseServer(t, chatChunk("a"), doneChunk)
	p := newTestProvider(t, srv.URL)
	s, err := p.Start(t.Context(), &llm.Request{Model: "m", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Next(); err == nil || err == io.EOF {
		t.Fatalf("Next after Close = %v, want an error", err)
	}
}

// TestConnectionReuse: after a stream read to [DONE] and closed, the next request reuses its connection.
func TestConnectionReuse(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chatChunk("a")+stopChunk)
		w.(http.Flusher).Flush()
		time.Sleep(2 * time.Millisecond) // [DONE] and the body's end arrive in a later read
		io.WriteString(w, doneChunk)
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := newTestProvider(t, srv.URL)
	for range 5 {
		s, err := p.Start(t.Context(), &llm.Request{Model: "m", Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := collect(s); err != io.EOF {
			t.Fatal(err)
		}
		s.Close()
	}
	srv.Close() // waits for connections, so conns is settled
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential streams, want 1", n)
	}
}

// FuzzSSE: arbitrary bytes must never make the stream reader panic or loop.
func FuzzSSE(f *testing.F) {
	f.Add([]byte(roleChunk+chatChunk("a")+stopChunk+usageChunk+doneChunk), false)
	f.Add([]byte(strings.ReplaceAll(chatChunk("a"), "\n", "\r\n")+": c\r\ndata:[DONE]"), false)
	f.Add([]byte("event: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n"), true)
	f.Add([]byte("data: {\"a\":\ndata: 1}\n\ndata: {bad\n\n"), true)
	f.Add([]byte(`data: {"choices":[{"text":"\ud800"}],"usage":{"prompt_tokens":1}}`), true)
	f.Add([]byte(`data: {"choices":[{"delta":{"reasoning_content":"r\u00e9","tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{\"a\""}}]}}]}`+"\n\n"+
		`data: {"choices":[{"delta":{"reasoning":"s","content":"c","tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}`+"\n\n"+doneChunk), false)
	f.Add(vllmBody(6), false)
	f.Add(vllmBodyField(4, "reasoning_content"), false)
	var shapes strings.Builder
	for _, sh := range memoShapes {
		for _, text := range []string{"a", "b", `c\"`, "d"} {
			shapes.WriteString("data: " + strings.Replace(sh.chunk, "%s", text, 1) + "\n\n")
		}
	}
	f.Add([]byte(shapes.String()+doneChunk), false)
	f.Fuzz(func(t *testing.T, body []byte, completions bool) {
		api := llm.APIChat
		if completions {
			api = llm.APICompletion
		}
		s := newSSEStream(context.Background(), io.NopCloser(strings.NewReader(string(body))), api, 200, "")
		for i := 0; ; i++ {
			if i > len(body)+1 {
				t.Fatalf("%d events from %d bytes", i, len(body))
			}
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if kindOf(err) == "" {
					t.Fatalf("error %T %v is not an *llm.Error", err, err)
				}
				break
			}
		}
		s.Close()
		s.Close()
		if _, err := s.Next(); err == nil {
			t.Fatal("Next after the end returned no error")
		}
		// NextText yields the same events and end, its text copied out
		// before each next call.
		evs, err := collect(newSSEStream(context.Background(), io.NopCloser(strings.NewReader(string(body))), api, 200, ""))
		evsText, errText := collectText(newSSEStream(context.Background(), io.NopCloser(strings.NewReader(string(body))), api, 200, ""))
		if !reflect.DeepEqual(evs, evsText) || fmt.Sprint(err) != fmt.Sprint(errText) {
			t.Fatalf("Next: %+v, %v\nNextText: %+v, %v", evs, err, evsText, errText)
		}
		// So does a stream read a byte at a time, where an event's blank
		// line is never in the buffer with its data line (Body.SkipBlank):
		// every data line copied before its event is handled.
		evsSlow, errSlow := collect(newSSEStream(context.Background(), io.NopCloser(iotest.OneByteReader(strings.NewReader(string(body)))), api, 200, ""))
		if !reflect.DeepEqual(evs, evsSlow) || fmt.Sprint(err) != fmt.Sprint(errSlow) {
			t.Fatalf("read whole: %+v, %v\na byte at a time: %+v, %v", evs, err, evsSlow, errSlow)
		}
		// So does a stream whose decoder never uses the memo of the last
		// chunk's shape (memo.go): every chunk decoded in full.
		full := newSSEStream(context.Background(), io.NopCloser(strings.NewReader(string(body))), api, 200, "")
		full.dec.memo.misses = maxMisses + 1
		evsFull, errFull := collect(full)
		if !reflect.DeepEqual(evs, evsFull) || fmt.Sprint(err) != fmt.Sprint(errFull) {
			t.Fatalf("with the memo: %+v, %v\nwithout: %+v, %v", evs, err, evsFull, errFull)
		}
	})
}
