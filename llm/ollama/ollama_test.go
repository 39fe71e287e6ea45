package ollama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/streamtest"
)

// collect and collectText read a stream through Next and through
// NextText (llm.TextStream).
var collect, collectText = streamtest.Collect, streamtest.CollectText

// ndjsonServer serves parts as one NDJSON response, flushing after each and
// pausing between them so that each arrives in its own read.
func ndjsonServer(t *testing.T, ctype string, parts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ctype)
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

var kindOf = streamtest.Kind

func chatLine(text string) string {
	return `{"model":"llama3","created_at":"2024-06-01T00:00:00.123Z","message":{"role":"assistant","content":"` + text + `"},"done":false}` + "\n"
}

const doneLine = `{"model":"llama3","created_at":"2024-06-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",` +
	`"total_duration":1500000000,"load_duration":2500000,"prompt_eval_count":26,"prompt_eval_duration":130000000,"eval_count":2,"eval_duration":1250000000}` + "\n"

var doneEvent = llm.Event{FinishReason: "stop", Usage: &llm.Usage{PromptTokens: 26, CompletionTokens: 2},
	ServerTiming: map[string]float64{"total_s": 1.5, "load_s": 0.0025, "prompt_eval_s": 0.13, "eval_s": 1.25}}

func TestStream(t *testing.T) {
	hello, world := llm.Event{Text: "Hello"}, llm.Event{Text: " world"}
	genDone := `{"model":"m","response":"","done":true,"done_reason":"length","context":[` + strings.Repeat("128000,", 5000) + `1],"eval_count":2,"prompt_eval_count":3}` + "\n"
	tests := []struct {
		name    string
		api     string
		parts   []string
		want    []llm.Event
		wantErr llm.ErrorKind // "" means io.EOF
		wantMsg string
	}{
		// Ollama's chat stream: content lines, then the done line with the metrics.
		{name: "chat", parts: []string{chatLine("Hello"), chatLine(" world"), doneLine}, want: []llm.Event{hello, world, doneEvent}},
		// Lines split across reads, CRLF, blank lines, escapes.
		{name: "split", parts: []string{chatLine("Hello")[:17], chatLine("Hello")[17:], strings.TrimSuffix(chatLine(`\n\"x\u00e9`), "\n"), "\r\n\n", doneLine[:50], doneLine[50:]},
			want: []llm.Event{hello, {Text: "\n\"xé"}, doneEvent}},
		// /api/generate: "response"; the done line's long "context" (longer than the read buffer) is skipped.
		{name: "generate", api: APIGenerate, parts: []string{`{"model":"m","response":"Hello","done":false}` + "\n", genDone},
			want: []llm.Event{hello, {FinishReason: "length", Usage: &llm.Usage{PromptTokens: 3, CompletionTokens: 2}}}},
		// A thinking model's reasoning ("think": true): message.thinking,
		// or thinking in /api/generate; empty lines yield nothing.
		{name: "thinking", parts: []string{`{"message":{"role":"assistant","content":"","thinking":"hmm"},"done":false}` + "\n",
			`{"message":{"role":"assistant","content":""},"done":false}` + "\n", chatLine("Hello"), doneLine},
			want: []llm.Event{{Reasoning: "hmm"}, hello, doneEvent}},
		{name: "generate thinking", api: APIGenerate, parts: []string{`{"model":"m","response":"","thinking":"so","done":false}` + "\n",
			`{"model":"m","response":"Hello","done":false}` + "\n", genDone},
			want: []llm.Event{{Reasoning: "so"}, hello, {FinishReason: "length", Usage: &llm.Usage{PromptTokens: 3, CompletionTokens: 2}}}},
		// The body ends before the done line.
		{name: "no done line", parts: []string{chatLine("Hello"), chatLine(" world")}, want: []llm.Event{hello, world},
			wantErr: llm.KindMalformedStream, wantMsg: "done"},
		// A last line without its newline still counts.
		{name: "unterminated done", parts: []string{chatLine("Hello"), strings.TrimSuffix(doneLine, "\n")}, want: []llm.Event{hello, doneEvent}},
		{name: "bad json", parts: []string{chatLine("Hello"), "{\"message\":\n"}, want: []llm.Event{hello}, wantErr: llm.KindMalformedStream},
		// An error line mid-stream.
		{name: "error line", parts: []string{chatLine("Hello"), `{"error":"an error was encountered while running the model: CUDA error"}` + "\n"},
			want: []llm.Event{hello}, wantErr: llm.KindServer, wantMsg: "CUDA error"},
		{name: "timed out", parts: []string{chatLine("Hello"), `{"error":"invocation timed out"}` + "\n"}, want: []llm.Event{hello}, wantErr: llm.KindTimeout},
	}
	for _, tt := range tests {
		for _, readText := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/text=%v", tt.name, readText), func(t *testing.T) {
				srv := ndjsonServer(t, "application/x-ndjson", tt.parts...)
				p, err := New(Options{BaseURL: srv.URL, API: tt.api})
				if err != nil {
					t.Fatal(err)
				}
				s, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				evs, err := streamtest.Read(s, readText)
				streamtest.CheckEvents(t, evs, tt.want)
				streamtest.CheckEnd(t, err, tt.wantErr, tt.wantMsg)
			})
		}
	}
}

