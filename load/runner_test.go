package load

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/workload"
)

// sseServer streams n chunks of " tok", waiting first before the first and
// gap between the others, and tracks the peak number of requests in flight.
type sseServer struct {
	first, gap time.Duration
	n          int
	inFlight   atomic.Int64
	peak       atomic.Int64
	requests   atomic.Int64
}

func (s *sseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	// Read the body to EOF: only then does net/http watch for the client
	// hanging up and cancel r.Context().
	io.Copy(io.Discard, r.Body)
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if cur <= p || s.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	wait := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-r.Context().Done():
			return false
		}
	}
	if !wait(s.first) {
		return
	}
	for i := range s.n {
		if i > 0 && !wait(s.gap) {
			return
		}
		fmt.Fprintf(w, "data: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},\"finish_reason\":null}]}\n\n")
		fl.Flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"r1\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", s.n)
	fl.Flush()
}

type collector struct {
	mu   sync.Mutex
	recs []record.Record
}

func (c *collector) add(r *record.Record) {
	c.mu.Lock()
	c.recs = append(c.recs, *r)
	c.mu.Unlock()
}

func newRunner(t *testing.T, h http.Handler, plan Plan) (*Runner, *collector) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	prov, err := openai.New(openai.Options{BaseURL: srv.URL + "/v1", MaxConns: plan.Concurrency})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := workload.NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := workload.NewSource(workload.Options{MeanInputTokens: 20, MeanOutputTokens: 5, Seed: 1, Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	return &Runner{
		Provider: prov, Source: src, Tokenizer: tok,
		Template: Template{Model: "m", API: llm.APIChat, Stream: true},
		Plan:     plan, Sink: c.add,
	}, c
}

func TestClosedLoopSendsExactlyMaxRequestsAtConcurrency(t *testing.T) {
	s := &sseServer{first: 20 * time.Millisecond, gap: 2 * time.Millisecond, n: 5}
	// 23 is not a multiple of 4: the remainder must not be dropped.
	r, c := newRunner(t, s, Plan{Concurrency: 4, MaxRequests: 23, Warmup: 2, Timeout: 5 * time.Second})
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.recs); got != 25 {
		t.Fatalf("records = %d, want 25 (23 measured + 2 warm-up)", got)
	}
	if got := s.requests.Load(); got != 25 {
		t.Errorf("server saw %d requests, want 25", got)
	}
	if p := s.peak.Load(); p != 4 {
		t.Errorf("peak in flight = %d, want exactly the concurrency 4", p)
	}
	if res.StopReason != StopMaxRequests || res.Interrupted {
		t.Errorf("stop = %q interrupted=%v", res.StopReason, res.Interrupted)
	}
	warm := 0
	seen := map[int64]bool{}
	for _, rec := range c.recs {
		if seen[rec.ID] {
			t.Errorf("id %d twice", rec.ID)
		}
		seen[rec.ID] = true
		if rec.Warmup {
			warm++
			if rec.ID >= 2 {
				t.Errorf("id %d marked warm-up", rec.ID)
			}
		}
		if !rec.OK() {
			t.Fatalf("request failed: %+v", rec)
		}
		if rec.TokenSource != record.SourceServer || rec.OutputTokens != 5 || rec.InputTokens != 7 {
			t.Errorf("tokens: %+v", rec)
		}
		// The server reports usage: the local count checks the first 16
		// requests and every 16th after them.
		if want := map[bool]int{true: 5, false: 0}[checksOutputCount(rec.ID)]; rec.OutputTokensLocal != want {
			t.Errorf("request %d: local output tokens = %d, want %d", rec.ID, rec.OutputTokensLocal, want)
		}
		if len(rec.ChunkTimesS) != 5 || rec.ChunkTimesS[0] != rec.TTFTS {
			t.Errorf("chunk times %v, ttft %v", rec.ChunkTimesS, rec.TTFTS)
		}
		// The server waits 20 ms before the first chunk: TTFT cannot be less.
		if rec.TTFTS < 0.020 || rec.TTFTS > 0.5 {
			t.Errorf("ttft = %v, want >= 20ms", rec.TTFTS)
		}
		if rec.E2ES < rec.ChunkTimesS[4] || rec.SentS < rec.ScheduledS {
			t.Errorf("times out of order: %+v", rec)
		}
	}
	if warm != 2 {
		t.Errorf("warm-up records = %d, want 2", warm)
	}
}

