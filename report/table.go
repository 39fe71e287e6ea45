package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

// Table writes the final console summary of a run: who and what was
// measured, the window and why it stopped, a schedule-lag warning when the
// summary carries one, a client-limited warning when the client health
// says so, a compact aligned table of the metrics (mean, p50,
// p90, p99; latencies in ms, speeds in tokens/s), then throughput,
// concurrency, errors by kind, the client's health, token-count provenance and, when present,
// goodput, the server-reported timings and the split by prompt set.
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
	if r.Sim != nil {
		line(bw, "simulator", simLine(r.Sim))
	}
	var load []string
	switch {
	case r.Mode == "concurrency" && r.Concurrency > 0:
		load = append(load, fmt.Sprintf("closed loop, concurrency %d", r.Concurrency))
	case r.Mode == "rate" && r.Rate > 0:
		rate := fmt.Sprintf("open loop, rate %s req/s", strconv.FormatFloat(r.Rate, 'g', 6, 64))
		if r.Arrival != "" {
			rate += " " + r.Arrival
		}
		load = append(load, rate)
		if r.MaxConcurrency > 0 {
			load = append(load, fmt.Sprintf("max concurrency %d", r.MaxConcurrency))
		}
	case r.Mode != "":
		load = append(load, r.Mode)
		if r.BatchSize > 0 {
			load = append(load, fmt.Sprintf("batch size %d", r.BatchSize))
		} else if r.Concurrency > 0 {
			load = append(load, fmt.Sprintf("concurrency %d", r.Concurrency))
		}
		if r.BatchIntervalS > 0 {
			load = append(load, fmt.Sprintf("every %s s", strconv.FormatFloat(r.BatchIntervalS, 'g', 6, 64)))
		}
		if r.Batches > 0 {
			load = append(load, fmt.Sprintf("%d batches", r.Batches))
		}
	}
	if r.RampS > 0 {
		load = append(load, fmt.Sprintf("ramp %s s", strconv.FormatFloat(r.RampS, 'g', 6, 64)))
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
	if c := s.Cost; c != nil {
		var parts []string
		if t := c.Token; t != nil {
			parts = append(parts, fmt.Sprintf("%s per request (%s: %s of it the system prompt; hidden %s retried, %s failed), %s per 1M output tokens",
				money(t.CostPerRequest), c.PriceModel, money(t.SystemPromptPerRequest), money(t.RetriedPerRequest), money(t.FailedPerRequest), money(t.CostPer1MOutputTokens)))
		}
		if c.InstanceCostPer1MOutputTokens != nil {
			parts = append(parts, fmt.Sprintf("instances %s per 1M output tokens", money(*c.InstanceCostPer1MOutputTokens)))
		}
		if len(parts) > 0 {
			line(bw, "cost", strings.Join(parts, "; "))
		}
	}
	if s.ScheduleLagWarning != "" {
		line(bw, "WARNING", s.ScheduleLagWarning)
	}
	if h := s.ClientHealth; h != nil && h.ClientLimited {
		line(bw, "WARNING", h.Warning)
	}
	for _, w := range s.Warnings {
		line(bw, "WARNING", w)
	}
	fmt.Fprintln(bw)

	m := s.Metrics
	rows := []struct {
		name  string
		d     stats.Dist
		scale float64
		unit  string
	}{
		{ttftName(r.Stream), m.TTFT, 1000, "ms"},
		{"E2E latency", m.E2E, 1000, "ms"},
		{"ITL", m.ITL, 1000, "ms"},
		{"TPOT", m.TPOT, 1000, "ms"},
		{"output speed (1/TPOT)", m.OutputSpeed, 1, "tok/s"},
		{"request output throughput", m.RequestOutputThroughput, 1, "tok/s"},
		{"input tokens", m.InputTokens, 1, "tok"},
		{"output tokens", m.OutputTokens, 1, "tok"},
		{"schedule lag", m.ScheduleLag, 1000, "ms"},
	}
	if r.API == "embeddings" {
		// No output: the output rows would be empty, not zero.
		rows = slices.DeleteFunc(rows, func(row struct {
			name  string
			d     stats.Dist
			scale float64
			unit  string
		}) bool {
			return row.name != "E2E latency" && row.name != "input tokens" && row.name != "schedule lag"
		})
	}
	fmt.Fprintf(bw, rowFmt, "metric", "n", "mean", "p50", "p90", "p99", "unit")
	for _, row := range rows {
		distRow(bw, row.name, row.d, row.scale, row.unit)
	}
	fmt.Fprintln(bw)

	if rs := s.Reasoning; rs != nil && rs.Requests > 0 {
		line(bw, "reasoning", fmt.Sprintf("%d of %d requests; first reasoning token p50 %s ms, first answer token p50 %s ms; reasoning tokens mean %s (%.0f%% of their output)",
			rs.Requests, s.Requests.Succeeded, num(1000*rs.TTFTReasoning.P50), num(1000*rs.TTFTAnswer.P50), num(rs.ReasoningTokens.Mean), 100*rs.TokenShare))
	}
	if tc := s.ToolCalls; tc != nil {
		line(bw, "tool calls", fmt.Sprintf("%d requests, %d calls; first tool-call chunk p50 %s ms", tc.Requests, tc.Calls, num(1000*tc.TTFTToolCall.P50)))
	}
	t := s.Throughput
	if r.API == "embeddings" {
		line(bw, "throughput", fmt.Sprintf("%s inputs/s, %s input tok/s, %s req/s (embeddings: no output, no TTFT or ITL)",
			num(t.InputsPerS), num(t.InputTokensPerS), num(t.RequestsPerS)))
	} else {
		line(bw, "throughput", fmt.Sprintf("%s output tok/s, %s input tok/s, %s total tok/s, %s req/s",
			num(t.OutputTokensPerS), num(t.InputTokensPerS), num(t.TotalTokensPerS), num(t.RequestsPerS)))
	}
	line(bw, "concurrency", fmt.Sprintf("mean %s, max %d", num(s.Concurrency.Mean), s.Concurrency.Max))
	line(bw, "errors", errorsByKind(s.ErrorsByKind))
	if h := s.ClientHealth; h != nil {
		verdict := "healthy"
		if h.ClientLimited {
			verdict = "CLIENT-LIMITED"
		}
		line(bw, "client", verdict+": "+h.Line())
	}
	if st := s.Stamps; st != nil {
		line(bw, "arrivals", stampsLine(st))
	}
	if r := s.Retries; r != nil {
		line(bw, "retries", fmt.Sprintf("%d attempts retried (%s), which sent %d input and received %d output tokens; request e2e incl. retries p50 %s, p99 %s ms",
			r.Attempts, errorsByKind(r.ByKind), r.InputTokens, r.OutputTokens, num(1000*r.RequestE2E.P50), num(1000*r.RequestE2E.P99)))
	}
	connectionLines(bw, s)
	if l := s.Limiter; l != nil {
		line(bw, "limiter", fmt.Sprintf("held back %d attempts, %.3g s in all, at most %.3g s (--rpm/--tpm)", l.HeldAttempts, l.TotalWaitS, l.MaxWaitS))
	}
	tc := s.TokenCounts
	tok := fmt.Sprintf("counted by server %d, local %d", tc.SourceServer, tc.SourceLocal)
	if s.Requests.Succeeded == 0 {
		// Failed requests carry no usage: a "local" count would suggest the
		// server did not report one.
		tok = "none to count: no request succeeded"
	}
	if tc.InputMismatchRequests > 0 || tc.OutputMismatchRequests > 0 {
		tok += fmt.Sprintf("; server vs local: input differs in %d (mean %+.1f tok), output in %d (mean %+.1f tok)",
			tc.InputMismatchRequests, tc.MeanInputDiff, tc.OutputMismatchRequests, tc.MeanOutputDiff)
	}
	line(bw, "tokens", tok)
	extraLines(bw, s)
	if g := s.Goodput; g != nil {
		line(bw, "goodput", goodputLine(g))
	}
	if len(s.ServerTiming) > 0 {
		serverSection(bw, s)
	}
	if len(s.ByPromptSet) > 0 {
		setSection(bw, s.ByPromptSet)
	}
	if len(s.ByTurn) > 0 {
		turnSection(bw, s)
	}
	return bw.Flush()
}

