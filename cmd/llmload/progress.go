package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/stats"
)

// progress shows a run's progress: a bar redrawn every 100 ms on a
// terminal, a plain line every 5 s otherwise. It only reads snapshots, so
// it costs the measuring goroutines nothing.
type progress struct {
	w      io.Writer
	tty    bool
	runner *load.Runner
	live   *stats.Live
	done   chan struct{}
	wg     sync.WaitGroup
}

func startProgress(w io.Writer, tty bool, r *load.Runner, live *stats.Live) *progress {
	p := &progress{w: w, tty: tty, runner: r, live: live, done: make(chan struct{})}
	every := 5 * time.Second
	if tty {
		every = 100 * time.Millisecond
	}
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.done:
				p.draw(true)
				return
			}
		}
	})
	return p
}

// stop draws the final state and ends the progress goroutine; nil-safe.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}

func (p *progress) draw(final bool) {
	pr := p.runner.Progress()
	snap := p.live.Snapshot(pr.Elapsed.Seconds())
	plan := p.runner.Plan
	total := int64(plan.Warmup + plan.MaxRequests)
	var frac float64
	var counts, eta string
	// Requests done: final outcomes only (a retried attempt is not done).
	done := int64(snap.Done + snap.Warmup)
	switch {
	case plan.MaxRequests > 0:
		frac = float64(done) / float64(total)
		counts = fmt.Sprintf("%d/%d", done, total)
		if done > 0 && done < total {
			left := time.Duration(float64(pr.Elapsed) / float64(done) * float64(total-done))
			eta = " ETA " + round(left)
		}
		if plan.Duration > 0 {
			frac = max(frac, float64(pr.Elapsed)/float64(plan.Duration))
		}
	default:
		frac = float64(pr.Elapsed) / float64(plan.Duration)
		counts = fmt.Sprintf("%d done", done)
		if left := plan.Duration - pr.Elapsed; left > 0 {
			eta = " ETA " + round(left)
		}
	}
	frac = min(max(frac, 0), 1)
	line := fmt.Sprintf("%s  errors %d  in flight %d  %s%s  TTFT p50 %s  %.0f output tok/s",
		counts, snap.Errors, pr.InFlight, round(pr.Elapsed), eta, ms(snap.TTFTP50), snap.OutputTokensPerS)
	if pr.WaitingRetryAfter > 0 {
		line += fmt.Sprintf("  %d waiting on Retry-After", pr.WaitingRetryAfter)
	}
	if !p.tty {
		fmt.Fprintf(p.w, "progress: %s\n", line)
		return
	}
	const width = 24
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %3.0f%% %s", bar, frac*100, line)
	if final {
		fmt.Fprintln(p.w)
	}
}

func round(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func ms(s float64) string {
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fms", s*1000)
}
