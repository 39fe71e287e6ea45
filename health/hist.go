package health

import (
	"math"
	"runtime/metrics"
)

// Helpers over runtime/metrics histograms. A bucket i holds values in
// [Buckets[i], Buckets[i+1]); the first and last boundaries may be ±Inf.
// Quantiles are read as the lower boundary of the bucket that holds them
// (never above the truth: the monitor must not cry wolf), the maximum as
// the lower boundary of the highest non-empty bucket. The runtime's time
// histograms have buckets about 1/8 of a power of two wide, so both are
// within ~13% below the true value.

// delta returns b − a bucket by bucket (the run's own histogram), or nil
// when either is missing or their buckets differ.
func delta(a, b *metrics.Float64Histogram) *metrics.Float64Histogram {
	if a == nil || b == nil || len(a.Counts) != len(b.Counts) {
		return nil
	}
	d := &metrics.Float64Histogram{Counts: make([]uint64, len(b.Counts)), Buckets: b.Buckets}
	for i := range b.Counts {
		if b.Counts[i] >= a.Counts[i] {
			d.Counts[i] = b.Counts[i] - a.Counts[i]
		}
	}
	return d
}

func histCount(h *metrics.Float64Histogram) int64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return int64(n)
}

// lower is bucket i's lower boundary, 0 for an unbounded one.
func lower(h *metrics.Float64Histogram, i int) float64 {
	v := h.Buckets[i]
	if math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// histQuantile returns the lower boundary of the bucket holding quantile
// q (0–1) of h; 0 for an empty histogram.
func histQuantile(h *metrics.Float64Histogram, q float64) float64 {
	n := histCount(h)
	if n == 0 {
		return 0
	}
	// The rank of the quantile, from 1: the smallest value with at least
	// q·n values at or below it.
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return lower(h, i)
		}
	}
	return lower(h, len(h.Counts)-1)
}

// histMax returns the lower boundary of the highest non-empty bucket.
func histMax(h *metrics.Float64Histogram) float64 {
	for i := len(h.Counts) - 1; i >= 0; i-- {
		if h.Counts[i] > 0 {
			return lower(h, i)
		}
	}
	return 0
}

// histSum estimates the sum of h's values from each bucket's midpoint
// (its lower boundary for an unbounded one).
func histSum(h *metrics.Float64Histogram) float64 {
	var s float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		v := lower(h, i)
		if hi := h.Buckets[i+1]; !math.IsInf(hi, 0) {
			v = (v + hi) / 2
		}
		s += float64(c) * v
	}
	return s
}
