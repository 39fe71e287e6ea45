package reportgen

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report/chart"
	"github.com/llmload/llmload/stats"
)

// figure is one chart of a report: the file stem under plots/, the
// section it belongs to, and the plot to render.
type figure struct {
	Name    string // file stem: plots/<Name>.png and .svg
	Section string // "distributions", "boxes", "time", "lag", "sweep"
	Plot    *plot.Plot
	// SVG is the rendered SVG, inlined into report.html.
	SVG string
}

// maxTimePoints is how many points a time series keeps (LTTB).
const maxTimePoints = 1500

// timeBuckets is about how many buckets the per-bucket charts use.
const timeBuckets = 100

// values are the per-request values of a run's charts, from its records:
// successful, non-warm-up final attempts (ITL pooled over their gaps).
type values struct {
	ttft, e2e, tpot, itl, speed, in, out []float64
}

func collect(recs []record.Record) values {
	var v values
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried || !r.OK() {
			continue
		}
		if t, ok := stats.TTFT(r); ok {
			v.ttft = append(v.ttft, 1000*t)
		}
		v.e2e = append(v.e2e, r.E2ES)
		if r.Stream {
			for j := 1; j < len(r.ChunkTimesS); j++ {
				v.itl = append(v.itl, 1000*(r.ChunkTimesS[j]-r.ChunkTimesS[j-1]))
			}
		}
		if tp, ok := stats.TPOT(r); ok {
			v.tpot = append(v.tpot, 1000*tp)
		}
		if sp, ok := stats.OutputSpeed(r); ok {
			v.speed = append(v.speed, sp)
		}
		v.in = append(v.in, float64(r.InputTokens))
		v.out = append(v.out, float64(r.OutputTokens))
	}
	return v
}

// sloLimits returns the SLO markers for one metric, in the unit of its
// chart (scale converts from the base unit).
func sloLimits(s *stats.Summary, metric string, scale float64, unit string) []chart.Marker {
	if s.Goodput == nil {
		return nil
	}
	var out []chart.Marker
	for _, t := range s.Goodput.SLOs {
		slo, err := analysis.ParseSLO(t)
		if err != nil || slo.Metric() != metric {
			continue
		}
		out = append(out, chart.Marker{Label: fmt.Sprintf("SLO %s (%s %s)", t, trim(slo.Limit()*scale), unit), X: slo.Limit() * scale})
	}
	return out
}

// runFigures builds every chart of a run.
func runFigures(d *runData) ([]figure, error) {
	s := d.Summary
	m := s.Metrics
	v := collect(d.Records)
	var figs []figure
	add := func(name, section string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("chart %s: %w", name, err)
		}
		figs = append(figs, figure{Name: name, Section: section, Plot: p})
		return nil
	}
	hists := []struct {
		name, title, label string
		xs                 []float64
		d                  stats.Dist
		scale              float64
		slo                string
		sloScale           float64
		sloUnit            string
	}{
		{"ttft_hist", "Time to first token", "TTFT (ms)", v.ttft, m.TTFT, 1000, "ttft", 1000, "ms"},
		{"e2e_hist", "End-to-end latency", "E2E latency (s)", v.e2e, m.E2E, 1, "e2e", 1, "s"},
		{"tpot_hist", "Time per output token", "TPOT (ms)", v.tpot, m.TPOT, 1000, "tpot", 1000, "ms"},
		{"itl_hist", "Inter-token latency (gaps between chunks)", "ITL (ms)", v.itl, m.ITL, 1000, "", 1000, "ms"},
		{"output_speed_hist", "Per-request output speed (1/TPOT)", "output speed (tokens/s per request)", v.speed, m.OutputSpeed, 1, "output_speed", 1, "tok/s"},
		{"input_tokens_hist", "Input tokens per request", "input tokens", v.in, m.InputTokens, 1, "", 1, ""},
		{"output_tokens_hist", "Output tokens per request", "output tokens", v.out, m.OutputTokens, 1, "", 1, ""},
	}
	if len(d.Records) > 0 {
		for _, h := range hists {
			p, err := chart.Histogram(chart.HistSpec{
				Title: h.title, XLabel: h.label, Values: h.xs,
				Mean: h.d.Mean * h.scale, Median: h.d.Median * h.scale,
				Limits:   sloLimits(s, h.slo, h.sloScale, h.sloUnit),
				AutoClip: true,
			})
			if err := add(h.name, "distributions", p, err); err != nil {
				return nil, err
			}
		}
	}
	box := func(name string, d stats.Dist, scale float64) chart.Box {
		return chart.Box{Name: name, Count: d.Count, Min: d.Min * scale, P25: d.P25 * scale, P50: d.P50 * scale,
			P75: d.P75 * scale, P99: d.P99 * scale, Max: d.Max * scale, Mean: d.Mean * scale}
	}
	p, err := chart.BoxPlot("Latency distributions (exact percentiles)", "latency (ms, log scale)", []chart.Box{
		box("TTFT", m.TTFT, 1000), box("E2E", m.E2E, 1000), box("TPOT", m.TPOT, 1000), box("ITL", m.ITL, 1000),
	}, true)
	if err := add("latency_box", "boxes", p, err); err != nil {
		return nil, err
	}
	if len(d.Records) == 0 {
		return figs, nil
	}
	tf, err := timeFigures(d)
	if err != nil {
		return nil, err
	}
	return append(figs, tf...), nil
}

