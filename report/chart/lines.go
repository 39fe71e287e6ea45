package chart

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a LineChart.
type Series struct {
	Name   string
	Points []XY
	// Lo and Hi, when set (as long as Points), draw a shaded band between
	// them behind the line: the p25–p75 range of a sweep level.
	Lo, Hi []float64
	// BandName labels the band in the legend.
	BandName string
	// Labels, when set (as long as Points), are written beside each point:
	// the sweep level of a latency–throughput curve.
	Labels []string
	// Dashed draws the line dashed; Markers draws a dot at each point.
	Dashed, Markers bool
	// Step draws a step line: a value holds from its point until the
	// next (a sample). PreStep draws a value over the interval that ends
	// at its point (a bucket that closes there).
	Step, PreStep bool
	// Color picks the palette colour; -1 takes the series' index.
	Color int
}

// LineSpec describes a chart of one or more series.
type LineSpec struct {
	Title, XLabel, YLabel string
	Series                []Series
	// YFromZero starts the y axis at 0.
	YFromZero bool
	// Limits are horizontal dashed lines (an SLO on a latency curve).
	Limits []Marker
	// XTicks, when set, are the only x ticks, labelled by value: a sweep's
	// levels. LogX makes the x axis logarithmic (levels 1, 2, 4, … 512).
	XTicks []float64
	LogX   bool
}

// LineChart draws spec. Series without points are skipped; a chart with
// none says "no data" in its title.
func LineChart(spec LineSpec) (*plot.Plot, error) {
	p := newPlot(spec.Title, spec.XLabel, spec.YLabel)
	p.Add(plotter.NewGrid())
	if spec.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if len(spec.XTicks) > 0 {
		ts := make(plot.ConstantTicks, len(spec.XTicks))
		for i, x := range spec.XTicks {
			ts[i] = plot.Tick{Value: x, Label: trimZeros(fmtNum(x))}
		}
		p.X.Tick.Marker = ts
	}
	entries := 0
	any := false
	for i, s := range spec.Series {
		if len(s.Points) == 0 {
			continue
		}
		any = true
		ci := s.Color
		if ci < 0 {
			ci = i
		}
		col := colorOf(ci)
		xys := make(plotter.XYs, len(s.Points))
		for k, pt := range s.Points {
			xys[k] = plotter.XY{X: pt.X, Y: pt.Y}
		}
		if len(s.Lo) == len(s.Points) && len(s.Hi) == len(s.Points) && len(s.Points) > 0 {
			band := make(plotter.XYs, 0, 2*len(s.Points))
			for k, pt := range s.Points {
				band = append(band, plotter.XY{X: pt.X, Y: s.Hi[k]})
			}
			for k := len(s.Points) - 1; k >= 0; k-- {
				band = append(band, plotter.XY{X: s.Points[k].X, Y: s.Lo[k]})
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, err
			}
			poly.Color = withAlpha(col, 60)
			poly.LineStyle.Width = 0
			p.Add(poly)
			if s.BandName != "" {
				p.Legend.Add(s.BandName, poly)
				entries++
			}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = col
		l.Width = vg.Points(2)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		switch {
		case s.PreStep:
			l.StepStyle = plotter.PreStep
		case s.Step:
			l.StepStyle = plotter.PostStep
		}
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if s.Markers {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Radius: vg.Points(3), Color: col}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
			entries++
		}
		if len(s.Labels) == len(s.Points) {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: s.Labels})
			if err != nil {
				return nil, err
			}
			for k := range lb.TextStyle {
				lb.TextStyle[k].Font.Size = vg.Points(10)
				lb.TextStyle[k].Font.Typeface = sans.Typeface
				lb.TextStyle[k].Font.Variant = sans.Variant
				lb.TextStyle[k].Color = col
			}
			lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
			p.Add(lb)
		}
	}
	if !any {
		p.Title.Text += " — no data"
		return p, nil
	}
	for _, m := range spec.Limits {
		if math.IsNaN(m.X) {
			continue
		}
		x0, x1 := math.Inf(1), math.Inf(-1)
		for _, s := range spec.Series {
			for _, pt := range s.Points {
				x0, x1 = math.Min(x0, pt.X), math.Max(x1, pt.X)
			}
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: m.X}, {X: x1, Y: m.X}})
		if err != nil {
			return nil, err
		}
		l.Color = Palette[3]
		l.Width = vg.Points(1.8)
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(m.Label, l)
		entries++
	}
	if spec.YFromZero {
		p.Y.Min = 0
		if p.Y.Max <= 0 {
			p.Y.Max = 1
		}
	}
	// Room above the data for the legend: about 7% of the height a line.
	p.Y.Max += (p.Y.Max - p.Y.Min) * (0.05 + 0.07*float64(entries))
	return p, nil
}
