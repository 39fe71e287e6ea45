package load

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

// always500 answers every request with HTTP 500, counting them.
type always500 struct{ n atomic.Int64 }

func (a *always500) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.n.Add(1)
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(`{"error":{"message":"boom"}}`))
}

// Ctrl-C during retries: backoff sleeps end at once, no attempt is sent
// after the interruption, and every request gets one final record, of
// kind canceled, so the summary counts them as failed.
func TestInterruptStopsRetries(t *testing.T) {
	srv := &always500{}
	r, c := newRunner(t, srv, Plan{Concurrency: 3, MaxRequests: 100, Timeout: 10 * time.Second,
		Retries: 10, RetryBase: 300 * time.Millisecond, RetryCap: 5 * time.Second, Grace: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	const at = 500 * time.Millisecond
	time.AfterFunc(at, cancel)
	start := time.Now()
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > at+time.Second {
		t.Errorf("run took %s after an interrupt at %s", el, at)
	}
	if !res.Interrupted {
		t.Errorf("result %+v, want interrupted", res)
	}
	final := map[int64]int{}
	for _, rec := range c.recs {
		if rec.SentS > at.Seconds()+0.05 && rec.ErrorKind != llm.KindCanceled {
			t.Errorf("attempt %d of request %d sent at %.3fs, after the interrupt", rec.Attempt, rec.ID, rec.SentS)
		}
		if !rec.Retried {
			final[rec.ID]++
			if rec.ErrorKind != llm.KindCanceled {
				t.Errorf("final record of request %d: kind %q, want canceled", rec.ID, rec.ErrorKind)
			}
		}
	}
	ids := map[int64]bool{}
	for _, rec := range c.recs {
		ids[rec.ID] = true
	}
	for id := range ids {
		if final[id] != 1 {
			t.Errorf("request %d has %d final records, want 1", id, final[id])
		}
	}
	s := stats.Summarize(c.recs, stats.RunInfo{})
	if s.Requests.Total != len(ids) || s.Requests.Failed != len(ids) || s.ErrorsByKind[llm.KindCanceled] != len(ids) {
		t.Errorf("summary requests %+v errors %v; want %d failed, canceled", s.Requests, s.ErrorsByKind, len(ids))
	}
	if s.Retries == nil || int64(s.Retries.Attempts) != srv.n.Load() {
		t.Errorf("summary retries %+v; the server answered %d attempts", s.Retries, srv.n.Load())
	}
}

// retryAfterServer fails the first request with 503 and a Retry-After,
// then streams.
func TestRetryAfterIsCapped(t *testing.T) {
	f := &flaky{sseServer: sseServer{first: time.Millisecond, n: 2}, fail: 1, status: http.StatusServiceUnavailable, retryAfter: "3600"}
	r, c := newRunner(t, f, Plan{Concurrency: 1, MaxRequests: 1, Timeout: 5 * time.Second,
		Retries: 1, RetryBase: time.Millisecond, MaxRetryAfter: 400 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waiting := make(chan int64, 1)
	time.AfterFunc(200*time.Millisecond, func() { waiting <- r.Progress().WaitingRetryAfter })
	start := time.Now()
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second || el < 400*time.Millisecond {
		t.Errorf("run took %s; want the 400ms cap on Retry-After: 3600", el)
	}
	if w := <-waiting; w != 1 {
		t.Errorf("progress during the wait: %d waiting on Retry-After, want 1", w)
	}
	if len(c.recs) != 2 || c.recs[1].ErrorKind != "" {
		t.Fatalf("records %+v, want a retried 503 then a success", c.recs)
	}
	if r0 := c.recs[0]; r0.RetryAfterS != 3600 || r0.RetryAfterWaitS != 0.4 {
		t.Errorf("retry_after_s %g, retry_after_wait_s %g; want 3600, 0.4", r0.RetryAfterS, r0.RetryAfterWaitS)
	}
	s := stats.Summarize(c.recs, stats.RunInfo{})
	if ra := s.RetryAfter; ra == nil || ra.Waits != 1 || ra.Capped != 1 || ra.TotalWaitS != 0.4 || ra.MaxAskedS != 3600 {
		t.Errorf("summary retry_after = %+v", s.RetryAfter)
	}
}

// The default cap applies when the plan sets none.
func TestDefaultMaxRetryAfter(t *testing.T) {
	if got := (Plan{}).maxRetryAfter(); got != time.Minute {
		t.Errorf("default cap %s", got)
	}
}

// The end of --duration also ends backoff and Retry-After waits: no retry
// starts after it, and the waiting request's outcome is canceled.
func TestDurationEndsRetryWaits(t *testing.T) {
	f := &flaky{fail: 1 << 30, status: http.StatusTooManyRequests, retryAfter: "30"}
	r, c := newRunner(t, f, Plan{Concurrency: 1, Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, Retries: 5})
	start := time.Now()
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("run took %s with a 300ms duration", el)
	}
	if len(c.recs) != 2 || !c.recs[0].Retried || c.recs[1].ErrorKind != llm.KindCanceled || c.recs[1].Attempt != 1 {
		t.Fatalf("records %+v; want a retried 429 then a canceled outcome", c.recs)
	}
}
