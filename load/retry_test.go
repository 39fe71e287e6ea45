package load

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/ratelimit"
	"github.com/llmload/llmload/sim"
)

// flaky fails the first `fail` requests with status (and Retry-After when
// set), then streams like sseServer.
type flaky struct {
	sseServer
	fail       int64
	status     int
	retryAfter string
	seen       atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.seen.Add(1) <= f.fail {
		io.Copy(io.Discard, r.Body)
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.WriteHeader(f.status)
		io.WriteString(w, `{"error":{"message":"try later"}}`)
		return
	}
	f.sseServer.ServeHTTP(w, r)
}

func TestRetriesRecordEveryAttempt(t *testing.T) {
	f := &flaky{sseServer: sseServer{first: time.Millisecond, n: 3}, fail: 2, status: http.StatusServiceUnavailable}
	r, c := newRunner(t, f, Plan{Concurrency: 1, MaxRequests: 2, Timeout: 5 * time.Second,
		Retries: 3, RetryBase: 5 * time.Millisecond})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sort.Slice(c.recs, func(i, j int) bool {
		a, b := c.recs[i], c.recs[j]
		return a.ID < b.ID || a.ID == b.ID && a.Attempt < b.Attempt
	})
	// Request 0: two 503s retried, then a success; request 1: a success.
	want := []struct {
		id      int64
		attempt int
		retried bool
		kind    llm.ErrorKind
	}{{0, 0, true, llm.KindServer}, {0, 1, true, llm.KindServer}, {0, 2, false, ""}, {1, 0, false, ""}}
	if len(c.recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(c.recs), len(want), c.recs)
	}
	for i, w := range want {
		g := c.recs[i]
		if g.ID != w.id || g.Attempt != w.attempt || g.Retried != w.retried || g.ErrorKind != w.kind {
			t.Errorf("record %d = id %d attempt %d retried %v kind %q; want %+v", i, g.ID, g.Attempt, g.Retried, g.ErrorKind, w)
		}
		if g.ScheduledS != c.recs[0].ScheduledS && g.ID == 0 {
			t.Errorf("attempt %d of request 0 has its own schedule %.4f; attempts keep the request's", g.Attempt, g.ScheduledS)
		}
	}
}

func TestRetryHonoursRetryAfterAndSkipsClientErrors(t *testing.T) {
	f := &flaky{sseServer: sseServer{n: 1}, fail: 1, status: http.StatusTooManyRequests, retryAfter: "1"}
	r, c := newRunner(t, f, Plan{Concurrency: 1, MaxRequests: 1, Timeout: 5 * time.Second, Retries: 2, RetryBase: time.Millisecond})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 2 {
		t.Fatalf("%d records, want 2", len(c.recs))
	}
	first, second := c.recs[0], c.recs[1]
	if first.ErrorKind != llm.KindThrottled || !first.Retried {
		t.Errorf("first attempt %+v, want throttled and retried", first)
	}
	if gap := second.SentS - (first.SentS + first.E2ES); gap < 0.99 {
		t.Errorf("retried after %.3fs; the server said Retry-After: 1", gap)
	}

	bad := &flaky{fail: 100, status: http.StatusBadRequest}
	r, c = newRunner(t, bad, Plan{Concurrency: 1, MaxRequests: 1, Timeout: time.Second, Retries: 3})
	r.Run(context.Background())
	if len(c.recs) != 1 || c.recs[0].Retried {
		t.Errorf("a 400 was retried: %+v", c.recs)
	}
}

// TestLimiterKeepsRunUnderSimulatorQuota runs the same closed loop twice
// against a simulator enforcing 10 requests per (scaled) minute: without
// the client-side limiter it is throttled, with it never.
func TestLimiterKeepsRunUnderSimulatorQuota(t *testing.T) {
	const scale = 0.02 // a simulated minute lasts 1.2 s
	run := func(limit bool) (throttled, ok int) {
		r, c := simRunner(t, sim.Options{TimeScale: scale, RPM: 10}, Plan{Concurrency: 4, MaxRequests: 25, Timeout: 10 * time.Second}, 2)
		if limit {
			// A window 5% longer than the server's absorbs the send-to-arrival
			// jitter (the CLI uses a 2% margin on real one-minute windows).
			r.Limiter = ratelimit.New(10, 0, time.Duration(1.05*scale*float64(time.Minute)))
		}
		if _, err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, rec := range c.recs {
			switch {
			case rec.OK():
				ok++
			case rec.ErrorKind == llm.KindThrottled:
				throttled++
			default:
				t.Errorf("unexpected failure: %s", rec.Error)
			}
			if rec.LimiterWaitS > 0 {
				held++
			}
		}
		if limit && held == 0 {
			t.Error("the limiter never held a request back")
		}
		return throttled, ok
	}
	if th, _ := run(false); th == 0 {
		t.Fatal("without a limiter the simulator's quota should throttle some of 25 fast requests")
	}
	if th, ok := run(true); th != 0 || ok != 25 {
		t.Errorf("with the limiter: %d throttled, %d ok; want 0 and 25", th, ok)
	}
}
