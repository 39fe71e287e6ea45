package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/llmload/llmload/analysis"
)

// writeKnees writes the knees of a sweep under its table: one line per
// method, where it put the knee and why, the coarse-level warnings, and
// the levels to add.
func writeKnees(w io.Writer, ss *analysis.SweepSummary) {
	knees := ss.Knees
	if ss.Knee != nil {
		knees = []analysis.Knee{*ss.Knee}
	}
	for _, k := range knees {
		title := "knee"
		if k.Group != "" {
			title += " of " + k.Group
		}
		fmt.Fprintf(w, "%s (output tok/s against level, %d levels; docs/metrics.md#the-knee):\n", title, k.Levels)
		for _, m := range k.Methods {
			at := "not found"
			if m.Found {
				at = fmt.Sprintf("level %s: %s tok/s", levelText(m.Level), num(m.OutputTokensPerS))
			}
			fmt.Fprintf(w, "  %-13s %s — %s\n", m.Method, at, m.Detail)
			if m.Coarse != "" {
				fmt.Fprintf(w, "  %-13s levels too coarse: %s%s\n", "", m.Coarse, addLevels(m.SuggestLevels))
			}
		}
		if len(k.SuggestLevels) > 0 {
			fmt.Fprintf(w, "  to place the knee, add levels %s\n", joinLevels(k.SuggestLevels))
		}
	}
}

func levelText(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func joinLevels(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = levelText(v)
	}
	return strings.Join(s, ", ")
}

func addLevels(vs []float64) string {
	if len(vs) == 0 {
		return ""
	}
	return "; add " + joinLevels(vs)
}
