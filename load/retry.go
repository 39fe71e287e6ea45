package load

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// Retry backoff defaults: exponential from RetryBase, capped at RetryCap,
// with full jitter (a uniform draw below the exponential bound), so
// retrying clients spread out instead of stampeding a throttled server.
const (
	DefaultRetryBase = 500 * time.Millisecond
	DefaultRetryCap  = 20 * time.Second
)

// DefaultMaxRetryAfter caps how long a server's Retry-After may hold a
// retry back (Plan.MaxRetryAfter 0): a Retry-After of an hour must not
// stall a load test silently.
const DefaultMaxRetryAfter = 60 * time.Second

// retryable reports whether a failure of this kind is worth another
// attempt: throttling, overload, server errors and connection failures.
// Client errors would fail again; timeouts and cancellations mean the
// request already cost its full budget or the run is stopping.
func retryable(k llm.ErrorKind) bool {
	switch k {
	case llm.KindThrottled, llm.KindOverloaded, llm.KindServer, llm.KindConnection:
		return true
	}
	return false
}

// retryWait decides whether a failed attempt is retried and after how
// long: full-jitter exponential backoff, but never sooner than the
// server's Retry-After.
func (r *Runner) retryWait(ctx context.Context, failed *llm.Error, attempt int) (time.Duration, bool) {
	if failed == nil || attempt >= r.Plan.Retries || !retryable(failed.Kind) || ctx.Err() != nil {
		return 0, false
	}
	base, limit := r.Plan.RetryBase, r.Plan.RetryCap
	if base <= 0 {
		base = DefaultRetryBase
	}
	if limit <= 0 {
		limit = DefaultRetryCap
	}
	bound := min(limit, base<<min(attempt, 30))
	wait := time.Duration(rand.Int64N(int64(bound) + 1))
	return max(wait, min(failed.RetryAfter, r.Plan.maxRetryAfter())), true
}

func (p Plan) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter > 0 {
		return p.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

// noteRetryAfter records on a retried attempt the Retry-After its error
// carried and the wait before the next attempt.
func (r *Runner) noteRetryAfter(rec *record.Record, failed *llm.Error, again bool, wait time.Duration) {
	if !again || failed == nil || failed.RetryAfter <= 0 {
		return
	}
	rec.RetryAfterS = failed.RetryAfter.Seconds()
	rec.RetryAfterWaitS = wait.Seconds()
}

// sleepCtx2 sleeps for d; false if ctx or interrupt ended first.
func sleepCtx2(ctx, interrupt context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil && interrupt.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-interrupt.Done():
		return false
	}
}
