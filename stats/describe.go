// Package stats turns records into numbers: distributions (Describe), the
// run summary written to summary.json (Summarize), concurrency over time
// (Timeline) and an approximate live view for progress bars (Live).
//
// Everything but Live is exact: it is computed from every record, never from
// a sample or a sketch. Every metric is defined in docs/metrics.md.
package stats

import (
	"math"
	"slices"
)

// Dist describes a distribution of values: the summary DESIGN.md asks for
// every metric. All fields are zero when Count is 0.
type Dist struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Stddev is the sample standard deviation (ddof=1, as pandas'
	// Series.std that LLMPerf uses); 0 when Count < 2.
	Stddev float64 `json:"stddev"`
	P25    float64 `json:"p25"`
	P50    float64 `json:"p50"`
	P75    float64 `json:"p75"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
}

// Describe summarizes xs exactly. It does not modify xs.
//
// It reproduces what LLMPerf gets from pandas (Series.mean, Series.std,
// Series.quantile), down to the order of floating-point operations, so the
// same values give the same numbers:
//   - percentiles interpolate linearly between the closest ranks (numpy's
//     default "linear" method): with the values sorted, h = (n−1)·q and the
//     result lies between x[⌊h⌋] and x[⌊h⌋+1];
//   - the mean is numpy's pairwise sum, in the order given, divided by n;
//   - the standard deviation is pandas' two-pass sample deviation (ddof=1).
//
// Non-finite values (NaN, ±Inf) are ignored, as pandas ignores NaN; they
// would also make the summary unencodable as JSON. An empty input gives the
// zero Dist.
func Describe(xs []float64) Dist {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vals = append(vals, x)
		}
	}
	n := len(vals)
	if n == 0 {
		return Dist{}
	}
	// Mean and variance in the input order, as pandas does.
	mean := pairwiseSum(vals) / float64(n)
	var stddev float64
	if n > 1 {
		sq := make([]float64, n)
		for i, x := range vals {
			d := mean - x
			sq[i] = d * d
		}
		stddev = math.Sqrt(pairwiseSum(sq) / float64(n-1))
	}
	slices.Sort(vals)
	d := Dist{
		Count:  n,
		Mean:   mean,
		Min:    vals[0],
		Max:    vals[n-1],
		Stddev: stddev,
		P25:    quantileSorted(vals, 0.25),
		P50:    quantileSorted(vals, 0.50),
		P75:    quantileSorted(vals, 0.75),
		P90:    quantileSorted(vals, 0.90),
		P95:    quantileSorted(vals, 0.95),
		P99:    quantileSorted(vals, 0.99),
	}
	d.Median = d.P50
	return d
}

// quantileSorted is numpy's percentile with method="linear" on sorted
// values, q in [0, 1]. numpy's _lerp computes a+(b−a)·t, or b−(b−a)·(1−t)
// when t ≥ 0.5 (more exact near b); we do the same so results match to the
// last bit. The explicit float64 conversions forbid fused multiply-adds,
// which numpy does not use either.
func quantileSorted(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	h := float64(float64(n-1) * q)
	if h >= float64(n-1) {
		return sorted[n-1]
	}
	if h <= 0 {
		return sorted[0]
	}
	lo := math.Floor(h)
	i := int(lo)
	t := h - lo
	a, b := sorted[i], sorted[i+1]
	diff := b - a
	if t >= 0.5 {
		return b - float64(diff*(1-t))
	}
	return a + float64(diff*t)
}

// pairwiseSum is numpy's pairwise summation (umath loops_utils:
// pairwise_sum, block size 128, unrolled by 8), used by ndarray.sum and so
// by pandas' mean and std. Summing the same way as pandas makes our means
// agree with LLMPerf's bit for bit; it is also more accurate than a plain
// loop.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			r[0] += a[i]
			r[1] += a[i+1]
			r[2] += a[i+2]
			r[3] += a[i+3]
			r[4] += a[i+4]
			r[5] += a[i+5]
			r[6] += a[i+6]
			r[7] += a[i+7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// div returns a/b, or 0 when b is 0 or the result is not finite: summary
// fields must stay encodable as JSON.
func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	r := a / b
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return 0
	}
	return r
}
