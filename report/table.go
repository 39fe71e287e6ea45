package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

// Table writes the final console summary of a run: who and what was
// measured, the window and why it stopped, a compact aligned table of the
// metrics (mean, p50, p90, p99; latencies in ms, speeds in tokens/s), then
// throughput, concurrency, errors by kind and token-count provenance.
func Table(w io.Writer, s *stats.Summary) error {
	if s == nil {
		return fmt.Errorf("table: nil summary")
	}
	bw := bufio.NewWriter(w)
	r := s.Run

	if r.Name != "" {
		line(bw, "run", r.Name)
	}
	if r.Provider != "" || r.BaseURL != "" {
		line(bw, "endpoint", strings.Trim(r.Provider+": "+r.BaseURL, ": "))
	}
	if r.Model != "" {
		line(bw, "model", r.Model)
	}
	var load []string
	switch {
	case r.Mode == "concurrency" && r.Concurrency > 0:
		load = append(load, fmt.Sprintf("closed loop, concurrency %d", r.Concurrency))
	case r.Mode != "":
		load = append(load, r.Mode)
		if r.Concurrency > 0 {
			load = append(load, fmt.Sprintf("concurrency %d", r.Concurrency))
		}
	}
	if r.API != "" {
		load = append(load, "api "+r.API)
	}
	if r.Stream {
		load = append(load, "stream")
	} else {
		load = append(load, "no stream")
	}
	line(bw, "load", strings.Join(load, ", "))

	win := fmt.Sprintf("%.3f s", s.WindowS)
	if r.StopReason != "" {
		win += ", stop: " + r.StopReason
	}
	if r.Interrupted && r.StopReason != "interrupted" {
		win += ", interrupted"
	}
	line(bw, "window", win)
	req := fmt.Sprintf("%d: %d ok, %d failed (%.1f%%)", s.Requests.Total, s.Requests.Succeeded,
		s.Requests.Failed, 100*s.ErrorRate)
	if s.Requests.WarmupExcluded > 0 {
		req += fmt.Sprintf("; %d warm-up excluded", s.Requests.WarmupExcluded)
	}
	line(bw, "requests", req)
	fmt.Fprintln(bw)

	m := s.Metrics
	rows := []struct {
		name  string
		d     stats.Dist
		scale float64
		unit  string
	}{
		{"TTFT", m.TTFT, 1000, "ms"},
		{"E2E latency", m.E2E, 1000, "ms"},
		{"ITL", m.ITL, 1000, "ms"},
		{"TPOT", m.TPOT, 1000, "ms"},
		{"output speed (1/TPOT)", m.OutputSpeed, 1, "tok/s"},
		{"request output throughput", m.RequestOutputThroughput, 1, "tok/s"},
		{"input tokens", m.InputTokens, 1, "tok"},
		{"output tokens", m.OutputTokens, 1, "tok"},
		{"schedule lag", m.ScheduleLag, 1000, "ms"},
	}
	const rowFmt = "%-26s %7s %10s %10s %10s %10s  %s\n"
	fmt.Fprintf(bw, rowFmt, "metric", "n", "mean", "p50", "p90", "p99", "unit")
	for _, row := range rows {
		cells := [4]string{"-", "-", "-", "-"}
		if row.d.Count > 0 {
			for i, v := range []float64{row.d.Mean, row.d.P50, row.d.P90, row.d.P99} {
				cells[i] = num(v * row.scale)
			}
		}
		fmt.Fprintf(bw, rowFmt, row.name, fmt.Sprint(row.d.Count), cells[0], cells[1], cells[2], cells[3], row.unit)
	}
	fmt.Fprintln(bw)

	t := s.Throughput
	line(bw, "throughput", fmt.Sprintf("%s output tok/s, %s input tok/s, %s total tok/s, %s req/s",
		num(t.OutputTokensPerS), num(t.InputTokensPerS), num(t.TotalTokensPerS), num(t.RequestsPerS)))
	line(bw, "concurrency", fmt.Sprintf("mean %s, max %d", num(s.Concurrency.Mean), s.Concurrency.Max))
	line(bw, "errors", errorsByKind(s.ErrorsByKind))
	tc := s.TokenCounts
	tok := fmt.Sprintf("counted by server %d, local %d", tc.SourceServer, tc.SourceLocal)
	if tc.InputMismatchRequests > 0 || tc.OutputMismatchRequests > 0 {
		tok += fmt.Sprintf("; server vs local: input differs in %d (mean %+.1f tok), output in %d (mean %+.1f tok)",
			tc.InputMismatchRequests, tc.MeanInputDiff, tc.OutputMismatchRequests, tc.MeanOutputDiff)
	}
	line(bw, "tokens", tok)
	return bw.Flush()
}

func line(w io.Writer, label, text string) {
	fmt.Fprintf(w, "%-12s %s\n", label, text)
}

// num formats a value with about four significant digits, never in
// exponent notation.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// errorsByKind lists kinds by descending count, then by name.
func errorsByKind(m map[llm.ErrorKind]int) string {
	if len(m) == 0 {
		return "none"
	}
	kinds := make([]llm.ErrorKind, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b llm.ErrorKind) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
