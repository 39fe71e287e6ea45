package chart

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Box is one box of a box plot, drawn from exact percentiles of the
// summary rather than from raw values: the box spans p25–p75 with a line
// at the median; the summary has no p1, so the lower whisker reaches the
// minimum and the upper one p99; a triangle marks the mean and a cross the
// maximum.
type Box struct {
	Name                         string
	Min, P25, P50, P75, P99, Max float64
	Mean                         float64
	Count                        int
}

// BoxPlot draws one box per entry of boxes on a shared y axis labelled
// yLabel. With logY the axis is logarithmic (latencies from ITL to E2E
// span three decades); values ≤ 0 are then raised to the smallest positive
// value shown.
func BoxPlot(title, yLabel string, boxes []Box, logY bool) (*plot.Plot, error) {
	p := newPlot(title, "", yLabel)
	names := make([]string, len(boxes))
	for i, b := range boxes {
		names[i] = fmt.Sprintf("%s (n=%d)", b.Name, b.Count)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	bp := &boxPlotter{boxes: boxes, width: vg.Points(46)}
	if logY {
		floor := math.Inf(1)
		for _, b := range boxes {
			for _, v := range []float64{b.Min, b.P25, b.P50, b.Mean} {
				if v > 0 {
					floor = math.Min(floor, v)
				}
			}
		}
		if math.IsInf(floor, 1) {
			floor = 1
		}
		bp.floor = floor
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(bp, plotter.NewGrid())
	// Legend entries explain the glyphs once.
	p.Legend.Add("box p25–p75, line median, whiskers min–p99")
	mean, _ := plotter.NewScatter(plotter.XYs{{}})
	mean.GlyphStyle = draw.GlyphStyle{Shape: draw.PyramidGlyph{}, Radius: vg.Points(4), Color: Palette[5]}
	p.Legend.Add("mean", mean)
	mx, _ := plotter.NewScatter(plotter.XYs{{}})
	mx.GlyphStyle = draw.GlyphStyle{Shape: draw.CrossGlyph{}, Radius: vg.Points(4), Color: Palette[7]}
	p.Legend.Add("max", mx)
	return p, nil
}

// boxPlotter is the plot.Plotter of BoxPlot.
type boxPlotter struct {
	boxes []Box
	width vg.Length
	floor float64 // > 0 on a log axis: the least value drawn
}

var _ plot.Plotter = (*boxPlotter)(nil)
var _ plot.DataRanger = (*boxPlotter)(nil)

func (bp *boxPlotter) v(x float64) float64 {
	if bp.floor > 0 && x < bp.floor {
		return bp.floor
	}
	return x
}

// Plot implements plot.Plotter.
func (bp *boxPlotter) Plot(c draw.Canvas, plt *plot.Plot) {
	tx, ty := plt.Transforms(&c)
	line := draw.LineStyle{Color: Palette[7], Width: vg.Points(1.2)}
	for i, b := range bp.boxes {
		if b.Count == 0 {
			continue
		}
		x := tx(float64(i))
		y := func(v float64) vg.Length { return ty(bp.v(v)) }
		half, cap := bp.width/2, bp.width/4
		box := []vg.Point{{X: x - half, Y: y(b.P25)}, {X: x + half, Y: y(b.P25)}, {X: x + half, Y: y(b.P75)}, {X: x - half, Y: y(b.P75)}}
		c.FillPolygon(withAlpha(colorOf(i), 110), c.ClipPolygonY(box))
		c.StrokeLines(line, c.ClipLinesY(append(box, box[0]))...)
		med := draw.LineStyle{Color: Palette[7], Width: vg.Points(2.5)}
		c.StrokeLines(med, c.ClipLinesY([]vg.Point{{X: x - half, Y: y(b.P50)}, {X: x + half, Y: y(b.P50)}})...)
		for _, seg := range [][]vg.Point{
			{{X: x, Y: y(b.P75)}, {X: x, Y: y(b.P99)}},
			{{X: x - cap, Y: y(b.P99)}, {X: x + cap, Y: y(b.P99)}},
			{{X: x, Y: y(b.P25)}, {X: x, Y: y(b.Min)}},
			{{X: x - cap, Y: y(b.Min)}, {X: x + cap, Y: y(b.Min)}},
		} {
			c.StrokeLines(line, c.ClipLinesY(seg)...)
		}
		c.DrawGlyph(draw.GlyphStyle{Shape: draw.PyramidGlyph{}, Radius: vg.Points(4), Color: Palette[5]}, vg.Point{X: x, Y: y(b.Mean)})
		c.DrawGlyph(draw.GlyphStyle{Shape: draw.CrossGlyph{}, Radius: vg.Points(4), Color: Palette[7]}, vg.Point{X: x, Y: y(b.Max)})
	}
}

// DataRange implements plot.DataRanger.
func (bp *boxPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, b := range bp.boxes {
		if b.Count == 0 {
			continue
		}
		ymin = math.Min(ymin, bp.v(b.Min))
		ymax = math.Max(ymax, bp.v(b.Max))
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 1, 10
	}
	if ymin == ymax {
		ymin, ymax = ymin*0.9, ymax*1.1+1e-9
	}
	return -0.5, float64(len(bp.boxes)) - 0.5, ymin, ymax
}
