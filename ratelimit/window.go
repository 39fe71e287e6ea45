// Package ratelimit enforces requests-per-minute and tokens-per-minute
// quotas over a sliding window, the way managed endpoints (Bedrock, Azure
// OpenAI, gateways) count them. The simulator uses it to throttle like a
// managed endpoint; the load runner uses the same rule on the client side,
// so a run held to a quota by llmload never trips the server's quota.
//
// A token bucket (golang.org/x/time/rate) would be the usual tool, but a
// bucket with burst b and rate r admits b + r·60 s in some minute — more
// than the quota — while a sliding log admits at most the quota in every
// window, which is what "stay inside the quota" means.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Window admits at most RPM requests and TPM tokens in any window of
// length Window. Its methods are safe for concurrent use; a nil *Window
// admits everything.
type Window struct {
	rpm, tpm int
	window   time.Duration

	mu      sync.Mutex
	entries []entry // admissions inside the window, oldest first, from start
	start   int
	tokens  int // Σ live entries' tokens
}

type entry struct {
	at     time.Time
	tokens int
}

// New returns a Window for rpm requests and tpm tokens per window; a zero
// limit is no limit. Both zero returns nil (no limiting).
func New(rpm, tpm int, window time.Duration) *Window {
	if rpm <= 0 && tpm <= 0 {
		return nil
	}
	if window <= 0 {
		window = time.Minute
	}
	return &Window{rpm: rpm, tpm: tpm, window: window}
}

// Take admits a request costing tokens at now, or returns false and how
// long until enough of the window frees up. A request larger than the
// whole token quota is admitted into an empty window, since it could
// otherwise never run.
func (w *Window) Take(now time.Time, tokens int) (ok bool, retryAfter time.Duration) {
	if w == nil {
		return true, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cut := now.Add(-w.window)
	for w.start < len(w.entries) && !w.entries[w.start].at.After(cut) {
		w.tokens -= w.entries[w.start].tokens
		w.start++
	}
	if w.start > 1024 && w.start*2 > len(w.entries) {
		w.entries = append(w.entries[:0], w.entries[w.start:]...)
		w.start = 0
	}
	live := w.entries[w.start:]
	fits := func(dropped, droppedTokens int) bool {
		n := len(live) - dropped
		return (w.rpm <= 0 || n+1 <= w.rpm) && (w.tpm <= 0 || w.tokens-droppedTokens+tokens <= w.tpm || n == 0)
	}
	if fits(0, 0) {
		w.entries = append(w.entries, entry{at: now, tokens: tokens})
		w.tokens += tokens
		return true, 0
	}
	// Wait until enough old admissions leave the window.
	freed := 0
	for i, e := range live {
		freed += e.tokens
		if fits(i+1, freed) {
			return false, max(e.at.Add(w.window).Sub(now), time.Millisecond)
		}
	}
	return false, w.window // unreachable: an empty window always fits
}

// Wait blocks until a request costing tokens is admitted or ctx ends, and
// returns how long it waited.
func (w *Window) Wait(ctx context.Context, tokens int) (time.Duration, error) {
	if w == nil {
		return 0, nil
	}
	begin := time.Now()
	for first := true; ; first = false {
		ok, after := w.Take(time.Now(), tokens)
		if ok && first {
			return 0, nil // admitted at once: not held back
		}
		if ok {
			return time.Since(begin), nil
		}
		t := time.NewTimer(after)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return time.Since(begin), ctx.Err()
		}
	}
}
