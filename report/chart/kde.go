package chart

import (
	"math"
	"slices"
)

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
	s := slices.Clone(xs)
	slices.Sort(s)
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
	iqr := quantile(s, 0.75) - quantile(s, 0.25)
	spread := sigma
	if iqr > 0 {
		spread = math.Min(sigma, iqr/1.34)
	}
	return 0.9 * spread * math.Pow(float64(n), -0.2)
}

// quantile interpolates linearly between closest ranks of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	h := float64(len(sorted)-1) * q
	i := int(h)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// kdeBins is the resolution of the binned estimate: values are spread
// onto this many grid cells before the kernel is applied, so the cost is
// O(n + kdeBins·points) whatever n is (a million ITL gaps included).
const kdeBins = 1024

// KDE evaluates the Gaussian kernel density estimate of xs with bandwidth
// h at the given points. The density integrates to 1 over the real line.
// xs is linearly binned onto a fine grid over [min, max] first (Wand &
// Jones' binned KDE): the error is far below what a chart shows, and the
// cost no longer grows with n × points. It returns zeros when h ≤ 0 or xs
// is empty.
func KDE(xs []float64, h float64, at []float64) []float64 {
	out := make([]float64, len(at))
	if !(h > 0) || len(xs) == 0 {
		return out
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	// Linear binning: each value splits its weight between the two
	// nearest grid points.
	grid := make([]float64, kdeBins)
	step := (hi - lo) / float64(kdeBins-1)
	if step == 0 {
		grid[0] = float64(len(xs))
	} else {
		for _, x := range xs {
			p := (x - lo) / step
			i := int(p)
			if i >= kdeBins-1 {
				grid[kdeBins-1]++
				continue
			}
			f := p - float64(i)
			grid[i] += 1 - f
			grid[i+1] += f
		}
	}
	norm := 1 / (float64(len(xs)) * h * math.Sqrt(2*math.Pi))
	for k, t := range at {
		var sum float64
		for i, w := range grid {
			if w == 0 {
				continue
			}
			u := (t - (lo + float64(i)*step)) / h
			if u > 8 || u < -8 {
				continue
			}
			sum += w * math.Exp(-0.5*u*u)
		}
		out[k] = sum * norm
	}
	return out
}
