package reportgen

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"gonum.org/v1/plot"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/report/chart"
)

// levelAxis labels the x axis of a sweep of kind.
func levelAxis(kind string) string {
	switch kind {
	case analysis.SweepRate:
		return "offered load (requests/s)"
	case analysis.SweepBatchSize:
		return "batch size (requests per batch)"
	}
	return "concurrency (requests in flight)"
}

// curveRows are the rows a sweep's curves plot: its levels, without an
// auto sweep's closed-loop probes when it has rate levels (a probe's level
// is the rate it measured, not one it offered).
func curveRows(rows []analysis.SweepRow) []analysis.SweepRow {
	var out []analysis.SweepRow
	for _, r := range rows {
		if r.Probe == "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return rows
	}
	return out
}

// sloLine is an SLO drawn on a sweep chart: its text and its limit in
// seconds.
type sloLine struct {
	metric, text string
	limit        float64
}

// sweepSLOs are the latency SLOs of a sweep's levels (the first level's
// that has any: every level of a sweep runs under the same SLOs).
func sweepSLOs(levels []level) []sloLine {
	for _, l := range levels {
		if l.Summary == nil || l.Summary.Goodput == nil {
			continue
		}
		var out []sloLine
		for _, t := range l.Summary.Goodput.SLOs {
			if slo, err := analysis.ParseSLO(t); err == nil && (slo.Metric() == "ttft" || slo.Metric() == "e2e") {
				out = append(out, sloLine{slo.Metric(), t, slo.Limit()})
			}
		}
		return out
	}
	return nil
}

// limitsOf are the markers of the SLOs on metrics, scaled.
func limitsOf(slos []sloLine, scale float64, metrics ...string) []chart.Marker {
	var out []chart.Marker
	for _, s := range slos {
		if slices.Contains(metrics, s.metric) {
			out = append(out, chart.Marker{Label: "SLO " + s.text, X: s.limit * scale})
		}
	}
	return out
}

