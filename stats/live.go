package stats

import (
	"math"
	"slices"
	"sync"

	"github.com/llmload/llmload/record"
)

// Live keeps an approximate, bounded-memory view of a run in progress, for
// a progress bar. It is safe for concurrent use; the zero value is ready.
//
// It is approximate by design: TTFTP50 is the median of the last
// liveTTFTs successful requests only, and OutputTokensPerS counts tokens in
// one-second buckets by the second in which each request ended. The final
// summary (Summarize) is exact and computed from the records; never report
// Live's numbers as results.
type Live struct {
	mu      sync.Mutex
	done    int
	errors  int
	warmup  int
	ttfts   [liveTTFTs]float64
	nTTFT   int // TTFTs ever added; the ring holds the last min(nTTFT, liveTTFTs)
	buckets [liveBuckets]liveBucket
}

const (
	liveTTFTs   = 2048 // TTFTs kept for the median
	liveWindowS = 10   // seconds over which OutputTokensPerS is measured
	liveBuckets = 16   // one-second buckets of output tokens, > liveWindowS
)

type liveBucket struct {
	sec    int64 // the second [sec, sec+1) whose request ends it counts
	used   bool  // sec is set
	tokens int   // output tokens of successful requests ending in it
}

// LiveSnapshot is Live's view at one instant.
type LiveSnapshot struct {
	// Done and Errors count non-warm-up requests ended, and those failed.
	Done   int
	Errors int
	// Warmup counts warm-up requests ended (excluded from everything else).
	Warmup int
	// TTFTP50 is the median TTFT, seconds, of the last 2048 successful
	// requests that have one; 0 before the first.
	TTFTP50 float64
	// OutputTokensPerS is the output tokens of successful requests that
	// ended over about the last 10 s, per second (since the run's start
	// when it is younger than that).
	OutputTokensPerS float64
}

// Add counts a finished request. Warm-up requests are counted apart and
// feed no metric. A nil record is ignored.
func (l *Live) Add(r *record.Record) {
	if r == nil {
		return
	}
	ttft, hasTTFT := TTFT(r)
	end := r.SentS + r.E2ES
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Warmup {
		l.warmup++
		return
	}
	if r.Retried {
		return // not the request's outcome; its retry will be
	}
	l.done++
	if !r.OK() {
		l.errors++
		return
	}
	if hasTTFT {
		l.ttfts[l.nTTFT%liveTTFTs] = ttft
		l.nTTFT++
	}
	if r.OutputTokens <= 0 || math.IsNaN(end) || math.IsInf(end, 0) || end < 0 {
		return
	}
	sec := int64(math.Floor(end))
	b := &l.buckets[sec%liveBuckets]
	switch {
	case !b.used || sec > b.sec:
		*b = liveBucket{sec: sec, used: true, tokens: r.OutputTokens}
	case sec == b.sec:
		b.tokens += r.OutputTokens
		// sec < b.sec: a straggler older than the ring; dropped.
	}
}

// Snapshot returns the view at now, seconds since the run's start (the time
// base of record.Record's sent_s).
func (l *Live) Snapshot(now float64) LiveSnapshot {
	l.mu.Lock()
	s := LiveSnapshot{Done: l.done, Errors: l.errors, Warmup: l.warmup}
	k := min(l.nTTFT, liveTTFTs)
	ttfts := slices.Clone(l.ttfts[:k])
	buckets := l.buckets
	l.mu.Unlock()

	if k > 0 {
		slices.Sort(ttfts)
		s.TTFTP50 = quantileSorted(ttfts, 0.5)
	}
	if now > 0 && !math.IsInf(now, 0) {
		// Count whole buckets from lo to the current second: the window
		// [lo, now] is between liveWindowS−1 and liveWindowS long, or since
		// the start.
		cur := int64(math.Floor(now))
		lo := max(cur-(liveWindowS-1), 0)
		tokens := 0
		for _, b := range buckets {
			if b.used && b.sec >= lo && b.sec <= cur {
				tokens += b.tokens
			}
		}
		s.OutputTokensPerS = div(float64(tokens), now-float64(lo))
	}
	return s
}