// bucketStep picks a round bucket width giving about n buckets over span
// seconds: 1, 2 or 5 × a power of ten, at least 0.1 s.
func bucketStep(span float64, n int) float64 {
	raw := span / float64(n)
	if !(raw > 0.1) {
		return 0.1
	}
	e := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*e >= raw {
			return f * e
		}
	}
	return 10 * e
}

// timeFigures builds the over-time charts: in flight, throughput, errors
// by kind, and for open-loop runs the schedule lag.
func timeFigures(d *runData) ([]figure, error) {
	s := d.Summary
	var figs []figure
	lastEnd := 0.0
	for i := range d.Records {
		r := &d.Records[i]
		if !r.Warmup {
			lastEnd = math.Max(lastEnd, r.SentS+r.E2ES)
		}
	}
	step := bucketStep(lastEnd, timeBuckets)

	// In flight: the runner's samples when there are any, else rebuilt
	// exactly from the records.
	var inflight, target []chart.XY
	src := "timeline.jsonl, warm-up included"
	if len(d.Timeline) > 0 {
		for _, t := range d.Timeline {
			inflight = append(inflight, chart.XY{X: t.T, Y: float64(t.InFlight)})
			target = append(target, chart.XY{X: t.T, Y: t.TargetLoad})
		}
	} else {
		src = "rebuilt from records.jsonl"
		for _, p := range stats.Timeline(d.Records, bucketStep(lastEnd, 2*maxTimePoints)) {
			inflight = append(inflight, chart.XY{X: p.T, Y: float64(p.InFlight)})
		}
	}
	series := []chart.Series{{Name: "in flight", Points: chart.LTTB(inflight, maxTimePoints), Step: true, Color: 0}}
	if len(target) > 0 && s.Run.Mode != "rate" && !allZero(target) {
		series = append(series, chart.Series{Name: "target load (workers)", Points: chart.LTTB(target, maxTimePoints), Dashed: true, Step: true, Color: 1})
	}
	p, err := chart.LineChart(chart.LineSpec{
		Title:  fmt.Sprintf("Requests in flight (mean %s, max %d)", trim(s.Concurrency.Mean), s.Concurrency.Max),
		XLabel: "time since start (s) — " + src, YLabel: "requests in flight", Series: series, YFromZero: true,
	})
	if err != nil {
		return nil, err
	}
	figs = append(figs, figure{Name: "in_flight", Section: "time", Plot: p})

	// Throughput and errors per bucket, by when requests ended.
	pts := stats.Timeline(d.Records, step)
	var tput []chart.XY
	for _, pt := range pts {
		tput = append(tput, chart.XY{X: pt.T, Y: float64(pt.OutputTokens) / step})
	}
	p, err = chart.LineChart(chart.LineSpec{
		Title:  fmt.Sprintf("Output throughput per %s s (run: %s tok/s)", trim(step), trim(s.Throughput.OutputTokensPerS)),
		XLabel: "time since start (s), bucket of request end", YLabel: "output tokens/s",
		Series: []chart.Series{{Name: "output tokens/s", Points: tput, PreStep: true, Color: 2}}, YFromZero: true,
	})
	if err != nil {
		return nil, err
	}
	figs = append(figs, figure{Name: "throughput", Section: "time", Plot: p})

	// Errors by kind, stacked per bucket of end time: bucket k is
	// (T_k − step, T_k], as stats.Timeline counts.
	kinds := map[string][]float64{}
	n := len(pts)
	for i := range d.Records {
		r := &d.Records[i]
		if r.Warmup || r.Retried || r.OK() {
			continue
		}
		k := min(max(int(math.Ceil((r.SentS+r.E2ES)/step)), 0), n-1)
		if kinds[string(r.ErrorKind)] == nil {
			kinds[string(r.ErrorKind)] = make([]float64, n)
		}
		kinds[string(r.ErrorKind)][k]++
	}
	title := fmt.Sprintf("Errors by kind per %s s (run: %s of requests failed)", trim(step), pct(s.ErrorRate))
	if len(kinds) == 0 {
		title = fmt.Sprintf("Errors per %s s: none, every request succeeded", trim(step))
	}
	starts := make([]float64, n)
	for j := range pts {
		starts[j] = pts[j].T - step
	}
	var bars []chart.BarSeries
	for _, k := range stats.SortedKeys(kinds) {
		bars = append(bars, chart.BarSeries{Name: k, Values: kinds[k]})
	}
	p, err = chart.StackedBars(chart.BarSpec{Title: title, XLabel: "time since start (s), bucket of request end",
		YLabel: "failed requests per bucket", Starts: starts, Width: step, Series: bars})
	if err != nil {
		return nil, err
	}
	figs = append(figs, figure{Name: "errors", Section: "time", Plot: p})

	if openLoop(s.Run.Mode) {
		p, err := lagFigure(d, step)
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Name: "schedule_lag", Section: "lag", Plot: p})
	}
	return figs, nil
}