// goodputLine: "3 of 6 requests (50.0%) met every SLO, 0.750 req/s;
// met ttft<=500ms 4, tpot<=100ms 3".
func goodputLine(g *stats.Goodput) string {
	out := fmt.Sprintf("%d of %d requests (%.1f%%) met every SLO, %s req/s", g.Met, g.Requests, 100*g.Share, num(g.RatePerS))
	if len(g.SLOs) > 0 {
		parts := make([]string, len(g.SLOs))
		for i, slo := range g.SLOs {
			parts[i] = fmt.Sprintf("%s %d", slo, g.ByObjective[slo])
		}
		out += "; met " + strings.Join(parts, ", ")
	}
	return out
}

// serverSection lists the server-reported timings like the metrics, and,
// when the server reported a whole-request latency for exactly the
// requests the client's E2E covers, the client-side overhead.
func serverSection(w io.Writer, s *stats.Summary) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, rowFmt, "server-reported", "n", "mean", "p50", "p90", "p99", "unit")
	for _, k := range stats.SortedKeys(s.ServerTiming) {
		distRow(w, k, s.ServerTiming[k], 1000, "ms")
	}
	e2e := s.Metrics.E2E
	for _, k := range []string{"latency_s", "total_s"} {
		d, ok := s.ServerTiming[k]
		if !ok || d.Count != e2e.Count || e2e.Count == 0 {
			continue
		}
		// Same requests on both sides, so the difference of the means is
		// the mean of the per-request differences (percentiles would not be).
		line(w, "overhead", fmt.Sprintf("client E2E − server %s: mean %s ms (network, queueing, client)",
			k, num(1000*(e2e.Mean-d.Mean))))
		break
	}
}

