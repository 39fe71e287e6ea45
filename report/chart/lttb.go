package chart

import "math"

// XY is one point of a series.
type XY struct{ X, Y float64 }

// LTTB downsamples pts (sorted by X) to at most n points with Steinarsson's
// Largest-Triangle-Three-Buckets algorithm: it keeps the first and last
// points and, from each bucket between, the point that forms the largest
// triangle with its neighbours, so peaks and troughs survive. pts is
// returned as it is when it has n points or fewer, or n < 3.
func LTTB(pts []XY, n int) []XY {
	if n >= len(pts) || n < 3 {
		return pts
	}
	out := make([]XY, 0, n)
	out = append(out, pts[0])
	every := float64(len(pts)-2) / float64(n-2)
	a := 0
	for i := 0; i < n-2; i++ {
		// The average of the next bucket is the third corner.
		nStart := int(math.Floor(float64(i+1)*every)) + 1
		nEnd := min(int(math.Floor(float64(i+2)*every))+1, len(pts))
		var ax, ay float64
		for _, p := range pts[nStart:nEnd] {
			ax += p.X
			ay += p.Y
		}
		if c := float64(nEnd - nStart); c > 0 {
			ax, ay = ax/c, ay/c
		}
		start := int(math.Floor(float64(i)*every)) + 1
		end := int(math.Floor(float64(i+1)*every)) + 1
		best, bestArea := start, -1.0
		for j := start; j < end; j++ {
			area := math.Abs((pts[a].X-ax)*(pts[j].Y-pts[a].Y) - (pts[a].X-pts[j].X)*(ay-pts[a].Y))
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, pts[best])
		a = best
	}
	return append(out, pts[len(pts)-1])
}
