package chart

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/plot"
)

// renderPlots are one figure of each kind a report draws: a histogram
// with its curve and markers, an empty one, a box plot, a line chart
// with a band and labels, stacked bars and a long time series.
func renderPlots(tb testing.TB) []*plot.Plot {
	tb.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 2000)
	for i := range xs {
		xs[i] = 100 + 50*rng.ExpFloat64()
	}
	xs[0] = 5000 // a tail to clip
	var ps []*plot.Plot
	add := func(p *plot.Plot, err error) {
		if err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, p)
	}
	add(Histogram(HistSpec{Title: "TTFT", XLabel: "TTFT (ms)", Values: xs, Mean: 150, Median: 135,
		Limits: []Marker{{Label: "SLO", X: 300}}, AutoClip: true}))
	add(Histogram(HistSpec{Title: "ITL", XLabel: "ITL (ms)"}))
	add(BoxPlot("Latency", "ms", []Box{{Name: "TTFT", Count: 3, Min: 1, P25: 2, P50: 3, P75: 4, P99: 9, Max: 10, Mean: 3.5}, {Name: "ITL"}}, true))
	add(LineChart(LineSpec{Title: "speed", XLabel: "c", YLabel: "tok/s", Series: []Series{{Name: "median",
		Points: []XY{{1, 50}, {2, 45}, {4, 30}}, Lo: []float64{40, 35, 20}, Hi: []float64{60, 55, 40}, BandName: "p25–p75",
		Labels: []string{"c1", "c2", "c4"}, Markers: true}}, YFromZero: true}))
	add(StackedBars(BarSpec{Title: "errors", Starts: []float64{0, 1, 2}, Width: 1,
		Series: []BarSeries{{Name: "timeout", Values: []float64{1, 0, 2}}, {Name: "throttled", Values: []float64{0, 3, 1}}}}))
	pts := make([]XY, 500)
	for i := range pts {
		pts[i] = XY{float64(i), 50 + 10*rng.NormFloat64()}
	}
	add(LineChart(LineSpec{Title: "in flight", XLabel: "time (s)", YLabel: "requests", Series: []Series{{Name: "in flight", Points: pts}}, YFromZero: true}))
	return ps
}

// BenchmarkRender draws the figures of renderPlots to PNG and SVG (one
// op: all six), as a report does for each of its figures.
func BenchmarkRender(b *testing.B) {
	ps := renderPlots(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			if _, _, err := Render(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
