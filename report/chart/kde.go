package chart

import "math"

// SilvermanBandwidth is Silverman's rule of thumb for the bandwidth of a
// Gaussian kernel density estimate of xs:
//
//	h = 0.9 · min(σ, IQR/1.34) · n^(−1/5)
//
// with σ the sample standard deviation and IQR the interquartile range. When
// the IQR is 0 (over half the values equal) σ alone is used; 0 when there
// is no spread at all or fewer than two values.
func SilvermanBandwidth(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	q := quantiles(xs, 0.25, 0.75)
	return silverman(xs, q[1]-q[0])
}

// silverman is SilvermanBandwidth with the interquartile range given.
func silverman(s []float64, iqr float64) float64 {
	n := len(s)
	if n < 2 {
		return 0
	}
	var mean float64
	for _, x := range s {
		mean += x
	}
	mean /= float64(n)
	var ss float64
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	sigma := math.Sqrt(ss / float64(n-1))
	spread := sigma
	if iqr > 0 {
		spread = math.Min(sigma, iqr/1.34)
	}
	return 0.9 * spread * math.Pow(float64(n), -0.2)
}

// maxKDEBins bounds the grid of the binned estimate.
const maxKDEBins = 1 << 16

// KDE evaluates the Gaussian kernel density estimate of xs with bandwidth
// h at the given points. The density integrates to 1 over the real line.
// xs is linearly binned first onto a grid over [min, max] with a step of
// at most h/8 (Wand & Jones' binned KDE; the error is far below what a
// chart shows), and each point sums only the grid cells within 8h, so the
// cost is O(n + grid + 128·points) whatever n is (a million ITL gaps
// included). It returns zeros when h ≤ 0 or xs is empty.
func KDE(xs []float64, h float64, at []float64) []float64 {
	out := make([]float64, len(at))
	if !(h > 0) || len(xs) == 0 {
		return out
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	bins := min(maxKDEBins, max(2, int(math.Ceil((hi-lo)/(h/8)))+1))
	step := (hi - lo) / float64(bins-1)
	// Linear binning: each value splits its weight between the two
	// nearest grid points.
	grid := make([]float64, bins)
	if step == 0 {
		grid[0] = float64(len(xs))
	} else {
		for _, x := range xs {
			p := (x - lo) / step
			i := int(p)
			if i >= bins-1 {
				grid[bins-1]++
				continue
			}
			f := p - float64(i)
			grid[i] += 1 - f
			grid[i+1] += f
		}
	}
	norm := 1 / (float64(len(xs)) * h * math.Sqrt(2*math.Pi))
	for k, t := range at {
		i0, i1 := 0, 0
		if step > 0 {
			i0 = max(0, int(math.Floor((t-8*h-lo)/step)))
			i1 = min(bins-1, int(math.Ceil((t+8*h-lo)/step)))
		}
		var sum float64
		for i := i0; i <= i1; i++ {
			if grid[i] == 0 {
				continue
			}
			u := (t - (lo + float64(i)*step)) / h
			sum += grid[i] * math.Exp(-0.5*u*u)
		}
		out[k] = sum * norm
	}
	return out
}
