package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmload/llmload/analysis"
)

// TestSweepKneeAndCost runs a small sweep on the simulator with a price
// and an SLO: sweep.json has a knee by every method and each row's cost
// per 1M output tokens, price × 1e6 / (tok/s × 3600); the console prints
// both.
func TestSweepKneeAndCost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	st, stdout, stderr := runCLI(t, nil, "run", "--concurrency", "1,2,4", "--max-requests", "8", "--mean-output-tokens", "16",
		"--sim-time-scale", "0.02", "--slo", "ttft<=5s", "--price-per-hour", "1.212", "--instances", "2",
		"--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ss analysis.SweepSummary
	if err := json.Unmarshal(b, &ss); err != nil {
		t.Fatal(err)
	}
	if ss.Knee == nil || len(ss.Knee.Methods) != 4 || ss.Knee.Levels != 3 {
		t.Fatalf("knee: %s", b)
	}
	if g := ss.Knee.Methods[0]; g.Method != analysis.KneeTarget || !g.Found {
		t.Errorf("target with ttft<=5s: %+v", g)
	}
	for _, r := range ss.Rows {
		want := 2 * 1.212 * 1e6 / (r.OutputTokensPerS * 3600)
		if r.CostPer1MOutputTokens == nil || *r.CostPer1MOutputTokens != want || r.TTFTP95 <= 0 || r.E2EP95 <= 0 {
			t.Errorf("row %v: cost %v, want %g; p95s %g %g", r.Level, r.CostPer1MOutputTokens, want, r.TTFTP95, r.E2EP95)
		}
	}
	// At time scale 0.02 the costs are the sped-up clock's, 50× too low:
	// the console says so.
	for _, want := range []string{"knee (output tok/s against level, 3 levels", "  curvature ", "cost per 1M output tokens",
		"WARNING: the simulator ran at time scale 0.02", "read 50× too low"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("console lacks %q:\n%s", want, stdout)
		}
	}
	if st, _, _ := runCLI(t, nil, "run", "--price-per-hour", "-1", "--dry-run"); st != exitUsage {
		t.Errorf("a negative price: status %d", st)
	}
}