// lagFigure is the schedule lag over time: the mean and the maximum per
// bucket of scheduled time, with the run's exact p99 as a line.
func lagFigure(d *runData, step float64) (*plot.Plot, error) {
	type agg struct {
		sum, max float64
		n        int
	}
	bs := map[int]*agg{}
	last := 0
	for i := range d.Records {
		r := &d.Records[i]
		if r.Warmup || r.Attempt != 0 {
			continue
		}
		k := int(math.Floor(r.ScheduledS / step))
		a := bs[k]
		if a == nil {
			a = &agg{}
			bs[k] = a
		}
		lag := 1000 * (r.SentS - r.ScheduledS)
		a.sum += lag
		a.max = math.Max(a.max, lag)
		a.n++
		last = max(last, k)
	}
	var mean, mx []chart.XY
	for k := 0; k <= last; k++ {
		if a := bs[k]; a != nil {
			x := (float64(k) + 0.5) * step
			mean = append(mean, chart.XY{X: x, Y: a.sum / float64(a.n)})
			mx = append(mx, chart.XY{X: x, Y: a.max})
		}
	}
	lag := d.Summary.Metrics.ScheduleLag
	return chart.LineChart(chart.LineSpec{
		Title:  fmt.Sprintf("Schedule lag (t_send − t_sched) per %s s: client-side queueing", trim(step)),
		XLabel: "scheduled time since start (s)", YLabel: "schedule lag (ms)",
		Series: []chart.Series{
			{Name: "mean per bucket", Points: mean, Markers: len(mean) < 40, Color: 0},
			{Name: "max per bucket", Points: mx, Dashed: true, Color: 5},
		},
		Limits:    []chart.Marker{{Label: fmt.Sprintf("p99 of the run: %s ms", trim(1000*lag.P99)), X: 1000 * lag.P99}},
		YFromZero: true,
	})
}

// openLoop tells whether a mode's schedule ignores responses.
func openLoop(mode string) bool { return mode == "rate" || mode == "batch-interval" }

func allZero(xy []chart.XY) bool {
	for _, p := range xy {
		if p.Y != 0 {
			return false
		}
	}
	return true
}

// trim writes a number with up to three significant decimals, no
// trailing zeros: 12.5, 0.0123, 1530.
func trim(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	case a >= 1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.3g", v)
	}
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
