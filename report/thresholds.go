package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/llmload/llmload/analysis"
)

// Thresholds writes one line per threshold result, in order:
//
//	✓ PASS ttft_p95 < 500ms: measured 412.3ms
//	✗ FAIL ttft_p95 < 500ms: measured 712.3ms
//	✗ FAIL tpot_p95 < 80ms: no data: no successful streamed request had more than one output token
//
// then a closing line counting the failures. It writes nothing for no
// results.
func Thresholds(w io.Writer, results []analysis.ThresholdResult) error {
	if len(results) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	failed := 0
	for _, r := range results {
		mark, verdict := "✓", "PASS"
		if !r.Pass {
			mark, verdict = "✗", "FAIL"
			failed++
		}
		what := "measured " + r.Measured
		if r.Measured == "" {
			what = r.Note
		}
		fmt.Fprintf(bw, "%s %s %s %s %s: %s\n", mark, verdict, r.Metric, r.Op, r.Bound, what)
	}
	if failed == 0 {
		fmt.Fprintf(bw, "thresholds: all %d passed\n", len(results))
	} else {
		fmt.Fprintf(bw, "thresholds: %d of %d failed\n", failed, len(results))
	}
	return bw.Flush()
}