// setSection is one compact row per prompt set.
func setSection(w io.Writer, sets map[string]stats.SetSummary) {
	const f = "%-16s %8s %6s %7s %10s %10s %10s %10s %10s %9s\n"
	fmt.Fprintln(w)
	fmt.Fprintf(w, f, "prompt set", "requests", "ok", "err%", "TTFT p50", "TTFT p99", "E2E p50", "E2E p99", "TPOT p50", "out tok")
	ms := func(d stats.Dist, v float64) string {
		if d.Count == 0 {
			return "-"
		}
		return num(1000 * v)
	}
	for _, name := range stats.SortedKeys(sets) {
		ss := sets[name]
		out := "-"
		if ss.OutputTokens.Count > 0 {
			out = num(ss.OutputTokens.Mean)
		}
		fmt.Fprintf(w, f, name, fmt.Sprint(ss.Requests), fmt.Sprint(ss.Succeeded), fmt.Sprintf("%.1f", 100*ss.ErrorRate),
			ms(ss.TTFT, ss.TTFT.P50), ms(ss.TTFT, ss.TTFT.P99), ms(ss.E2E, ss.E2E.P50), ms(ss.E2E, ss.E2E.P99),
			ms(ss.TPOT, ss.TPOT.P50), out)
	}
	fmt.Fprintf(w, "%-16s latencies in ms; out tok: mean output tokens\n", "")
}

// turnSection prints the per-turn table of multi-turn sessions.
func turnSection(w io.Writer, s *stats.Summary) {
	const f = "%-6s %8s %6s %10s %10s %10s %10s %10s\n"
	fmt.Fprintln(w)
	if ss := s.Sessions; ss != nil {
		txt := fmt.Sprintf("%d, %d completed every turn; turns per session mean %.1f, max %.0f",
			ss.Sessions, ss.Completed, ss.Turns.Mean, ss.Turns.Max)
		if ss.Duration.Count > 0 {
			txt += fmt.Sprintf("; a completed session took p50 %s s", num(ss.Duration.P50))
		}
		line(w, "sessions", txt)
	}
	fmt.Fprintf(w, f, "turn", "requests", "ok", "TTFT p50", "TTFT p90", "E2E p50", "in tok", "cached")
	for _, t := range s.ByTurn {
		ms := func(d stats.Dist, v float64) string {
			if d.Count == 0 {
				return "-"
			}
			return num(1000 * v)
		}
		mean := func(d stats.Dist) string {
			if d.Count == 0 {
				return "-"
			}
			return num(d.Mean)
		}
		fmt.Fprintf(w, f, fmt.Sprint(t.Turn), fmt.Sprint(t.Requests), fmt.Sprint(t.Succeeded),
			ms(t.TTFT, t.TTFT.P50), ms(t.TTFT, t.TTFT.P90), ms(t.E2E, t.E2E.P50), mean(t.InputTokens), mean(t.CachedInputTokens))
	}
	fmt.Fprintf(w, "%-6s latencies in ms; in tok, cached: mean prompt tokens of the turn and of them served from the server's cache\n", "")
}

// rowFmt lays out a metric row: name, n, mean, p50, p90, p99, unit.
const rowFmt = "%-26s %7s %10s %10s %10s %10s  %s\n"

