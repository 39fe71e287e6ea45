package chart

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Marker is a labelled vertical line on a histogram: the mean, the median,
// an SLO.
type Marker struct {
	Label string
	X     float64
}

// HistSpec describes a histogram with its density curve.
type HistSpec struct {
	Title  string
	XLabel string // with its unit: "TTFT (ms)"
	// Values are the observations, already in the unit of XLabel.
	Values []float64
	// Mean and Median are marked with lines; they should be the summary's
	// exact numbers (in the unit of XLabel).
	Mean, Median float64
	// Limits are further markers, drawn dashed: the SLOs.
	Limits []Marker
	// Clip, when > 0, leaves values above it out of the bins and the
	// curve (a long tail would crush the body into one bin); the title
	// says how many were left out. Markers beyond it are still drawn.
	Clip float64
	// AutoClip, when Clip is 0, clips a long tail: at the larger of
	// Q3 + 5·IQR and p95, when the maximum is more than 1.5× that. At most
	// 5% of the values leave the axis; the body stays readable.
	AutoClip bool
	// Bins is the number of bins; 0 chooses by the Freedman–Diaconis rule,
	// between 10 and 80.
	Bins int
}

// Histogram draws s: the bins normalized to a density (their area is 1), the
// Gaussian KDE with Silverman's bandwidth over the same values, and the
// markers. With no values it draws an empty plot that says so.
func Histogram(s HistSpec) (*plot.Plot, error) {
	// Quantiles by selection, not sorting: ten million ITL gaps take
	// seconds to sort.
	xs := s.Values
	clip := s.Clip
	if clip <= 0 && s.AutoClip {
		clip = autoClip(xs)
	}
	left := 0
	if clip > 0 {
		xs = make([]float64, 0, len(s.Values))
		for _, v := range s.Values {
			if v <= clip {
				xs = append(xs, v)
			}
		}
		left = len(s.Values) - len(xs)
	}
	title := s.Title
	if left > 0 {
		title += fmt.Sprintf("\n(%d values above %s not shown)", left, trimZeros(fmtNum(clip)))
	}
	p := newPlot(title, s.XLabel, "density")
	if len(xs) == 0 {
		p.Title.Text += " — no data"
		return p, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	q := quantiles(xs, 0.25, 0.75)
	iqr := q[1] - q[0]
	if hi == lo {
		// One value: a bin of width 1% around it (or 1 when it is 0).
		d := math.Max(math.Abs(lo)*0.01, 0.5)
		lo, hi = lo-d, hi+d
	}
	bins := s.Bins
	if bins <= 0 {
		bins = fdBins(len(xs), iqr, lo, hi)
	}
	// Binned here, not by plotter.NewHist, which copies every value into
	// points first (160 MB for ten million ITL gaps).
	h := &plotter.Histogram{Bins: binValues(xs, bins, lo, hi), Width: (hi - lo) / float64(bins), LineStyle: plotter.DefaultLineStyle}
	h.Normalize(1)
	h.FillColor = withAlpha(Palette[0], 90)
	h.LineStyle.Color = withAlpha(Palette[0], 200)
	h.LineStyle.Width = vg.Points(0.5)
	p.Add(h)
	p.Legend.Add(fmt.Sprintf("requests (n=%d)", len(xs)), h)

	if bw := silverman(xs, iqr); bw > 0 {
		const n = 600
		at := make([]float64, n)
		// The curve runs two bandwidths past the data, but not below 0
		// for data that cannot be negative, nor past a clip.
		a, b := lo-2*bw, hi+2*bw
		if lo >= 0 {
			a = math.Max(a, 0)
		}
		if left > 0 {
			b = hi
		}
		for i := range at {
			at[i] = a + (b-a)*float64(i)/float64(n-1)
		}
		d := KDE(xs, bw, at)
		pts := make(plotter.XYs, n)
		for i := range pts {
			pts[i] = plotter.XY{X: at[i], Y: d[i]}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = Palette[5]
		l.Width = vg.Points(2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("KDE (Silverman h=%s)", fmtNum(bw)), l)
	}
	// After Normalize a bin's weight is its height (a density); leave
	// room above the tallest for the legend. p.Y.Max already covers the
	// curve.
	ymax := p.Y.Max
	for _, b := range h.Bins {
		ymax = math.Max(ymax, b.Weight)
	}
	p.Y.Min, p.Y.Max = 0, ymax*1.3
	marks := []struct {
		m      Marker
		c      int
		dashed bool
	}{
		{Marker{"mean " + fmtNum(s.Mean), s.Mean}, 7, false},
		{Marker{"median " + fmtNum(s.Median), s.Median}, 2, false},
	}
	for _, m := range s.Limits {
		marks = append(marks, struct {
			m      Marker
			c      int
			dashed bool
		}{m, 3, true})
	}
	for _, m := range marks {
		if math.IsNaN(m.m.X) || math.IsInf(m.m.X, 0) {
			continue
		}
		l, err := vline(m.m.X, 0, p.Y.Max, colorOf(m.c), m.dashed)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(m.m.Label, l)
	}
	return p, nil
}

// vline is a vertical line at x from y0 to y1.
func vline(x, y0, y1 float64, c color.Color, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.8)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	return l, nil
}

// binValues counts xs into n equal bins over [lo, hi], the maximum in the
// last bin, as plotter.NewHist does.
func binValues(xs []float64, n int, lo, hi float64) []plotter.HistogramBin {
	bins := make([]plotter.HistogramBin, n)
	w := (hi - lo) / float64(n)
	for i := range bins {
		bins[i].Min = lo + float64(i)*w
		bins[i].Max = lo + float64(i+1)*w
	}
	for _, x := range xs {
		i := int((x - lo) / w)
		bins[min(max(i, 0), n-1)].Weight++
	}
	return bins
}

// autoClip is where HistSpec.AutoClip ends the axis of xs; 0 for no clip.
func autoClip(xs []float64) float64 {
	if len(xs) < 50 {
		return 0
	}
	q := quantiles(xs, 0.25, 0.75, 0.95)
	c := math.Max(q[1]+5*(q[1]-q[0]), q[2])
	if slices.Max(xs) > 1.5*c && c > 0 {
		return c
	}
	return 0
}

// fdBins chooses a bin count for n values over [lo, hi] by the
// Freedman–Diaconis rule (width 2·IQR·n^(−1/3)), kept between 10 and 80
// so a chart stays readable.
func fdBins(n int, iqr, lo, hi float64) int {
	if iqr <= 0 {
		return 30
	}
	w := 2 * iqr * math.Pow(float64(n), -1.0/3)
	return min(80, max(10, int(math.Ceil((hi-lo)/w))))
}

// fmtNum writes a number for a label with about three significant digits.
func fmtNum(v float64) string {
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
	case a >= 0.01:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2g", v)
}
