package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/sim"
)

// testSecret is the dummy secret access key; it must never appear in an
// error message.
const testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"

// testModel is a real Bedrock id with characters that need escaping.
const testModel = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0"

// newSim serves a simulator on 127.0.0.1 and returns it with its URL.
func newSim(t *testing.T, opts sim.Options) (*sim.Server, string) {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.01
	}
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts.URL
}

// newTestProvider returns a provider for endpoint with dummy static
// credentials in us-east-1.
func newTestProvider(t *testing.T, endpoint, api string) *Provider {
	t.Helper()
	p, err := New(t.Context(), Options{
		Region:      "us-east-1",
		EndpointURL: endpoint,
		API:         api,
		MaxConns:    128,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", testSecret, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func collect(s llm.Stream) ([]llm.Event, error) {
	var evs []llm.Event
	for {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// summary folds a response's events.
type summary struct {
	text       string
	textEvents int
	usage      *llm.Usage
	finish     string
	timing     map[string]float64
	id         string
}

func summarize(evs []llm.Event) summary {
	var s summary
	for _, ev := range evs {
		if ev.Text != "" {
			s.text += ev.Text
			s.textEvents++
		}
		if ev.Usage != nil {
			s.usage = ev.Usage
		}
		if ev.FinishReason != "" {
			s.finish = ev.FinishReason
		}
		if ev.ServerTiming != nil {
			s.timing = ev.ServerTiming
		}
		if ev.ID != "" {
			s.id = ev.ID
		}
	}
	return s
}

func chatRequest(maxTokens int, stream bool) *llm.Request {
	temp := 0.5
	return &llm.Request{
		Model: testModel,
		Messages: []llm.Message{
			{Role: "system", Content: "You are terse."},
			{Role: "user", Content: "Tell me about the sea."},
		},
		MaxTokens: maxTokens, Temperature: &temp, Stream: stream,
	}
}

// Every operation against the simulator: text arrives (as many events
// when streamed), the usage equals the simulator's ground truth, the finish
// reason is "length" for an exact-length request, and server timings are
// present.
func TestOperations(t *testing.T) {
	srv, url := newSim(t, sim.Options{})
	tests := []struct {
		api        string
		stream     bool
		wantTiming []string
	}{
		{APIConverseStream, true, []string{"latency_s"}},
		{APIConverse, false, []string{"latency_s"}},
		{APIInvokeStream, true, []string{"latency_s", "first_byte_latency_s"}},
		{APIInvoke, false, []string{"latency_s"}},
		// API "" follows Request.Stream.
		{"", true, []string{"latency_s"}},
		{"", false, []string{"latency_s"}},
	}
	for _, tt := range tests {
		t.Run(tt.api+map[bool]string{true: "/stream", false: "/whole"}[tt.stream], func(t *testing.T) {
			p := newTestProvider(t, url, tt.api)
			s, err := p.Start(t.Context(), chatRequest(24, tt.stream))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(s)
			s.Close()
			if err != io.EOF {
				t.Fatalf("end = %v, want io.EOF", err)
			}
			got := summarize(evs)
			tr, ok := srv.Trace(got.id)
			if !ok {
				t.Fatalf("no simulator trace for request id %q", got.id)
			}
			if got.usage == nil || got.usage.CompletionTokens != 24 || got.usage.CompletionTokens != tr.OutputTokens ||
				got.usage.PromptTokens != tr.PromptTokens || got.usage.PromptTokens == 0 {
				t.Errorf("usage = %+v, want prompt %d, completion %d (trace)", got.usage, tr.PromptTokens, tr.OutputTokens)
			}
			if want := 1; !tt.stream && got.textEvents != want {
				t.Errorf("whole response in %d text events, want 1", got.textEvents)
			}
			if tt.stream && got.textEvents != 24 {
				t.Errorf("streamed %d text events, want 24 (one per token)", got.textEvents)
			}
			if n := len(strings.Fields(got.text)); n != 24 {
				t.Errorf("text has %d words, want 24: %q", n, got.text)
			}
			if got.finish != "length" {
				t.Errorf("finish = %q, want length", got.finish)
			}
			for _, k := range tt.wantTiming {
				// Bedrock reports whole milliseconds: at time scale 0.01 a
				// short prompt's first byte can come in under half of one,
				// so 0 is a value there; its presence is what is checked.
				if v, ok := got.timing[k]; !ok || v < 0 || v == 0 && k != "first_byte_latency_s" {
					t.Errorf("ServerTiming[%q] = %v, %v; want > 0 (all: %v)", k, v, ok, got.timing)
				}
			}
			if lat := got.timing["latency_s"]; lat > 5 {
				t.Errorf("latency_s = %v, implausible", lat)
			}
		})
	}
}

// captured is what a fake Bedrock endpoint received.
type captured struct {
	path   string
	header http.Header
	body   map[string]any
}

func TestRequestShape(t *testing.T) {
	ch := make(chan captured, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		ch <- captured{path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/invoke") {
			io.WriteString(w, `{"generation":"a","stop_reason":"stop"}`)
			return
		}
		io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"a"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":5}}`)
	}))
	defer ts.Close()

	p, err := New(t.Context(), Options{Region: "us-west-2", EndpointURL: ts.URL, API: APIConverse, Performance: PerformanceLatencyOptimized,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", testSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	req := chatRequest(64, false)
	req.Extra = map[string]any{"top_k": 5}
	req.Headers = map[string]string{"X-Test": "yes"}
	s, err := p.Start(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(s)
	if err != io.EOF || len(evs) != 1 || evs[0].Text != "a" || evs[0].FinishReason != "stop" ||
		evs[0].ServerTiming["latency_s"] != 0.005 || evs[0].Usage.PromptTokens != 1 {
		t.Errorf("response = %+v, %v", evs, err)
	}
	got := <-ch
	if want := "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-3-70b-instruct-v1%3A0/converse"; got.path != want {
		t.Errorf("path = %s\nwant %s", got.path, want)
	}
	if a := got.header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(a, "/us-west-2/bedrock/aws4_request") {
		t.Errorf("Authorization = %q, want SigV4 for us-west-2/bedrock", a)
	}
	if got.header.Get("X-Test") != "yes" {
		t.Errorf("request header not sent: %v", got.header)
	}
	wantBody := `{"additionalModelRequestFields":{"top_k":5},"inferenceConfig":{"maxTokens":64,"temperature":0.5},` +
		`"messages":[{"content":[{"text":"Tell me about the sea."}],"role":"user"}],"performanceConfig":{"latency":"optimized"},` +
		`"system":[{"text":"You are terse."}]}`
	if b, _ := json.Marshal(got.body); string(b) != wantBody {
		t.Errorf("body = %s\nwant %s", b, wantBody)
	}

	// invoke: the Llama-native default body; Extra adds, overrides and (nil) removes fields.
	p.api = APIInvoke
	req = chatRequest(32, false)
	req.Extra = map[string]any{"temperature": nil, "top_p": 0.9}
	if s, err = p.Start(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	evs, err = collect(s)
	if err != io.EOF || len(evs) != 1 || evs[0].Text != "a" || evs[0].FinishReason != "stop" {
		t.Errorf("invoke response = %+v, %v", evs, err)
	}
	got = <-ch
	wantBody = `{"max_gen_len":32,"prompt":"You are terse.\n\nTell me about the sea.","top_p":0.9}`
	if b, _ := json.Marshal(got.body); string(b) != wantBody {
		t.Errorf("invoke body = %s\nwant %s", b, wantBody)
	}
	if got.header.Get("X-Amzn-Bedrock-Performanceconfig-Latency") != "optimized" {
		t.Errorf("performance header = %q", got.header.Get("X-Amzn-Bedrock-Performanceconfig-Latency"))
	}
}

// checkErr asserts err is an *llm.Error of kind (and status when non-zero)
// whose text never holds the secret key.
func checkErr(t *testing.T, err error, kind llm.ErrorKind, status int) *llm.Error {
	t.Helper()
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("error = %T %v, want *llm.Error", err, err)
	}
	if le.Kind != kind || (status != 0 && le.Status != status) {
		t.Errorf("error = %v (kind %s, status %d), want kind %s, status %d", le, le.Kind, le.Status, kind, status)
	}
	t.Logf("error: %v", le)
	if strings.Contains(le.Error(), testSecret) || strings.Contains(le.Message, testSecret) || (le.Err != nil && strings.Contains(le.Err.Error(), testSecret)) {
		t.Errorf("error message holds the secret key: %v", le)
	}
	return le
}

// startErr starts req and returns the error of Start or of the stream.
func startErr(t *testing.T, ctx context.Context, p *Provider, req *llm.Request) (error, int) {
	t.Helper()
	s, err := p.Start(ctx, req)
	if err != nil {
		return err, 0
	}
	defer s.Close()
	evs, err := collect(s)
	if err == io.EOF {
		t.Fatalf("request succeeded with %d events; want an error", len(evs))
	}
	return err, summarize(evs).textEvents
}

func TestErrorKinds(t *testing.T) {
	t.Run("throttled", func(t *testing.T) {
		_, url := newSim(t, sim.Options{RPM: 1})
		p := newTestProvider(t, url, APIConverseStream)
		if s, err := p.Start(t.Context(), chatRequest(4, true)); err != nil {
			t.Fatal(err)
		} else {
			collect(s)
			s.Close()
		}
		err, _ := startErr(t, t.Context(), p, chatRequest(4, true))
		le := checkErr(t, err, llm.KindThrottled, 429)
		if !strings.Contains(le.Message, "ThrottlingException") {
			t.Errorf("message = %q, want the exception name", le.Message)
		}
		var te *types.ThrottlingException
		if !errors.As(err, &te) {
			t.Errorf("errors.As(%v, *types.ThrottlingException) = false; the SDK error must stay reachable", err)
		}
	})
	t.Run("overloaded", func(t *testing.T) {
		srv, url := newSim(t, sim.Options{MaxConcurrentRequests: 1, TimeScale: 0.05})
		p := newTestProvider(t, url, APIConverseStream)
		slow, err := p.Start(t.Context(), chatRequest(3000, true))
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		if _, err := slow.Next(); err != nil { // in flight: it has emitted a token
			t.Fatal(err)
		}
		if st := srv.Stats(); st.Running+st.Queued != 1 {
			t.Fatalf("stats = %+v, want one request in flight", st)
		}
		err, _ = startErr(t, t.Context(), p, chatRequest(4, true))
		checkErr(t, err, llm.KindOverloaded, 503)
	})
	t.Run("model timeout before the first byte", func(t *testing.T) {
		// In real time the first token takes tens of milliseconds, far
		// beyond the timeout; at a time scale of 0.05 it came within about
		// a millisecond, and a quarter of the runs saw it sent first.
		_, url := newSim(t, sim.Options{InvocationTimeout: time.Millisecond, TimeScale: 1})
		for _, api := range []string{APIConverse, APIConverseStream, APIInvokeStream, APIInvoke} {
			p := newTestProvider(t, url, api)
			err, _ := startErr(t, t.Context(), p, chatRequest(3000, true))
			checkErr(t, err, llm.KindTimeout, 408)
		}
	})
	t.Run("model timeout mid-stream", func(t *testing.T) {
		_, url := newSim(t, sim.Options{InvocationTimeout: 300 * time.Millisecond, TimeScale: 0.05})
		for _, api := range []string{APIConverseStream, APIInvokeStream} {
			p := newTestProvider(t, url, api)
			err, texts := startErr(t, t.Context(), p, chatRequest(3000, true))
			le := checkErr(t, err, llm.KindTimeout, 200)
			if texts == 0 {
				t.Errorf("%s: no text before the timeout", api)
			}
			if !strings.Contains(le.Message, "timed out") {
				t.Errorf("%s: message = %q", api, le.Message)
			}
		}
	})
	t.Run("validation", func(t *testing.T) {
		_, url := newSim(t, sim.Options{})
		for _, api := range []string{APIConverseStream, APIInvokeStream} {
			p := newTestProvider(t, url, api)
			err, _ := startErr(t, t.Context(), p, chatRequest(5000, true)) // beyond the 4096-token context
			le := checkErr(t, err, llm.KindClient, 400)
			if !strings.Contains(le.Message, "ValidationException") || !strings.Contains(le.Message, "context length") {
				t.Errorf("message = %q", le.Message)
			}
		}
		p := newTestProvider(t, url, APIConverseStream)
		err, _ := startErr(t, t.Context(), p, &llm.Request{Model: "m", Messages: []llm.Message{{Role: "tool", Content: "x"}}})
		checkErr(t, err, llm.KindClient, 0)
	})
	t.Run("context deadline mid-stream", func(t *testing.T) {
		_, url := newSim(t, sim.Options{TimeScale: 0.05})
		for _, api := range []string{APIConverseStream, APIInvokeStream} {
			p := newTestProvider(t, url, api)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			err, texts := startErr(t, ctx, p, chatRequest(3000, true))
			cancel()
			checkErr(t, err, llm.KindTimeout, 0)
			if texts == 0 {
				t.Errorf("%s: no text before the deadline", api)
			}
		}
	})
	t.Run("context deadline before the response", func(t *testing.T) {
		_, url := newSim(t, sim.Options{TimeScale: 0.05})
		p := newTestProvider(t, url, APIConverse)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err, _ := startErr(t, ctx, p, chatRequest(3000, false))
		checkErr(t, err, llm.KindTimeout, 0)
	})
	t.Run("canceled by Close", func(t *testing.T) {
		_, url := newSim(t, sim.Options{TimeScale: 0.05})
		p := newTestProvider(t, url, APIConverseStream)
		s, err := p.Start(t.Context(), chatRequest(3000, true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(50*time.Millisecond, func() { s.Close() })
		_, err = collect(s)
		checkErr(t, err, llm.KindCanceled, 0)
		s.Close()
	})
	t.Run("connection", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		url := ts.URL
		ts.Close()
		p := newTestProvider(t, url, APIConverseStream)
		err, _ := startErr(t, t.Context(), p, chatRequest(4, true))
		checkErr(t, err, llm.KindConnection, 0)
	})
}

// fakeStream serves a ConverseStream response made of frames.
func fakeStream(t *testing.T, frames []eventstream.Message) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		enc := eventstream.NewEncoder()
		for _, f := range frames {
			enc.Encode(w, f)
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func frame(kind, name, payload string) eventstream.Message {
	var m eventstream.Message
	if kind == "event" {
		m.Headers.Set(":event-type", eventstream.StringValue(name))
	} else {
		m.Headers.Set(":exception-type", eventstream.StringValue(name))
	}
	m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	m.Headers.Set(":message-type", eventstream.StringValue(kind))
	m.Payload = []byte(payload)
	return m
}

func TestStreamFailures(t *testing.T) {
	delta := frame("event", "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" hi"}}`)
	tests := []struct {
		name   string
		frames []eventstream.Message
		kind   llm.ErrorKind
	}{
		// The body ends before messageStop.
		{"truncated", []eventstream.Message{delta}, llm.KindMalformedStream},
		// An in-stream ThrottlingException.
		{"throttled", []eventstream.Message{delta, frame("exception", "throttlingException", `{"message":"slow down"}`)}, llm.KindThrottled},
		// serviceUnavailableException: overloaded.
		{"unavailable", []eventstream.Message{delta, frame("exception", "serviceUnavailableException", `{"message":"busy"}`)}, llm.KindOverloaded},
		// A model stream error without an original status is a server error.
		{"model stream error", []eventstream.Message{delta, frame("exception", "modelStreamErrorException", `{"message":"boom"}`)}, llm.KindServer},
		// ... and with one, it is classified by it.
		{"model stream 429", []eventstream.Message{delta, frame("exception", "modelStreamErrorException", `{"message":"x","originalStatusCode":429}`)}, llm.KindThrottled},
		{"internal", []eventstream.Message{frame("exception", "internalServerException", `{"message":"oops"}`)}, llm.KindServer},
		// An in-stream validation error echoing the secret is redacted.
		{"validation echo", []eventstream.Message{frame("exception", "validationException", `{"message":"bad key `+testSecret+`"}`)}, llm.KindClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t, fakeStream(t, tt.frames), APIConverseStream)
			err, _ := startErr(t, t.Context(), p, chatRequest(4, true))
			le := checkErr(t, err, tt.kind, 200)
			if tt.name == "validation echo" && !strings.Contains(le.Message, "[REDACTED]") {
				t.Errorf("message = %q, want the secret redacted", le.Message)
			}
		})
	}
}

// An HTTP error whose message echoes the secret key is redacted, and an
// unknown error type is classified by its status.
func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		status int
		typ    string
		kind   llm.ErrorKind
	}{
		{403, "AccessDeniedException", llm.KindClient},
		{404, "ResourceNotFoundException", llm.KindClient},
		{424, "ModelErrorException", llm.KindServer},
		{500, "InternalServerException", llm.KindServer},
		{400, "ServiceQuotaExceededException", llm.KindThrottled},
		{429, "ModelNotReadyException", llm.KindOverloaded},
		{502, "SomethingNewException", llm.KindServer},
		{429, "", llm.KindThrottled},
		{403, "UnrecognizedClientException", llm.KindClient},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.typ != "" {
					w.Header().Set("X-Amzn-ErrorType", tt.typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, `{"message":"echo `+testSecret+`"}`)
			}))
			defer ts.Close()
			p := newTestProvider(t, ts.URL, APIConverseStream)
			err, _ := startErr(t, t.Context(), p, chatRequest(4, true))
			le := checkErr(t, err, tt.kind, tt.status)
			if !strings.Contains(le.Message, "[REDACTED]") {
				t.Errorf("message = %q, want the secret redacted", le.Message)
			}
		})
	}
}

