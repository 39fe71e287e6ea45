package chart

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Silverman's rule on a small sample, by hand: σ = 1.5811 (ddof 1),
// IQR = 4 − 2 = 2, 2/1.34 = 1.4925 < σ, so h = 0.9 · 1.4925 · 5^(−1/5).
func TestSilvermanBandwidth(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		// IQR/1.34 is the smaller spread.
		{[]float64{1, 2, 3, 4, 5}, 0.9 * (2 / 1.34) * math.Pow(5, -0.2)},
		// σ is the smaller: two clusters far apart make the IQR wide.
		{[]float64{0, 0, 10, 10}, 0.9 * math.Sqrt(100.0/3) * math.Pow(4, -0.2)},
		// Most values equal: IQR 0, σ alone.
		{[]float64{1, 1, 1, 1, 1, 1, 9}, 0.9 * math.Sqrt(64.0/7) * math.Pow(7, -0.2)},
		// Fewer than two values, or no spread: 0.
		{[]float64{3}, 0},
		{[]float64{2, 2, 2}, 0},
	}
	for _, tt := range tests {
		if got := SilvermanBandwidth(tt.xs); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("SilvermanBandwidth(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}

// The binned KDE matches the exact sum of Gaussians and integrates to 1.
func TestKDE(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 3000)
	for i := range xs {
		xs[i] = 100 + 20*rng.NormFloat64()
		if i%3 == 0 {
			xs[i] = 200 + 5*rng.NormFloat64() // a second mode
		}
	}
	h := SilvermanBandwidth(xs)
	at := make([]float64, 400)
	for i := range at {
		at[i] = float64(i) * 300 / 399
	}
	got := KDE(xs, h, at)
	exact := make([]float64, len(at))
	for i, t0 := range at {
		for _, x := range xs {
			u := (t0 - x) / h
			exact[i] += math.Exp(-u * u / 2)
		}
		exact[i] /= float64(len(xs)) * h * math.Sqrt(2*math.Pi)
	}
	peak := slices.Max(exact)
	var area float64
	for i := range at {
		// Binning moves each value by at most h/16: far below a pixel.
		if math.Abs(got[i]-exact[i]) > 0.002*peak {
			t.Fatalf("KDE at %v = %v, exact %v", at[i], got[i], exact[i])
		}
		if i > 0 {
			area += (got[i] + got[i-1]) / 2 * (at[i] - at[i-1])
		}
	}
	if math.Abs(area-1) > 0.01 {
		t.Errorf("KDE integrates to %v, want 1", area)
	}
	if z := KDE(nil, 1, at); slices.Max(z) != 0 {
		t.Error("KDE of nothing is not 0")
	}
}

// quantiles by selection equal the sorted, interpolated ones.
func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 5, 100, 1001} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(20)) // many ties
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		qs := []float64{0, 0.25, 0.5, 0.75, 0.95, 1}
		got := quantiles(xs, qs...)
		for i, q := range qs {
			h := float64(n-1) * q
			k := int(h)
			want := s[k]
			if k+1 < n {
				want += (h - float64(k)) * (s[k+1] - s[k])
			}
			if math.Abs(got[i]-want) > 1e-12 {
				t.Errorf("n=%d q=%v: %v, want %v", n, q, got[i], want)
			}
		}
	}
	if got := quantiles([]float64{1, 2, 3, 4}, 0.25, 0.9); got[0] != 1.75 || math.Abs(got[1]-3.7) > 1e-12 {
		t.Errorf("docs/metrics.md example: %v, want [1.75 3.7]", got)
	}
}

// LTTB keeps the ends, returns n points in order, and keeps a spike.
func TestLTTB(t *testing.T) {
	pts := make([]XY, 10000)
	for i := range pts {
		pts[i] = XY{X: float64(i), Y: math.Sin(float64(i) / 500)}
	}
	pts[4321].Y = 50 // a spike a bucket mean would flatten
	got := LTTB(pts, 300)
	if len(got) != 300 || got[0] != pts[0] || got[299] != pts[9999] {
		t.Fatalf("len %d, ends %v %v", len(got), got[0], got[len(got)-1])
	}
	if !slices.IsSortedFunc(got, func(a, b XY) int { return int(a.X - b.X) }) {
		t.Error("points out of order")
	}
	if !slices.Contains(got, pts[4321]) {
		t.Error("the spike was dropped")
	}
	if short := LTTB(pts[:5], 300); len(short) != 5 {
		t.Errorf("a short series was changed: %d points", len(short))
	}
}

