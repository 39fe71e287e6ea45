package stats

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Dist
	}{
		{
			// n=4, h=(n−1)q: p25 h=0.75 → 1+0.75·1 = 1.75; p50 h=1.5 → 2.5;
			// p75 h=2.25 → 3.25; p90 h=2.7 → 3.7; p95 h=2.85 → 3.85;
			// p99 h=2.97 → 3.97. mean 10/4 = 2.5; deviations ±1.5, ±0.5:
			// Σd² = 2.25+0.25+0.25+2.25 = 5, stddev = √(5/3) = 1.2909944487358056.
			name: "numpy example",
			in:   []float64{1, 2, 3, 4},
			want: Dist{Count: 4, Mean: 2.5, Median: 2.5, Min: 1, Max: 4, Stddev: 1.2909944487358056,
				P25: 1.75, P50: 2.5, P75: 3.25, P90: 3.7, P95: 3.85, P99: 3.97},
		},
		{
			// Unsorted input; sorted [0, 5, 10], h = 2q: p25 h=0.5 → 2.5;
			// p50 → 5; p75 h=1.5 → 7.5; p90 h=1.8 → 9; p95 h=1.9 → 9.5;
			// p99 h=1.98 → 9.9. mean 5; Σd² = 25+0+25 = 50, stddev = √25 = 5.
			name: "three unsorted",
			in:   []float64{10, 0, 5},
			want: Dist{Count: 3, Mean: 5, Median: 5, Min: 0, Max: 10, Stddev: 5,
				P25: 2.5, P50: 5, P75: 7.5, P90: 9, P95: 9.5, P99: 9.9},
		},
		{
			// One value: every statistic is the value; the sample stddev is
			// undefined (pandas gives NaN) and reported as 0.
			name: "single",
			in:   []float64{0.25},
			want: Dist{Count: 1, Mean: 0.25, Median: 0.25, Min: 0.25, Max: 0.25,
				P25: 0.25, P50: 0.25, P75: 0.25, P90: 0.25, P95: 0.25, P99: 0.25},
		},
		{
			// NaN and ±Inf are dropped (as pandas drops NaN): [2, 4] remains;
			// p25 h=0.25 → 2.5, p90 h=0.9 → 3.8; stddev √((1+1)/1) = √2.
			name: "non-finite dropped",
			in:   []float64{math.NaN(), 2, math.Inf(1), 4, math.Inf(-1)},
			want: Dist{Count: 2, Mean: 3, Median: 3, Min: 2, Max: 4, Stddev: math.Sqrt2,
				P25: 2.5, P50: 3, P75: 3.5, P90: 3.8, P95: 3.9, P99: 3.98},
		},
		{
			name: "empty",
			in:   nil,
			want: Dist{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.in)
			got := Describe(tt.in)
			if !distNear(got, tt.want) {
				t.Errorf("Describe(%v)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
			if len(orig) != len(tt.in) || !slices.EqualFunc(orig, tt.in, func(a, b float64) bool {
				return a == b || math.IsNaN(a) && math.IsNaN(b)
			}) {
				t.Errorf("Describe modified its input: %v, was %v", tt.in, orig)
			}
		})
	}
}

func TestDescribeNumpyExact(t *testing.T) {
	// numpy.percentile([1,2,3,4], 90) prints 3.7 exactly: h = 3·0.9 =
	// 2.7000000000000002, t = 0.7000000000000002 ≥ 0.5, so numpy's _lerp
	// takes b − (b−a)(1−t) = 4 − 0.2999999999999998 = 3.7 (the double).
	// a + (b−a)·t would give 3.7000000000000002.
	if got := Describe([]float64{1, 2, 3, 4}).P90; got != 3.7 {
		t.Errorf("P90 = %.17g, want exactly 3.7", got)
	}
}

func distNear(a, b Dist) bool {
	return a.Count == b.Count && near(a.Mean, b.Mean) && near(a.Median, b.Median) &&
		near(a.Min, b.Min) && near(a.Max, b.Max) && near(a.Stddev, b.Stddev) &&
		near(a.P25, b.P25) && near(a.P50, b.P50) && near(a.P75, b.P75) &&
		near(a.P90, b.P90) && near(a.P95, b.P95) && near(a.P99, b.P99)
}

func TestPairwiseSum(t *testing.T) {
	// Lengths around the branch points (8, 128, recursion) sum integers
	// exactly: Σ_{i=1..n} i = n(n+1)/2.
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 127, 128, 129, 1000, 4097} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i + 1)
		}
		if got, want := pairwiseSum(xs), float64(n*(n+1)/2); got != want {
			t.Errorf("pairwiseSum(1..%d) = %v, want %v", n, got, want)
		}
	}
	// 0.1 summed 1000 times: pairwise summation is within a few ulps of
	// 100, where a naive loop drifts to 99.9999999999986.
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = 0.1
	}
	if got := pairwiseSum(xs); math.Abs(got-100) > 1e-12 {
		t.Errorf("pairwiseSum(0.1×1000) = %.17g", got)
	}
}

func BenchmarkDescribe(b *testing.B) {
	xs := make([]float64, 10000)
	for i := range xs {
		xs[i] = float64((i * 7919) % 10007)
	}
	b.ReportAllocs()
	for b.Loop() {
		Describe(xs)
	}
}