// sweepFigures builds the sweep charts over series (one per group; one
// unnamed series for a plain sweep). prefix names the files (a group's
// charts get their own); slos are drawn on the latency charts.
func sweepFigures(kind, prefix, what string, series []string, by map[string][]analysis.SweepRow, slos []sloLine) ([]figure, error) {
	var figs []figure
	add := func(name string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("chart %s: %w", name, err)
		}
		figs = append(figs, figure{Name: prefix + name, Section: "sweep", Plot: p})
		return nil
	}
	x := levelAxis(kind)
	// Ticks at the levels themselves; a logarithmic axis when they span
	// more than a decade (1, 2, 4, … 512).
	var ticks []float64
	for _, g := range series {
		for _, r := range curveRows(by[g]) {
			if !slices.Contains(ticks, r.Level) {
				ticks = append(ticks, r.Level)
			}
		}
	}
	slices.Sort(ticks)
	logX := len(ticks) > 2 && ticks[0] > 0 && ticks[len(ticks)-1]/ticks[0] > 10
	if len(ticks) > 12 {
		ticks = nil
	}
	spec := func(s chart.LineSpec) chart.LineSpec {
		s.XTicks, s.LogX = ticks, logX
		return s
	}
	title := func(t string) string {
		if what != "" {
			return t + " — " + what
		}
		return t
	}
	line := func(get func(analysis.SweepRow) float64) func(string) []chart.XY {
		return func(g string) []chart.XY {
			var xy []chart.XY
			for _, r := range curveRows(by[g]) {
				xy = append(xy, chart.XY{X: r.Level, Y: get(r)})
			}
			return xy
		}
	}
	name := func(g, def string) string {
		if len(series) > 1 {
			return g
		}
		return def
	}

	// Per-request output speed: the median with its p25–p75 band.
	var ss []chart.Series
	for i, g := range series {
		rows := curveRows(by[g])
		s := chart.Series{Name: name(g, "median"), Points: line(func(r analysis.SweepRow) float64 { return r.OutputSpeedP50 })(g),
			Markers: true, Color: i, BandName: name(g, "p25–p75")}
		// Several series: medians only; overlapping bands hide each other.
		if len(series) == 1 {
			for _, r := range rows {
				s.Lo = append(s.Lo, r.OutputSpeedP25)
				s.Hi = append(s.Hi, r.OutputSpeedP75)
			}
		}
		ss = append(ss, s)
	}
	speedTitle := "Per-request output speed (1/TPOT), median and p25–p75"
	if len(series) > 1 {
		speedTitle = "Per-request output speed (1/TPOT), median"
	}
	p, err := chart.LineChart(spec(chart.LineSpec{Title: title(speedTitle), XLabel: x,
		YLabel: "output tokens/s per request", Series: ss, YFromZero: true}))
	if err := add("output_speed", p, err); err != nil {
		return nil, err
	}

	// TTFT percentiles: one chart per series (three lines each).
	if len(series) == 1 {
		g := series[0]
		ms := func(get func(analysis.SweepRow) float64) []chart.XY {
			xy := line(get)(g)
			for i := range xy {
				xy[i].Y *= 1000
			}
			return xy
		}
		p, err = chart.LineChart(spec(chart.LineSpec{Title: title("Time to first token against load"), XLabel: x, YLabel: "TTFT (ms)",
			Series: []chart.Series{
				{Name: "p50", Points: ms(func(r analysis.SweepRow) float64 { return r.TTFTP50 }), Markers: true, Color: 0},
				{Name: "p90", Points: ms(func(r analysis.SweepRow) float64 { return r.TTFTP90 }), Markers: true, Color: 1},
				{Name: "p99", Points: ms(func(r analysis.SweepRow) float64 { return r.TTFTP99 }), Markers: true, Dashed: true, Color: 5},
			}, YFromZero: true, Limits: limitsOf(slos, 1000, "ttft")}))
	} else {
		ss = nil
		for i, g := range series {
			xy := line(func(r analysis.SweepRow) float64 { return 1000 * r.TTFTP50 })(g)
			ss = append(ss, chart.Series{Name: g + " p50", Points: xy, Markers: true, Color: i})
			xy = line(func(r analysis.SweepRow) float64 { return 1000 * r.TTFTP99 })(g)
			ss = append(ss, chart.Series{Name: g + " p99", Points: xy, Dashed: true, Color: i})
		}
		p, err = chart.LineChart(spec(chart.LineSpec{Title: title("Time to first token against load (p50 solid, p99 dashed)"), XLabel: x, YLabel: "TTFT (ms)",
			Series: ss, YFromZero: true, Limits: limitsOf(slos, 1000, "ttft")}))
	}
	if err := add("ttft", p, err); err != nil {
		return nil, err
	}

	multi := func(file, t, y string, get func(analysis.SweepRow) float64, def string) error {
		var ss []chart.Series
		for i, g := range series {
			ss = append(ss, chart.Series{Name: name(g, def), Points: line(get)(g), Markers: true, Color: i})
		}
		p, err := chart.LineChart(spec(chart.LineSpec{Title: title(t), XLabel: x, YLabel: y, Series: ss, YFromZero: true}))
		return add(file, p, err)
	}
	if err := multi("throughput", "System output throughput against load", "output tokens/s",
		func(r analysis.SweepRow) float64 { return r.OutputTokensPerS }, "output tokens/s"); err != nil {
		return nil, err
	}
	if err := multi("error_rate", "Error rate against load", "failed requests (%)",
		func(r analysis.SweepRow) float64 { return 100 * r.ErrorRate }, "error rate"); err != nil {
		return nil, err
	}

	// The latency–throughput curve: each point labelled by its level.
	ss = nil
	for i, g := range series {
		var ttft, e2e []chart.XY
		var labels []string
		for _, r := range curveRows(by[g]) {
			ttft = append(ttft, chart.XY{X: r.OutputTokensPerS, Y: r.TTFTP50})
			e2e = append(e2e, chart.XY{X: r.OutputTokensPerS, Y: r.E2EP50})
			labels = append(labels, levelLabel(kind, r.Level))
		}
		prefix := cmp.Or(name(g, ""), "")
		if prefix != "" {
			prefix += " "
		}
		ss = append(ss,
			chart.Series{Name: prefix + "E2E p50", Points: e2e, Labels: labels, Markers: true, Color: i},
			chart.Series{Name: prefix + "TTFT p50", Points: ttft, Markers: true, Dashed: true, Color: i + len(series)})
	}
	p, err = chart.LineChart(chart.LineSpec{Title: title("Latency against throughput (points labelled by load)"), XLabel: "system output throughput (tokens/s)",
		YLabel: "latency p50 (s)", Series: ss, YFromZero: true, Limits: limitsOf(slos, 1, "ttft", "e2e")})
	if err := add("latency_throughput", p, err); err != nil {
		return nil, err
	}
	return figs, nil
}

// levelLabel names a level on a chart: "c8", "2.5/s", "b10" (batch size).
func levelLabel(kind string, v float64) string {
	s := strconv.FormatFloat(v, 'g', 4, 64)
	switch kind {
	case analysis.SweepRate:
		return s + "/s"
	case analysis.SweepBatchSize:
		return "b" + s
	}
	return "c" + s
}
