package chart

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarSeries is one layer of a stacked bar chart: a value per bucket.
type BarSeries struct {
	Name   string
	Values []float64
}

// BarSpec describes a stacked bar chart over time buckets: bucket i spans
// [Starts[i], Starts[i]+Width).
type BarSpec struct {
	Title, XLabel, YLabel string
	Starts                []float64
	Width                 float64
	Series                []BarSeries
}

// barColors avoid the palette's yellow, unreadable as a thin bar.
var barColors = []int{5, 3, 0, 1, 4, 2, 7}

// StackedBars draws spec: each bucket a bar, its series stacked in order.
func StackedBars(spec BarSpec) (*plot.Plot, error) {
	p := newPlot(spec.Title, spec.XLabel, spec.YLabel)
	p.Add(plotter.NewGrid())
	sb := &stacked{spec: spec}
	p.Add(sb)
	for i, s := range spec.Series {
		poly, err := plotter.NewPolygon(plotter.XYs{{}, {X: 1}, {X: 1, Y: 1}})
		if err != nil {
			return nil, err
		}
		poly.Color = colorOf(barColors[i%len(barColors)])
		poly.LineStyle.Width = 0
		p.Legend.Add(s.Name, poly)
	}
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max, 1) * 1.15
	return p, nil
}

type stacked struct{ spec BarSpec }

var (
	_ plot.Plotter    = (*stacked)(nil)
	_ plot.DataRanger = (*stacked)(nil)
)

// Plot implements plot.Plotter.
func (s *stacked) Plot(c draw.Canvas, plt *plot.Plot) {
	tx, ty := plt.Transforms(&c)
	for i, x := range s.spec.Starts {
		base := 0.0
		for k, ser := range s.spec.Series {
			if i >= len(ser.Values) || ser.Values[i] == 0 {
				continue
			}
			top := base + ser.Values[i]
			x0, x1 := tx(x), tx(x+s.spec.Width)
			if x1-x0 > vg.Points(1.5) {
				x1 -= vg.Points(0.5) // a hairline between bars
			}
			rect := []vg.Point{{X: x0, Y: ty(base)}, {X: x1, Y: ty(base)}, {X: x1, Y: ty(top)}, {X: x0, Y: ty(top)}}
			c.FillPolygon(colorOf(barColors[k%len(barColors)]), c.ClipPolygonXY(rect))
			base = top
		}
	}
}

// DataRange implements plot.DataRanger.
func (s *stacked) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for i, x := range s.spec.Starts {
		xmin, xmax = math.Min(xmin, x), math.Max(xmax, x+s.spec.Width)
		sum := 0.0
		for _, ser := range s.spec.Series {
			if i < len(ser.Values) {
				sum += ser.Values[i]
			}
		}
		ymax = math.Max(ymax, sum)
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	return xmin, xmax, 0, ymax
}
