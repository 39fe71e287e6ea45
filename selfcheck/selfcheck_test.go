package selfcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A short self-check at concurrency 1 and 50 runs the real path, pairs
// every response with the server's record, reports errors under a
// generous bound, and its JSON and table render. The bound is generous
// because CI machines are shared and busy (the race detector makes it
// larger still); it still catches the failure selfcheck exists for
// (TTFT hundreds of ms late, ITL collapsed to 0).
func TestSelfcheckSmall(t *testing.T) {
	bound := 100 * time.Millisecond
	if raceEnabled {
		bound = 300 * time.Millisecond
	}
	const tokens = 10
	var started []int
	res, err := Run(context.Background(), Options{
		Levels:   []int{50, 1}, // run in increasing order whatever the order given
		Duration: 300 * time.Millisecond,
		TTFT:     100 * time.Millisecond,
		ITL:      20 * time.Millisecond,
		Tokens:   tokens,
		MaxError: bound,
		Dir:      t.TempDir(),
		Started:  func(c int) { started = append(started, c) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Levels) != 2 || res.Levels[0].Concurrency != 1 || res.Levels[1].Concurrency != 50 || len(started) != 2 {
		t.Fatalf("levels %+v, started %v", res.Levels, started)
	}
	for _, l := range res.Levels {
		t.Logf("c=%d: %d requests, TTFT err %+v, ITL err %+v, E2E err %+v, %.1f µs/token, %.1f KiB/stream, limited %v",
			l.Concurrency, l.Requests, l.TTFT, l.ITL, l.E2E, l.CPUPerTokenUS, l.MemoryPerStreamKiB, l.ClientLimited)
		if l.Requests < l.Concurrency || l.Failed != 0 || l.Unmatched != 0 {
			t.Errorf("c=%d: %d requests, %d failed, %d unpaired", l.Concurrency, l.Requests, l.Failed, l.Unmatched)
		}
		if l.ITL.Count != l.Requests*(tokens-1) || l.Tokens != l.Requests*tokens {
			t.Errorf("c=%d: %d ITL values, %d tokens for %d requests", l.Concurrency, l.ITL.Count, l.Tokens, l.Requests)
		}
		for name, e := range map[string]Errors{"TTFT": l.TTFT, "ITL": l.ITL, "E2E": l.E2E} {
			if e.P99 > bound.Seconds() || e.P50 > e.P99 || e.P99 > e.Max {
				t.Errorf("c=%d: %s error %+v", l.Concurrency, name, e)
			}
		}
		// What llmload reported is the server's timing, to within the bound.
		if d := l.MeasuredTTFTP50S - 0.100; d < 0 || d > bound.Seconds() {
			t.Errorf("c=%d: measured TTFT p50 %g s", l.Concurrency, l.MeasuredTTFTP50S)
		}
		if l.CPUPerTokenUS <= 0 || l.Health == nil {
			t.Errorf("c=%d: CPU per token %g, health %v", l.Concurrency, l.CPUPerTokenUS, l.Health)
		}
	}
	if res.Levels[1].MemoryPerStreamKiB <= 0 {
		t.Errorf("memory per stream %g KiB at c=50", res.Levels[1].MemoryPerStreamKiB)
	}

	path := filepath.Join(t.TempDir(), "selfcheck.json")
	if err := WriteJSON(path, res); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("selfcheck JSON does not parse: %v\n%s", err, b)
	}
	if len(back.Levels) != 2 || back.Levels[1].ITL != res.Levels[1].ITL || back.MaxErrorS != bound.Seconds() {
		t.Errorf("round trip: %+v", back)
	}
	var buf bytes.Buffer
	if err := Table(&buf, res); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "concurrency") || !strings.Contains(out, "verdict") {
		t.Errorf("table:\n%s", out)
	}
	t.Logf("\n%s", buf.String())
}

// A level needing more open files than the process may have is skipped,
// saying why, and ends what the machine sustains.
func TestSelfcheckOpenFileLimit(t *testing.T) {
	limit := openFileLimit()
	if limit == 0 || limit > 1<<24 {
		t.Skip("no usable open-file limit here")
	}
	c := int(limit) // twice the files the limit allows
	res, err := Run(context.Background(), Options{Levels: []int{c}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Levels) != 1 || !strings.Contains(res.Levels[0].Skipped, "ulimit -n") || res.MaxSustained != 0 {
		t.Fatalf("%+v", res.Levels)
	}
}

// Spread phases: response k's schedule is shifted by Phase(k, ITL),
// phases of consecutive responses fall evenly over the gap, and a level
// run with them pairs every response and reports the phases.
func TestSelfcheckSpreadPhases(t *testing.T) {
	const itl = 20 * time.Millisecond
	var bins [10]int
	for k := uint64(1); k <= 1000; k++ {
		p := Phase(k, itl)
		if p < 0 || p >= itl {
			t.Fatalf("Phase(%d) = %v, outside [0, %v)", k, p, itl)
		}
		bins[int(p*10/itl)]++
	}
	for i, n := range bins {
		if n < 90 || n > 110 {
			t.Errorf("phases of 1,000 responses: %d in tenth %d of the gap, want about 100 (%v)", n, i, bins)
		}
	}

	bound := 100 * time.Millisecond
	if raceEnabled {
		bound = 300 * time.Millisecond
	}
	res, err := Run(context.Background(), Options{
		Levels: []int{20}, Duration: 200 * time.Millisecond, TTFT: 50 * time.Millisecond, ITL: itl,
		Tokens: 5, MaxError: bound, Dir: t.TempDir(), Phases: PhasesSpread,
	})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Levels[0]
	if res.Phases != PhasesSpread || l.Requests < 20 || l.Failed != 0 || l.Unmatched != 0 || l.TTFT.P99 > bound.Seconds() {
		t.Fatalf("phases %q, level %+v", res.Phases, l)
	}
	// The phases of responses 1–20 have a median near half the gap.
	if l.MeasuredTTFTP50S < (50*time.Millisecond + itl/4).Seconds() {
		t.Errorf("TTFT p50 %.1f ms with spread phases: the schedules were not shifted", 1000*l.MeasuredTTFTP50S)
	}
	if _, err := Run(context.Background(), Options{Levels: []int{1}, Phases: "sometimes"}); err == nil {
		t.Error("phases \"sometimes\" accepted")
	}
}

// An error is how far a measured value lies outside the interval the
// server's clock readings around its write allow: 0 within it.
func TestOutside(t *testing.T) {
	for _, c := range []struct{ x, lo, hi, want float64 }{
		{2, 1, 3, 0}, {1, 1, 3, 0}, {3, 1, 3, 0}, {0.5, 1, 3, 0.5}, {5, 1, 3, 2},
	} {
		if got := outside(c.x, c.lo, c.hi); got != c.want {
			t.Errorf("outside(%g, [%g, %g]) = %g, want %g", c.x, c.lo, c.hi, got, c.want)
		}
	}
}
