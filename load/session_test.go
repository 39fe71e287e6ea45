package load

import (
	"testing"
	"time"
)

// TestThinkTime: a constant think time is exact; an exponential one has
// the mean asked for, varies, and is reproducible from the seed, the
// session and the turn.
func TestThinkTime(t *testing.T) {
	r := &Runner{ThinkTime: time.Second, Plan: Plan{Seed: 7}}
	if d := r.thinkTime(3, 2); d != time.Second {
		t.Errorf("constant: %s", d)
	}
	r.ThinkExponential = true
	var sum time.Duration
	distinct := map[time.Duration]bool{}
	const n = 20000
	for i := range n {
		d := r.thinkTime(int64(i/10), i%10+1)
		sum += d
		distinct[d] = true
	}
	if mean := sum / n; mean < 970*time.Millisecond || mean > 1030*time.Millisecond {
		t.Errorf("exponential mean %s over %d draws, want 1s ± 3%%", mean, n)
	}
	if len(distinct) < n/2 {
		t.Errorf("%d distinct pauses in %d", len(distinct), n)
	}
	if r.thinkTime(5, 3) != r.thinkTime(5, 3) || r.thinkTime(5, 3) == r.thinkTime(5, 4) {
		t.Error("not reproducible, or the same for two turns")
	}
}