// distRow writes one metric row, values times scale.
func distRow(w io.Writer, name string, d stats.Dist, scale float64, unit string) {
	cells := [4]string{"-", "-", "-", "-"}
	if d.Count > 0 {
		for i, v := range []float64{d.Mean, d.P50, d.P90, d.P99} {
			cells[i] = num(v * scale)
		}
	}
	fmt.Fprintf(w, rowFmt, name, fmt.Sprint(d.Count), cells[0], cells[1], cells[2], cells[3], unit)
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

// ttftName labels the TTFT row: without streaming the first output text is
// the whole response, so TTFT equals E2E latency.
func ttftName(stream bool) string {
	if stream {
		return "TTFT"
	}
	return "TTFT (= E2E, no stream)"
}

// simLine describes a simulated target, saying plainly when its clock is
// not real time: every latency below is then scaled with it.
func simLine(si *stats.SimInfo) string {
	txt := si.Profile
	if si.Description != "" {
		txt += " (" + si.Description + ")"
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	switch ts := si.TimeScale; {
	case ts > 0 && ts < 1:
		txt += fmt.Sprintf("; TIME SCALE %s: runs %s× faster than the modelled hardware, so latencies are ×%s and throughputs ×%s of it", g(ts), g(1/ts), g(ts), g(1/ts))
	case ts > 1:
		txt += fmt.Sprintf("; TIME SCALE %s: runs %s× slower than the modelled hardware, so latencies are ×%s and throughputs ×%s of it", g(ts), g(ts), g(ts), g(1/ts))
	default:
		txt += ", real time"
	}
	return txt
}

// extraLines writes the requested lengths and the prompt cache, when the
// summary has them.
func extraLines(bw io.Writer, s *stats.Summary) {
	if l := s.RequestedLengths; l != nil && l.OutputTokens.Count > 0 {
		d := l.OutputTokens
		line(bw, "max_tokens", fmt.Sprintf("requested mean %.1f, p50 %.0f, min %.0f, max %.0f; clipped to the floor: %d output, %d input of %d requests",
			d.Mean, d.P50, d.Min, d.Max, l.OutputClipped, l.InputClipped, l.Requests))
	}
	if c := s.PromptCache; c != nil {
		txt := fmt.Sprintf("%d of %d input tokens (%.1f%%) served from the server's prompt cache, over %d requests reporting it",
			c.CachedInputTokens, c.InputTokens, 100*c.Share, c.Requests)
		if c.Requested != "" {
			txt += "; caching was requested: " + c.Requested
		}
		line(bw, "cache", txt)
	}
}

// money formats an amount with about four significant digits, never in
// exponent notation, without trailing zeros: 0.003523, 27.92, 0.00007895.
func money(v float64) string {
	a := math.Abs(v)
	if a == 0 || a >= 1 {
		return num(v)
	}
	s := strconv.FormatFloat(v, 'f', min(3-int(math.Floor(math.Log10(a))), 12), 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

// stampsLine says how arrivals were timed: "kernel receive time (all 30
// requests); a read's last packet waited to be read p50 0.04 ms, p90
// 0.31 ms, max 2.10 ms (each request's longest); 12 of 4,200 chunks
// (0.3%) came in one read with the next event and have its time (10 of
// them a response's last, read with its end)".
func stampsLine(st *stats.Stamps) string {
	total := st.KernelRequests + st.ReadRequests
	if st.KernelRequests == 0 {
		return fmt.Sprintf("llmload's read time (all %d requests)", total)
	}
	who := fmt.Sprintf("all %d requests", total)
	if st.ReadRequests > 0 {
		who = fmt.Sprintf("%d of %d requests, llmload's read time for the rest", st.KernelRequests, total)
	}
	line := fmt.Sprintf("kernel receive time (%s); a read's last packet waited to be read p50 %s ms, p90 %s ms, max %s ms (each request's longest); %d of %d chunks (%.1f%%) came in one read with the next event and have its time",
		who, num(1000*st.ReadLagMax.P50), num(1000*st.ReadLagMax.P90), num(1000*st.ReadLagMax.Max),
		st.BunchedChunks, st.Chunks, 100*float64(st.BunchedChunks)/float64(max(st.Chunks, 1)))
	switch {
	case st.BunchedLastChunks == 0:
	case st.BunchedLastChunks == st.BunchedChunks:
		line += " (each a response's last, read with its end)"
	default:
		line += fmt.Sprintf(" (%d of them a response's last, read with its end)", st.BunchedLastChunks)
	}
	return line
}