// Every builder renders to a full-size, non-blank PNG and a parseable SVG
// with paths and text, also on empty data.
func TestRender(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 2000)
	for i := range xs {
		xs[i] = 100 + 50*rng.ExpFloat64()
	}
	xs[0] = 5000 // a tail to clip
	hist, err := Histogram(HistSpec{Title: "TTFT", XLabel: "TTFT (ms)", Values: xs, Mean: 150, Median: 135,
		Limits: []Marker{{Label: "SLO", X: 300}}, AutoClip: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "values above"; !bytes.Contains([]byte(hist.Title.Text), []byte(want)) {
		t.Errorf("title %q does not say what was clipped", hist.Title.Text)
	}
	empty, _ := Histogram(HistSpec{Title: "ITL", XLabel: "ITL (ms)"})
	box, err := BoxPlot("Latency", "ms", []Box{{Name: "TTFT", Count: 3, Min: 1, P25: 2, P50: 3, P75: 4, P99: 9, Max: 10, Mean: 3.5}, {Name: "ITL"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	line, err := LineChart(LineSpec{Title: "speed", XLabel: "c", YLabel: "tok/s", Series: []Series{{Name: "median",
		Points: []XY{{1, 50}, {2, 45}, {4, 30}}, Lo: []float64{40, 35, 20}, Hi: []float64{60, 55, 40}, BandName: "p25–p75",
		Labels: []string{"c1", "c2", "c4"}, Markers: true}}, YFromZero: true})
	if err != nil {
		t.Fatal(err)
	}
	bars, err := StackedBars(BarSpec{Title: "errors", Starts: []float64{0, 1, 2}, Width: 1,
		Series: []BarSeries{{Name: "timeout", Values: []float64{1, 0, 2}}, {Name: "throttled", Values: []float64{0, 3, 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*plot.Plot{"hist": hist, "empty": empty, "box": box, "line": line, "bars": bars} {
		pngData, svgData, err := Render(p)
		if err != nil {
			t.Fatal(name, err)
		}
		img, err := png.Decode(bytes.NewReader(pngData))
		if err != nil {
			t.Fatal(name, err)
		}
		if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 600 {
			t.Errorf("%s: %v", name, b)
		}
		seen := map[uint32]bool{}
		for y := 0; y < 600; y += 3 {
			for x := 0; x < 960; x += 3 {
				r, g, b, _ := img.At(x, y).RGBA()
				seen[r>>8<<16|g>>8<<8|b>>8] = true
			}
		}
		if len(seen) < 20 {
			t.Errorf("%s: %d colours: blank?", name, len(seen))
		}
		counts := map[string]int{}
		dec := xml.NewDecoder(bytes.NewReader(svgData))
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				counts[se.Name.Local]++
			}
		}
		if counts["path"] < 3 || counts["text"] < 3 {
			t.Errorf("%s.svg: %v", name, counts)
		}
	}
}

// TestRenderSamePixels: Render's PNG has exactly the pixels of the plain
// gonum/plot way (vgimg.NewWith, the plot's background filled again by
// the rasterizer) for every kind of figure, and the plot keeps its
// background colour for the SVG.
func TestRenderSamePixels(t *testing.T) {
	ps := renderPlots(t)
	for i, p := range ps {
		pngData, svgData, err := Render(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.BackgroundColor == nil {
			t.Fatalf("figure %d: Render left the plot without its background", i)
		}
		if !bytes.Contains(svgData, []byte("fill:#FFFFFF")) {
			t.Errorf("figure %d: the SVG has no white background", i)
		}
		got, err := png.Decode(bytes.NewReader(pngData))
		if err != nil {
			t.Fatal(err)
		}
		ref := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(dpi))
		p.Draw(draw.New(ref))
		want := ref.Image()
		if got.Bounds() != want.Bounds() {
			t.Fatalf("figure %d: %v, want %v", i, got.Bounds(), want.Bounds())
		}
		diff := 0
		b := want.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if !sameColor(got.At(x, y), want.At(x, y)) {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("figure %d (%s): %d pixels differ from the plain rendering", i, p.Title.Text, diff)
		}
	}
}
