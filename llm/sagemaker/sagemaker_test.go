package sagemaker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/sim"
)

// wireStats counts what the simulator put on the wire.
type wireStats struct {
	parts      atomic.Int64 // PayloadParts
	splitParts atomic.Int64 // PayloadParts that end inside a line
}

// teeWriter copies a streamed response into buf.
type teeWriter struct {
	http.ResponseWriter
	buf *bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// startSim serves a simulator on 127.0.0.1 and decodes every streamed
// response it sends, counting the PayloadParts that split a line.
func startSim(t *testing.T, opts sim.Options) (*sim.Server, string, *wireStats) {
	t.Helper()
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	st := &wireStats{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "-response-stream") {
			s.ServeHTTP(w, r)
			return
		}
		var buf bytes.Buffer
		s.ServeHTTP(&teeWriter{w, &buf}, r)
		if w.Header().Get("Content-Type") != "application/vnd.amazon.eventstream" {
			return
		}
		dec := eventstream.NewDecoder()
		for buf.Len() > 0 {
			m, err := dec.Decode(&buf, nil)
			if err != nil {
				t.Errorf("simulator sent an undecodable frame: %v", err)
				return
			}
			if v := m.Headers.Get(":event-type"); v != nil && v.String() == "PayloadPart" {
				st.parts.Add(1)
				if !bytes.HasSuffix(m.Payload, []byte("\n")) {
					st.splitParts.Add(1)
				}
			}
		}
	}))
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts.URL, st
}

// newProvider returns a provider for endpoint "llama-ep" at url.
func newProvider(t *testing.T, url string, opts Options) *Provider {
	t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = "llama-ep"
	}
	opts.Region = "us-east-1"
	opts.EndpointURL = url
	opts.Credentials = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
	p, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// collect reads a stream to its end.