// TestWhole reads a stream:false response: one object (here pretty-printed).
func TestWhole(t *testing.T) {
	var v map[string]any
	json.Unmarshal([]byte(doneLine), &v)
	v["message"] = map[string]any{"role": "assistant", "content": "Hello world"}
	body, _ := json.MarshalIndent(v, "", "  ")
	srv := ndjsonServer(t, "application/json; charset=utf-8", string(body))
	p, _ := New(Options{BaseURL: srv.URL})
	s, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	want := doneEvent
	want.Text = "Hello world"
	if err != io.EOF || len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
		t.Fatalf("got %+v, %v", evs, err)
	}
}

func TestRequestBody(t *testing.T) {
	type got struct {
		path string
		hdr  http.Header
		body string
	}
	ch := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.URL.Path, r.Header.Clone(), string(b)}
		io.WriteString(w, doneLine)
	}))
	defer srv.Close()
	temp := 0.0
	tests := []struct {
		name, api, path, body string
		req                   llm.Request
	}{
		// Chat: messages, stream, num_predict, temperature, ignore_eos (simulator only).
		{name: "chat", path: "/api/chat", req: llm.Request{Model: "llama3", Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 64, Stream: true, Temperature: &temp, IgnoreEOS: true},
			body: `{"messages":[{"role":"user","content":"hi"}],"model":"llama3","options":{"ignore_eos":true,"num_predict":64,"temperature":0},"stream":true}`},
		// stream false is sent explicitly (Ollama streams by default); a Prompt becomes a user message.
		{name: "chat prompt", path: "/api/chat", req: llm.Request{Model: "llama3", Prompt: "hi"},
			body: `{"messages":[{"role":"user","content":"hi"}],"model":"llama3","stream":false}`},
		// Generate: prompt; Extra goes into options except Ollama's top-level fields.
		{name: "generate extra", api: APIGenerate, path: "/api/generate", req: llm.Request{Model: "llama3", Prompt: "once", MaxTokens: 8, Stream: true,
			Extra: map[string]any{"keep_alive": "10m", "num_ctx": 8192, "num_predict": 16}},
			body: `{"keep_alive":"10m","model":"llama3","options":{"num_ctx":8192,"num_predict":16},"prompt":"once","stream":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Options{BaseURL: srv.URL + "/", API: tt.api, Headers: map[string]string{"Authorization": "Bearer x"}})
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
			if g.path != tt.path || g.body != tt.body || g.hdr.Get("Authorization") != "Bearer x" {
				t.Errorf("got %s %s %v\nwant %s %s", g.path, g.body, g.hdr, tt.path, tt.body)
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
		{404, `{"error":"model \"llama9\" not found, try pulling it first"}`, llm.KindClient},
		{400, `{"error":"invalid options"}`, llm.KindClient},
		{503, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`, llm.KindOverloaded},
		{503, `{"error":"server shutting down"}`, llm.KindServer},
		{500, `{"error":"llama runner process has terminated"}`, llm.KindServer},
		{429, `{"error":"rate limit"}`, llm.KindThrottled},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		}))
		p, _ := New(Options{BaseURL: srv.URL})
		_, err := p.Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != tt.want || e.Status != tt.status || strings.Contains(e.Message, "{") {
			t.Errorf("%d %s: err = %v, want %s", tt.status, tt.body, err, tt.want)
		}
		srv.Close()
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, chatLine("Hello"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	p, _ := New(Options{BaseURL: srv.URL})
	s, err := p.Start(ctx, &llm.Request{Model: "m", Prompt: "p", Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	if len(evs) != 1 || kindOf(err) != llm.KindTimeout {
		t.Fatalf("events %+v, err %v, want one event then timeout", evs, err)
	}
}

func TestNew(t *testing.T) {
	for _, o := range []Options{{BaseURL: ""}, {BaseURL: "localhost:11434"}, {BaseURL: "http://h", API: "embed"}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	p, err := New(Options{BaseURL: "http://h:11434/x/", API: APIGenerate})
	if err != nil || p.url != "http://h:11434/x/api/generate" || p.Name() != "ollama" {
		t.Errorf("New = %+v, %v", p, err)
	}
}

var lineSeeds = []string{
	strings.TrimSpace(chatLine("Hello")), strings.TrimSpace(doneLine), `{"response":"a\tb\/","done":false,"context":[1,2,3]}`,
	`{"message":{"content":"","thinking":"hm\u00e9"},"done":false}`, `{"response":"","thinking":"a","message":{"thinking":"b"}}`,
	`{"message":{"thinking":"a","thinking":"b"}}`, `{"thinking":null}`, `{"message":{"Thinking":"x"}}`, `{"thinking":5}`,
	`{"error":"boom"}`, `{"error":{"message":"x"}}`, `{"error":null}`, `{"message":null,"done":null}`,
	`{"message":{"content":"a"},"message":{"role":"x"}}`, `{"Message":{"Content":"a"}}`, `{"eval_count":1.0}`, `{"eval_count":1e3}`,
	`{"eval_count":-12,"eval_duration":999999999999999999}`, `{"eval_count":9999999999999999999}`, `{"total_duration":null}`,
	`{"done_reason":"\u0073top"}`, `{"response":"\xff"}`, "{\"\u212aey\":1}", `{"ſtop":1}`, `null`, `[]`, `{}`, `{"a":1}x`, `{"a":01}`,
}

// TestLineFastPathMatchesEncodingJSON checks that whenever the fast path
// accepts a line it reads exactly what encoding/json reads.
func TestLineFastPathMatchesEncodingJSON(t *testing.T) {
	var d decoder
	for _, s := range lineSeeds {
		checkLine(t, &d, []byte(s))
	}
}

type lineView struct {
	Content, Response, Reason, ErrMsg, Thinking, MsgThinking string
	Done, HasErr                                             bool
	M                                                        metrics
}

func view(l line) lineView {
	return lineView{string(l.content), string(l.response), string(l.reason), string(l.errMsg), string(l.thinking), string(l.msgThinking), l.done, l.hasErr, l.metrics}
}

func checkLine(t *testing.T, d *decoder, data []byte) {
	t.Helper()
	var fast, slow line
	if d.fast(data, &fast) != nil {
		return
	}
	fv := view(fast)
	if err := d.slow(data, &slow); err != nil {
		t.Errorf("%q: fast path accepted what encoding/json rejects: %v", data, err)
		return
	}
	if sv := view(slow); !reflect.DeepEqual(fv, sv) {
		t.Errorf("%q:\nfast %+v\nslow %+v", data, fv, sv)
	}
}

// FuzzLineDecode holds the fast path to encoding/json on arbitrary input.
func FuzzLineDecode(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) { checkLine(t, &d, data) })
}

// ollamaBody is an Ollama chat stream of n content lines and a done line.
func ollamaBody(n int) []byte {
	var b bytes.Buffer
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dogs", ",", " and"}
	for i := range n {
		fmt.Fprintf(&b, `{"model":"llama3.1:8b","created_at":"2024-07-23T17:39:%02d.%09dZ","message":{"role":"assistant","content":"%s"},"done":false}`+"\n",
			i%60, i*7919%1000000000, words[i%len(words)])
	}
	b.WriteString(doneLine)
	return b.Bytes()
}

// BenchmarkStreamRead reads a whole Ollama stream through the real reader
// from memory: the parsing cost per line, without the network.
func BenchmarkStreamRead(b *testing.B) {
	for _, n := range []int{256, 2048} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			body := ollamaBody(n)
			r := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				r.Reset(body)
				s := newStream(context.Background(), io.NopCloser(r), 200, APIChat, false)
				texts := 0
				for {
					ev, err := s.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if ev.Text != "" {
						texts++
					}
				}
				s.Close()
				if texts != n {
					b.Fatalf("%d text events, want %d", texts, n)
				}
			}
			runtime.ReadMemStats(&ms1)
			chunks := float64(b.N) * float64(n+1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/chunks, "ns/chunk")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/chunks, "B/chunk")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/chunks, "allocs/chunk")
		})
	}
}
