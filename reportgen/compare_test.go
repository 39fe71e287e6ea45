package reportgen

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/llmload/llmload/analysis"
)

// compareFixture is a small study: small prompts at batch sizes 1, 10 and
// 30, large ones at 1, 10 and 50 (so 30 and 50 each lack one side), and a
// level where the baseline failed every request (throughput 0: no
// difference can be computed).
func compareFixture() []Series {
	row := func(level, out, speed, ttft50, ttft99, e2e50, errRate float64) analysis.SweepRow {
		return analysis.SweepRow{Level: level, OutputTokensPerS: out, OutputSpeedP50: speed, TTFTP50: ttft50, TTFTP99: ttft99,
			E2EP50: e2e50, E2EP99: 1.5 * e2e50, RequestsPerS: out / 350, ErrorRate: errRate}
	}
	return []Series{
		{Name: "small", Dir: "results/study", Kind: analysis.SweepBatchSize, Model: "m", Rows: []analysis.SweepRow{
			row(1, 40, 40, 0.2, 0.25, 8.9, 0), row(10, 380, 38, 0.3, 0.5, 9.5, 0), row(30, 0, 0, 0, 0, 0, 1)}},
		{Name: "large", Dir: "results/study", Kind: analysis.SweepBatchSize, Model: "m", Rows: []analysis.SweepRow{
			row(1, 36, 38, 0.9, 1.1, 10.1, 0), row(10, 300, 30, 2.5, 4.75, 14.2, 0.1), row(50, 700, 14, 12, 20, 37, 0.25)}},
	}
}

// compare.md and compare.csv of the fixture match their golden files: the
// levels are the union, sorted; a missing level is "—" (empty in CSV);
// differences are against the first series.
func TestCompareGolden(t *testing.T) {
	c, err := NewComparison("llmload compare: small vs large", compareFixture())
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 10, 30, 50}; !equalFloats(c.Levels, want) {
		t.Errorf("levels %v, want %v", c.Levels, want)
	}
	var md, csvb bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := c.CSV(&csvb); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md.golden", md.Bytes())
	golden(t, "compare.csv.golden", csvb.Bytes())
	// The numbers, asserted beside the golden files: throughput at batch
	// 10 is (300 − 380)/380 = −21.05 %; TTFT p50 2500 ms is +733.3 %.
	for _, want := range []string{"| batch 10 | 380.0 | 300.0 | -21.1% |", "| batch 10 | 300.0 | 2500.0 | +733.3% |", "| batch 30 | 0.00 | — | — |", "| batch 50 | — | 700.0 | — |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("compare.md has no %q", want)
		}
	}
	if !strings.Contains(csvb.String(), "batch_size,10,output_tokens_per_s,large,300,380,-21.05\n") {
		t.Errorf("compare.csv lacks the batch-10 throughput line:\n%s", csvb.String())
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Fewer than two series, or series that vary different things, are
// refused with ErrCompare.
func TestCompareRefuses(t *testing.T) {
	s := compareFixture()
	if _, err := NewComparison("x", s[:1]); !errors.Is(err, ErrCompare) {
		t.Errorf("one series: %v", err)
	}
	s[1].Kind = analysis.SweepRate
	if _, err := NewComparison("x", s); !errors.Is(err, ErrCompare) || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("mixed kinds: %v", err)
	}
	if _, err := BuildCompare([]string{t.TempDir(), t.TempDir()}, t.TempDir(), Options{}); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("empty directories: %v", err)
	}
}