func TestTimeoutIsRecordedAsTimeout(t *testing.T) {
	s := &sseServer{first: 2 * time.Second, n: 1}
	r, c := newRunner(t, s, Plan{Concurrency: 2, MaxRequests: 2, Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("run took %s; the timeout is 100ms", el)
	}
	for _, rec := range c.recs {
		if rec.ErrorKind != llm.KindTimeout {
			t.Errorf("error kind = %q, want timeout (%s)", rec.ErrorKind, rec.Error)
		}
		if rec.E2ES < 0.1 || rec.E2ES > 0.5 {
			t.Errorf("e2e = %v, want about the 100ms timeout", rec.E2ES)
		}
	}
}

func TestInterruptStopsSchedulingAndCancelsAfterGrace(t *testing.T) {
	s := &sseServer{first: 10 * time.Second, n: 1}
	r, c := newRunner(t, s, Plan{Concurrency: 3, MaxRequests: 1000, Timeout: time.Minute, Grace: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("interrupted run took %s", el)
	}
	if !res.Interrupted || res.StopReason != StopInterrupted {
		t.Errorf("result %+v, want interrupted", res)
	}
	if len(c.recs) != 3 {
		t.Fatalf("records = %d, want the 3 in flight", len(c.recs))
	}
	for _, rec := range c.recs {
		if rec.ErrorKind != llm.KindCanceled {
			t.Errorf("kind = %q, want canceled", rec.ErrorKind)
		}
	}
}

func TestDurationStopsScheduling(t *testing.T) {
	s := &sseServer{first: 5 * time.Millisecond, gap: time.Millisecond, n: 2}
	r, c := newRunner(t, s, Plan{Concurrency: 2, Duration: 200 * time.Millisecond, Timeout: time.Second})
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopDuration {
		t.Errorf("stop = %q, want duration", res.StopReason)
	}
	if len(c.recs) < 10 {
		t.Errorf("only %d requests in 200ms of 6ms requests", len(c.recs))
	}
	for _, rec := range c.recs {
		if !rec.OK() {
			t.Errorf("request after duration failed: %s", rec.Error)
		}
		if rec.ScheduledS > 0.2 {
			t.Errorf("request scheduled at %.3fs, after the 200ms duration", rec.ScheduledS)
		}
	}
}

func TestConnectionRefusedIsData(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	r, c := newRunner(t, http.NotFoundHandler(), Plan{Concurrency: 1, MaxRequests: 3, Timeout: time.Second})
	prov, err := openai.New(openai.Options{BaseURL: url + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	r.Provider = prov
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 3 {
		t.Fatalf("records = %d", len(c.recs))
	}
	for _, rec := range c.recs {
		if rec.ErrorKind != llm.KindConnection {
			t.Errorf("kind = %q (%s), want connection", rec.ErrorKind, rec.Error)
		}
	}
}

func TestPlanValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Plan
		ok   bool
	}{
		{"fine", Plan{Concurrency: 1, MaxRequests: 1, Timeout: time.Second}, true},
		{"negative concurrency", Plan{Concurrency: -1, MaxRequests: 1, Timeout: time.Second}, false},
		{"never ends", Plan{Concurrency: 1, Timeout: time.Second}, false},
		{"no timeout", Plan{Concurrency: 1, MaxRequests: 1}, false},
		{"negative warm-up", Plan{Concurrency: 1, MaxRequests: 1, Warmup: -1, Timeout: time.Second}, false},
	}
	for _, c := range cases {
		if err := c.p.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v", c.name, err)
		}
	}
}

// TestRecordKeepsTheResponsesFields: the record keeps the response's first
// id, its finish reason and the server's own timings (llama.cpp's
// "timings", in seconds), gathered over the stream's events.
func TestRecordKeepsTheResponsesFields(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"first","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`+"\n\n")
		io.WriteString(w, `data: {"id":"second","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}`+"\n\n")
		io.WriteString(w, `data: {"id":"second","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2},"timings":{"prompt_ms":12,"predicted_ms":34}}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	})
	rec := runOne(t, h) // fails the test unless the request succeeded
	want := map[string]float64{"prompt_eval_s": 0.012, "eval_s": 0.034}
	if rec.ResponseID != "first" || rec.FinishReason != "stop" || !maps.Equal(rec.ServerTimingS, want) {
		t.Errorf("id %q, finish %q, server timing %v; want first, stop, %v", rec.ResponseID, rec.FinishReason, rec.ServerTimingS, want)
	}
}

// TestChunkTimesGrowPastTheirFirstRoom: a short answer to a request
// allowed 4,096 tokens holds room for maxChunkTimesCap chunk times, not
// 4,096, and a response longer than that room keeps every chunk's time,
// in order.
func TestChunkTimesGrowPastTheirFirstRoom(t *testing.T) {
	const chunks = 3*maxChunkTimesCap + 7
	p := workload.Prompt{Text: "hello", InputTokens: 1, MaxTokens: 4096}
	short, _ := newRunner(t, &sseServer{n: 5}, Plan{Concurrency: 1, MaxRequests: 1, Timeout: 30 * time.Second})
	short.start = time.Now()
	rec, failed := short.attempt(t.Context(), slot{id: outputCheckFirst + 1}, p, short.Template.build(p), 0)
	const room = 257 // 2 KiB; before the bound, 4,097 (32 KiB)
	if failed != nil || len(rec.ChunkTimesS) != 5 || cap(rec.ChunkTimesS) > room {
		t.Fatalf("%v; %d chunk times in room for %d; want 5 in at most %d", failed, len(rec.ChunkTimesS), cap(rec.ChunkTimesS), room)
	}
	r, _ := newRunner(t, &sseServer{n: chunks}, Plan{Concurrency: 1, MaxRequests: 1, Timeout: 30 * time.Second})
	r.start = time.Now()
	rec, failed = r.attempt(t.Context(), slot{id: outputCheckFirst + 1}, p, r.Template.build(p), 0)
	if failed != nil {
		t.Fatal(failed)
	}
	if len(rec.ChunkTimesS) != chunks || rec.OutputTokens != chunks {
		t.Fatalf("%d chunk times, %d output tokens; want %d", len(rec.ChunkTimesS), rec.OutputTokens, chunks)
	}
	if rec.TTFTS != rec.ChunkTimesS[0] || !slices.IsSorted(rec.ChunkTimesS) || rec.ChunkTimesS[chunks-1] > rec.E2ES {
		t.Errorf("chunk times out of order or past the end: ttft %v, first %v, last %v, e2e %v",
			rec.TTFTS, rec.ChunkTimesS[0], rec.ChunkTimesS[chunks-1], rec.E2ES)
	}
}
