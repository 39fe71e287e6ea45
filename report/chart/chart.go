// Package chart draws the figures of llmload's reports with gonum/plot:
// histograms with a kernel density curve, box plots from exact
// percentiles, time series and sweep curves. Every builder returns a
// *plot.Plot styled to be read on a slide (title, axis labels with units,
// legend); Render turns one into PNG and SVG bytes. The package does no
// I/O and never prints.
package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"git.sr.ht/~sbinet/gg"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Size of every figure: 16:10, large enough for a slide.
const (
	Width  = 8 * vg.Inch
	Height = 5 * vg.Inch
	// dpi of the PNGs: 8×5 in at 120 dpi is 960×600 pixels.
	dpi = 120
)

// Palette is the Okabe–Ito colour-blind-safe palette, in the order series
// take their colours.
var Palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{0, 158, 115, 255},   // bluish green
	color.RGBA{204, 121, 167, 255}, // reddish purple
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{240, 228, 66, 255},  // yellow
	color.RGBA{0, 0, 0, 255},       // black
}

// colorOf is the colour of series i.
func colorOf(i int) color.Color { return Palette[i%len(Palette)] }

// withAlpha returns c at opacity a (0–255), premultiplied.
func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	f := float64(a) / 255
	return color.RGBA{uint8(float64(r>>8) * f), uint8(float64(g>>8) * f), uint8(float64(b>>8) * f), a}
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot with the house style: sans-serif text sized for a
// slide, a light grid, the legend top right.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 15)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 12)
		a.Tick.Label.Font = font.From(sans, 10)
		a.Padding = vg.Points(2)
	}
	p.X.Tick.Marker = ticks{}
	p.Y.Tick.Marker = ticks{}
	p.Legend.TextStyle.Font = font.From(sans, 11)
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(10) // keep the thumbnails inside the frame
	p.Legend.Padding = vg.Points(3)
	p.Legend.ThumbnailWidth = vg.Points(22)
	return p
}

// Render draws p as a PNG and as an SVG of the standard size. It must not
// be called on one plot from two goroutines at once (drawing a plot
// updates its axes).
func Render(p *plot.Plot) (pngData, svgData []byte, err error) {
	// The image and its graphics context are made here, not by vgimg:
	// vgimg.NewWith copies the image it makes into the context's own.
	w, h := int(Width.Dots(dpi)+0.5), int(Height.Dots(dpi)+0.5)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	ctx := gg.NewContextForRGBA(rgba)
	ctx.SetLineCapButt() // as vgimg.NewWith sets up its own context
	ctx.InvertY()
	img := vgimg.NewWith(vgimg.UseImageWithContext(rgba, ctx), vgimg.UseDPI(dpi))
	// vgimg fills the image with white; a white plot background would
	// fill every pixel again through the rasterizer, to the same pixels.
	bg := p.BackgroundColor
	if bg != nil && sameColor(bg, color.White) {
		p.BackgroundColor = nil
	}
	p.Draw(draw.New(img))
	p.BackgroundColor = bg
	var pb bytes.Buffer
	// zlib's fastest level: a chart is mostly flat colour, which deflate
	// compresses well at any level.
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&pb, rgba); err != nil {
		return nil, nil, fmt.Errorf("chart %q: png: %w", p.Title.Text, err)
	}
	sc := vgsvg.New(Width, Height)
	p.Draw(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("chart %q: svg: %w", p.Title.Text, err)
	}
	return pb.Bytes(), sb.Bytes(), nil
}

// sameColor reports whether a and b are the same colour.
func sameColor(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	return ar == br && ag == bg && ab == bb && aa == ba
}

// ticks are gonum/plot's default ticks with labels written without
// trailing zeros ("250", not "250.00").
type ticks struct{}

var _ plot.Ticker = ticks{}

// Ticks implements plot.Ticker.
func (ticks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = trimZeros(ts[i].Label)
		}
	}
	return ts
}

// trimZeros drops trailing zeros after a decimal point: "0.50" → "0.5",
// "250.00" → "250"; an exponent form is left alone.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") || strings.ContainsAny(s, "eE") {
		return s
	}
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}