// Many concurrent streams reach the server at once: the client's pool does
// not serialize them. A barrier in front of the simulator holds every
// request until all n are in flight at the server (it fails them after
// 10 s otherwise), so the check does not depend on how fast a loaded
// machine sends them; the simulator's traces then show all n in its
// batch together (logged), and every stream gets exactly its own events.
func TestConcurrentStreams(t *testing.T) {
	const n = 64
	srv, err := sim.New(sim.Options{TimeScale: 0.1, MaxConcurrentRequests: -1})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			srv.ServeHTTP(w, r)
		case <-time.After(10 * time.Second):
			mu.Lock()
			msg := fmt.Sprintf("only %d of %d requests reached the server at once", arrived, n)
			mu.Unlock()
			http.Error(w, msg, http.StatusGatewayTimeout)
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	p := newTestProvider(t, ts.URL, APIConverseStream)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			s, err := p.Start(t.Context(), chatRequest(50, true))
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			evs, err := collect(s)
			if err != io.EOF {
				errs <- err
				return
			}
			// Streams of one client must not see each other's events.
			if sum := summarize(evs); sum.usage == nil || sum.usage.CompletionTokens != 50 ||
				sum.textEvents != 50 || len(strings.Fields(sum.text)) != 50 {
				errs <- fmt.Errorf("stream: %d text events, %d words, usage %+v; want 50", sum.textEvents, len(strings.Fields(sum.text)), sum.usage)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Peak overlap of [arrival, last token] over the ground-truth traces.
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, tr := range srv.Traces() {
		if tr.OutputTokens == 0 {
			continue
		}
		edges = append(edges, edge{tr.Arrived, 1}, edge{tr.TokenTimes[len(tr.TokenTimes)-1], -1})
	}
	if len(edges) != 2*n {
		t.Fatalf("%d complete traces, want %d", len(edges)/2, n)
	}
	peak, cur := 0, 0
	for len(edges) > 0 {
		i := 0
		for j := range edges {
			if edges[j].at.Before(edges[i].at) {
				i = j
			}
		}
		cur += edges[i].delta
		peak = max(peak, cur)
		edges = append(edges[:i], edges[i+1:]...)
	}
	var first, last time.Time
	for _, tr := range srv.Traces() {
		if first.IsZero() || tr.Arrived.Before(first) {
			first = tr.Arrived
		}
		if tr.Arrived.After(last) {
			last = tr.Arrived
		}
	}
	t.Logf("arrivals spread over %v; peak concurrency %d", last.Sub(first), peak)
	// The barrier proved n concurrent requests at the server; how many
	// the engine then holds at once also depends on how fast this machine
	// parses them, so only gross serialization fails here.
	if peak < n/2 {
		t.Errorf("peak concurrency in the simulator's batch = %d, want about %d", peak, n)
	}
}

func TestNewValidates(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", testSecret, "")
	for _, o := range []Options{
		{Region: "us-east-1", API: "chat", Credentials: creds},
		{Region: "us-east-1", Performance: "fast", Credentials: creds},
		{Region: "us-east-1", EndpointURL: "localhost:8000", Credentials: creds},
	} {
		if _, err := New(t.Context(), o); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", o)
		} else if strings.Contains(err.Error(), testSecret) {
			t.Errorf("error holds the secret: %v", err)
		}
	}
	// No region anywhere: an error unless an endpoint is given.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	if _, err := New(t.Context(), Options{Credentials: creds}); err == nil {
		t.Error("New without a region succeeded")
	}
	if _, err := New(t.Context(), Options{EndpointURL: "http://127.0.0.1:1", Credentials: creds}); err != nil {
		t.Errorf("New with an endpoint and no region: %v", err)
	}
}