func collect(s llm.Stream) (evs []llm.Event, err error) {
	defer s.Close()
	for {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// summary is what a test checks of a response.
type summary struct {
	texts  int // events with text
	text   string
	usage  *llm.Usage
	finish string
	id     string
}

func summarize(evs []llm.Event) summary {
	var s summary
	for _, ev := range evs {
		if ev.Text != "" {
			s.texts++
			s.text += ev.Text
		}
		if ev.Usage != nil {
			s.usage = ev.Usage
		}
		if ev.FinishReason != "" {
			s.finish = ev.FinishReason
		}
		if s.id == "" {
			s.id = ev.ID
		}
	}
	return s
}

// checkTrace compares a response with the simulator's ground truth.
func checkTrace(t *testing.T, s *sim.Server, got summary, wantTokens int) {
	t.Helper()
	if got.id == "" {
		t.Fatal("no response id")
	}
	var tr sim.Trace
	deadline := time.Now().Add(5 * time.Second)
	for ok := false; !ok; {
		if tr, ok = s.Trace(got.id); !ok && time.Now().After(deadline) {
			t.Fatalf("no trace for %q", got.id)
		}
		time.Sleep(time.Millisecond)
	}
	if tr.OutputTokens != wantTokens || tr.Error != "" {
		t.Errorf("trace: %d tokens, error %q; want %d", tr.OutputTokens, tr.Error, wantTokens)
	}
	if got.usage == nil || got.usage.CompletionTokens != tr.OutputTokens || got.usage.PromptTokens != tr.PromptTokens {
		t.Errorf("usage %+v, trace has %d prompt and %d output tokens", got.usage, tr.PromptTokens, tr.OutputTokens)
	}
}

const prompt = "Explain continuous batching in two sentences."

func TestStreamTGI(t *testing.T) {
	s, url, st := startSim(t, sim.Options{TimeScale: 0.01})
	p := newProvider(t, url, Options{MaxConns: 4})
	for range 3 {
		stream, err := p.Start(t.Context(), &llm.Request{Prompt: prompt, MaxTokens: 50, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := collect(stream)
		if err != io.EOF {
			t.Fatalf("stream ended with %v", err)
		}
		got := summarize(evs)
		// One event per token: lines split across PayloadParts were reassembled.
		if got.texts != 50 || got.finish != "length" {
			t.Errorf("%d text events, finish %q; want 50, length", got.texts, got.finish)
		}
		checkTrace(t, s, got, 50)
	}
	if n := st.splitParts.Load(); n < 3*50/7 {
		t.Errorf("the simulator split %d lines across PayloadParts, want at least %d", n, 3*50/7)
	}
}

func TestStreamMessages(t *testing.T) {
	s, url, st := startSim(t, sim.Options{TimeScale: 0.01})
	p := newProvider(t, url, Options{Format: FormatMessages})
	stream, err := p.Start(t.Context(), &llm.Request{
		Messages: []llm.Message{{Role: "user", Content: prompt}}, MaxTokens: 30, IgnoreEOS: true, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(stream)
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	got := summarize(evs)
	if got.texts != 30 || got.finish != "length" {
		t.Errorf("%d text events, finish %q", got.texts, got.finish)
	}
	checkTrace(t, s, got, 30)
	if st.splitParts.Load() == 0 {
		t.Error("no line was split across PayloadParts")
	}
}

func TestInvokeEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		req    llm.Request
		tokens int
	}{
		// TGI: [{"generated_text", "details"}].
		{"tgi", Options{}, llm.Request{Prompt: prompt, MaxTokens: 12}, 12},
		// OpenAI chat: choices[0].message.content and usage.
		{"messages", Options{Format: FormatMessages}, llm.Request{Prompt: prompt, MaxTokens: 12, IgnoreEOS: true}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url, _ := startSim(t, sim.Options{TimeScale: 0.01})
			p := newProvider(t, url, tt.opts)
			stream, err := p.Start(t.Context(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(stream)
			if err != io.EOF || len(evs) != 1 {
				t.Fatalf("%d events, %v; want 1 event then EOF", len(evs), err)
			}
			got := summarize(evs)
			if got.text == "" || got.finish != "length" {
				t.Errorf("event %+v", evs[0])
			}
			checkTrace(t, s, got, tt.tokens)
		})
	}
}

func TestTemplate(t *testing.T) {
	// A vLLM-completions-shaped body: the response is read from choices[0].text.
	const tmpl = `{"prompt": "{{prompt}}", "max_tokens": {{max_tokens}}, "ignore_eos": true, "stream": {{stream}},
		"stream_options": {"include_usage": true}}`
	s, url, _ := startSim(t, sim.Options{TimeScale: 0.01})
	p := newProvider(t, url, Options{Format: FormatTemplate, Template: tmpl})
	for _, streamed := range []bool{true, false} {
		stream, err := p.Start(t.Context(), &llm.Request{Prompt: "say \"hi\"\n<now>", MaxTokens: 15, Stream: streamed})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := collect(stream)
		if err != io.EOF {
			t.Fatalf("stream=%v: ended with %v", streamed, err)
		}
		got := summarize(evs)
		if want := 1; !streamed && got.texts != want || streamed && got.texts != 15 {
			t.Errorf("stream=%v: %d text events", streamed, got.texts)
		}
		checkTrace(t, s, got, 15)
	}
}

func TestTemplateValidation(t *testing.T) {
	for _, tmpl := range []string{
		`{"inputs": "no placeholder"}`,
		`{"inputs": {{prompt}}}`, // not quoted: not JSON once filled in
	} {
		_, err := New(t.Context(), Options{Endpoint: "e", Region: "us-east-1", Format: FormatTemplate, Template: tmpl,
			Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
		if err == nil {
			t.Errorf("template %s accepted", tmpl)
		}
	}
	if _, err := New(t.Context(), Options{Endpoint: "e", Region: "us-east-1", Format: "xml"}); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := New(t.Context(), Options{Region: "us-east-1"}); err == nil {
		t.Error("missing endpoint accepted")
	}
}

// kindOf returns the kind of an *llm.Error.
func kindOf(t *testing.T, err error) llm.ErrorKind {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e.Kind
}

// startErr sends req and returns the error of Start or, failing that, of
// the stream.
func startErr(t *testing.T, ctx context.Context, p *Provider, req llm.Request) error {
	t.Helper()
	stream, err := p.Start(ctx, &req)
	if err != nil {
		return err
	}
	_, err = collect(stream)
	if err == io.EOF {
		t.Fatal("request succeeded")
	}
	return err
}

func TestErrorKinds(t *testing.T) {
	long := llm.Request{Prompt: prompt, MaxTokens: 2000, Stream: true}
	tests := []struct {
		name string
		sim  sim.Options
		opts Options
		// hold, when set, is started (and left running) first.
		hold *llm.Request
		req  llm.Request
		want llm.ErrorKind
		msg  string // in the error message
	}{
		// The endpoint's RPM quota: ThrottlingException (HTTP 400).
		{name: "throttled", sim: sim.Options{TimeScale: 0.01, RPM: 1}, hold: &long,
			req: llm.Request{Prompt: prompt, MaxTokens: 5}, want: llm.KindThrottled, msg: "ThrottlingException"},
		// TGI's 429 "Model is overloaded" inside a ModelError (HTTP 424).
		{name: "overloaded", sim: sim.Options{TimeScale: 0.01, MaxConcurrentRequests: 1}, hold: &long,
			req: llm.Request{Prompt: prompt, MaxTokens: 5, Stream: true}, want: llm.KindOverloaded, msg: "container status 429"},
		// SageMaker's invocation timeout before the first byte: ModelError, original status 0.
		{name: "timeout before first token", sim: sim.Options{TimeScale: 1, InvocationTimeout: time.Millisecond},
			req: llm.Request{Prompt: prompt, MaxTokens: 50, Stream: true}, want: llm.KindTimeout, msg: "invocation timed out"},
		// The same on InvokeEndpoint.
		{name: "timeout not streamed", sim: sim.Options{TimeScale: 1, InvocationTimeout: 50 * time.Millisecond},
			req: llm.Request{Prompt: prompt, MaxTokens: 50}, want: llm.KindTimeout, msg: "invocation timed out"},
		// Mid-stream: a ModelStreamError ModelInvocationTimeExceeded event
		// (SageMaker's 60 s scaled to 60 ms).
		{name: "timeout mid-stream", sim: sim.Options{TimeScale: 0.001},
			req: llm.Request{Prompt: prompt, MaxTokens: 3000, Stream: true}, want: llm.KindTimeout, msg: "ModelInvocationTimeExceeded"},
		// SageMaker's own ValidationError (an invalid endpoint name).
		{name: "validation", sim: sim.Options{TimeScale: 0.01}, opts: Options{Endpoint: "bad_name"},
			req: llm.Request{Prompt: prompt, MaxTokens: 5, Stream: true}, want: llm.KindClient, msg: "ValidationError"},
		// The container's 422 (prompt + max_new_tokens beyond the context) in a ModelError.
		{name: "container validation", sim: sim.Options{TimeScale: 0.01},
			req: llm.Request{Prompt: prompt, MaxTokens: 100000, Stream: true}, want: llm.KindClient, msg: "container status 422"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url, _ := startSim(t, tt.sim)
			p := newProvider(t, url, tt.opts)
			if tt.hold != nil {
				stream, err := p.Start(t.Context(), tt.hold)
				if err != nil {
					t.Fatal(err)
				}
				defer stream.Close()
			}
			err := startErr(t, t.Context(), p, tt.req)
			if k := kindOf(t, err); k != tt.want || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %s (%v), want %s mentioning %q", k, err, tt.want, tt.msg)
			}
		})
	}
}

func TestContextTimeout(t *testing.T) {
	_, url, _ := startSim(t, sim.Options{TimeScale: 1})
	p := newProvider(t, url, Options{})
	for _, streamed := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		err := startErr(t, ctx, p, llm.Request{Prompt: prompt, MaxTokens: 500, Stream: streamed})
		cancel()
		if k := kindOf(t, err); k != llm.KindTimeout {
			t.Errorf("stream=%v: got %s (%v), want timeout", streamed, k, err)
		}
	}
}

func TestCloseAbortsNext(t *testing.T) {
	_, url, _ := startSim(t, sim.Options{TimeScale: 1})
	p := newProvider(t, url, Options{})
	stream, err := p.Start(t.Context(), &llm.Request{Prompt: prompt, MaxTokens: 500, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { stream.Close() })
	_, err = collect(stream)
	if k := kindOf(t, err); k != llm.KindCanceled {
		t.Errorf("got %s (%v), want canceled", k, err)
	}
}

// TestConcurrentStreams: 64 streams through one provider are all in
// flight at once (the client does not serialize them), and, under -race,
// the SDK's shared event-stream codec is not shared (ownProtocol).
func TestConcurrentStreams(t *testing.T) {
	const n = 64
	// Real time: each request lasts ~2 s, far longer than it takes to
	// start 64 of them even under the race detector on two cores.
	s, url, _ := startSim(t, sim.Options{TimeScale: 1})
	p := newProvider(t, url, Options{MaxConns: n})
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			stream, err := p.Start(t.Context(), &llm.Request{Prompt: prompt, MaxTokens: 40, Stream: true})
			if err != nil {
				t.Error(err)
				return
			}
			evs, err := collect(stream)
			if err != io.EOF {
				t.Error(err)
			}
			got := summarize(evs)
			if got.texts != 40 {
				t.Errorf("%d text events", got.texts)
			}
			ids[i] = got.id
		})
	}
	wg.Wait()
	var lastArrival, firstEnd time.Time
	for _, id := range ids {
		tr, ok := s.Trace(id)
		if !ok {
			t.Fatalf("no trace for %q", id)
		}
		if tr.Arrived.After(lastArrival) {
			lastArrival = tr.Arrived
		}
		if end := tr.TokenTimes[len(tr.TokenTimes)-1]; firstEnd.IsZero() || end.Before(firstEnd) {
			firstEnd = end
		}
	}
	if !lastArrival.Before(firstEnd) {
		t.Errorf("the last request arrived %v after the first ended: streams were serialized", lastArrival.Sub(firstEnd))
	}
}
