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
	var costs []string
	for _, r := range ss.Rows {
		if r.CostPer1MOutputTokens != nil {
			costs = append(costs, fmt.Sprintf("%s%s: %s", groupPrefix(r.Group), levelText(r.Level), num(*r.CostPer1MOutputTokens)))
		}
	}
	if len(costs) > 0 {
		fmt.Fprintf(w, "cost per 1M output tokens (price per hour × instances, at each level's throughput): %s\n", strings.Join(costs, ", "))
	}
	var tokenCosts []string
	for _, r := range ss.Rows {
		if r.TokenCostPerRequest != nil && r.TokenCostPer1MOutputTokens != nil {
			tokenCosts = append(tokenCosts, fmt.Sprintf("%s%s: %s per request, %s per 1M output tokens", groupPrefix(r.Group), levelText(r.Level),
				money(*r.TokenCostPerRequest), money(*r.TokenCostPer1MOutputTokens)))
		}
	}
	if len(tokenCosts) > 0 {
		fmt.Fprintf(w, "token-priced cost (every attempt, retried and failed ones included; docs/planning.md): %s\n", strings.Join(tokenCosts, "; "))
	}
	if ss.BreakEven != nil {
		fmt.Fprintf(w, "break-even: %s\n", ss.BreakEven.Sentence)
	}
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
				if m.CostPer1MOutputTokens != nil {
					at += fmt.Sprintf(", %s per 1M output tokens", num(*m.CostPer1MOutputTokens))
				}
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

func groupPrefix(g string) string {
	if g == "" {
		return ""
	}
	return g + " "
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