func TestParseChunk(t *testing.T) {
	tests := []struct {
		name, in string
		want     llm.Event
	}{
		// Meta Llama, a middle chunk.
		{"llama", `{"generation":" the","prompt_token_count":12,"generation_token_count":1,"stop_reason":null}`, llm.Event{Text: " the"}},
		// Meta Llama, the last chunk with Bedrock's invocation metrics.
		{"llama last", `{"generation":"","generation_token_count":9,"stop_reason":"length","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":9,"invocationLatency":2500,"firstByteLatency":400}}`,
			llm.Event{FinishReason: "length", Usage: &llm.Usage{PromptTokens: 12, CompletionTokens: 9},
				ServerTiming: map[string]float64{"latency_s": 2.5, "first_byte_latency_s": 0.4}}},
		// Amazon Titan.
		{"titan", `{"outputText":" sea","index":0,"totalOutputTextTokenCount":3,"completionReason":"FINISH"}`, llm.Event{Text: " sea", FinishReason: "stop"}},
		// Mistral.
		{"mistral", `{"outputs":[{"text":" a","stop_reason":null}]}`, llm.Event{Text: " a"}},
		// Anthropic Messages: a text delta, then the stop.
		{"anthropic delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`, llm.Event{Text: "Hi"}},
		{"anthropic stop", `{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":5}}`, llm.Event{FinishReason: "length"}},
		// Anthropic whole response (InvokeModel).
		{"anthropic whole", `{"type":"message","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn"}`, llm.Event{Text: "Hello", FinishReason: "stop"}},
		// Unknown shapes carry nothing.
		{"other", `{"type":"message_start","message":{}}`, llm.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChunk([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tt.want)
			if string(g) != string(w) {
				t.Errorf("parseChunk = %s\nwant %s", g, w)
			}
		})
	}
	if _, err := parseChunk([]byte("{")); err == nil {
		t.Error("invalid JSON accepted")
	}
}

// TestThrottlingCarriesRetryAfter: a throttled call's Retry-After reaches
// llm.Error, so --retries waits at least that long (the simulator's quota
// sends one).
func TestThrottlingCarriesRetryAfter(t *testing.T) {
	_, url := newSim(t, sim.Options{TimeScale: 1, RPM: 1})
	p := newTestProvider(t, url, APIConverse)
	if s, err := p.Start(t.Context(), chatRequest(2, false)); err != nil {
		t.Fatal(err)
	} else {
		collect(s)
		s.Close()
	}
	_, err := p.Start(t.Context(), chatRequest(2, false))
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("second call under RPM 1: %v; want an *llm.Error", err)
	}
	if le.Kind != llm.KindThrottled || le.RetryAfter < time.Second {
		t.Fatalf("second call under RPM 1: %v (retry after %v); want throttled with a Retry-After", err, le.RetryAfter)
	}
}
