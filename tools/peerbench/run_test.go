//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

func TestMedianCI(t *testing.T) {
	for _, c := range []struct {
		n, lo, hi int
		ok        bool
	}{
		{5, 0, 0, false}, // even min–max covers only 93.75%
		{6, 0, 5, true},  // 96.9%
		{8, 0, 7, true},  // 99.2%; the 2nd and 7th would cover only 93.0%
		{10, 1, 8, true}, // 97.9%
		{20, 5, 14, true},
	} {
		lo, hi, ok := medianCI(c.n)
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("medianCI(%d) = %d, %d, %v; want %d, %d, %v", c.n, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

// run is a measurement streaming tokens at us µs of CPU each.
func run(peer string, us float64) measurement {
	const ticksPerSample = 10 // 100 ms of CPU per sample
	tokens := int64(float64(ticksPerSample*clockTick/time.Microsecond) / us)
	m := measurement{peer: peer, c: 1000}
	for i := range int64(4) {
		m.samples = append(m.samples, rssSample{ticks: i * ticksPerSample, tokens: i * tokens})
	}
	m.st.Tokens = 3*tokens + 1
	return m
}

func TestPairedReport(t *testing.T) {
	var all []measurement
	for i, r := range []struct{ a, b float64 }{{10, 11}, {12, 10}, {9, 10}, {10, 10}, {11, 12}, {8, 10}} {
		ms := []measurement{run("llmload", r.a), run("hey", r.b)}
		if i%2 == 1 {
			ms[0], ms[1] = ms[1], ms[0]
		}
		all = append(all, ms...)
	}
	var b strings.Builder
	pairedReport(&b, all)
	out := b.String()
	for _, want := range []string{"| 1000 | llmload / hey | 0.91, 1.20, 0.90, 1.00, 0.92, 0.80 |", "| 0.91× |", "| 0.80–1.20 |", "| 5 of 6 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("paired report lacks %q:\n%s", want, out)
		}
	}
}
