package stats

import (
	"math"

	"github.com/llmload/llmload/record"
)

// RetryAfter describes the waits on a server's Retry-After before retries
// (non-warm-up attempts).
type RetryAfter struct {
	// Waits counts retried attempts whose next attempt waited on a
	// Retry-After; Capped those whose Retry-After was longer than the
	// cap (--max-retry-after) and was cut to it.
	Waits  int `json:"waits"`
	Capped int `json:"capped"`
	// TotalWaitS and MaxWaitS are the waits, seconds; MaxAskedS the
	// longest Retry-After a server asked for, seconds.
	TotalWaitS float64 `json:"total_wait_s"`
	MaxWaitS   float64 `json:"max_wait_s"`
	MaxAskedS  float64 `json:"max_asked_s"`
}

// retryAfter summarizes Retry-After waits; nil when there were none.
func retryAfter(recs []record.Record) *RetryAfter {
	var ra RetryAfter
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.RetryAfterS <= 0 {
			continue
		}
		ra.Waits++
		if r.RetryAfterWaitS < r.RetryAfterS {
			ra.Capped++
		}
		ra.TotalWaitS += r.RetryAfterWaitS
		ra.MaxWaitS = math.Max(ra.MaxWaitS, r.RetryAfterWaitS)
		ra.MaxAskedS = math.Max(ra.MaxAskedS, r.RetryAfterS)
	}
	if ra.Waits == 0 {
		return nil
	}
	return &ra
}
