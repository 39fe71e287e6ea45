package stats

import (
	"math"
	"slices"

	"github.com/llmload/llmload/record"
)

// A request is in flight over the half-open interval [sent_s, sent_s+e2e_s):
// a closed-loop worker whose next request is sent the instant the last one
// ends has exactly one request in flight, never two.

// Point is the state of a run at one instant of a Timeline.
type Point struct {
	// T is the instant, seconds since the run's start (the time base of
	// record.Record's sent_s).
	T float64 `json:"t_s"`
	// InFlight is the number of requests in flight at T exactly.
	InFlight int `json:"in_flight"`
	// Sent, Done and Errors count requests sent, ended, and ended with an
	// error in (T − step, T] ((−∞, 0] for the first point).
	Sent   int `json:"sent"`
	Done   int `json:"done"`
	Errors int `json:"errors"`
	// OutputTokens sums n_out of the successful requests that ended in
	// (T − step, T].
	OutputTokens int `json:"output_tokens"`
}

// Timeline samples the run every step seconds, from T = 0 until the first
// point at or after the last request's end, when nothing is in flight.
// It is exact: InFlight is counted from the records' intervals, not
// estimated. Warm-up records are excluded, as from every statistic. It
// returns nil for step ≤ 0 or no records; the number of points is
// ⌈last end / step⌉ + 1, so choose step accordingly.
func Timeline(recs []record.Record, step float64) []Point {
	if !(step > 0) || math.IsInf(step, 0) {
		return nil
	}
	type ev struct {
		t   float64
		end bool
		rec *record.Record
	}
	evs := make([]ev, 0, 2*len(recs))
	lastEnd := math.Inf(-1)
	for i := range recs {
		r := &recs[i]
		if r.Warmup {
			continue
		}
		end := r.SentS + r.E2ES
		evs = append(evs, ev{r.SentS, false, r}, ev{end, true, r})
		lastEnd = math.Max(lastEnd, end)
	}
	if len(evs) == 0 {
		return nil
	}
	slices.SortStableFunc(evs, cmpEvents(func(e ev) (float64, bool) { return e.t, e.end }))

	n := int(math.Ceil(math.Max(lastEnd, 0)/step)) + 1
	pts := make([]Point, 0, n)
	inFlight, j := 0, 0
	for k := range n {
		p := Point{T: float64(k) * step}
		// Events at or before T: [sent, end) means a request sent at T
		// is in flight at T, one ending at T is not.
		for ; j < len(evs) && evs[j].t <= p.T; j++ {
			e := evs[j]
			if !e.end {
				inFlight++
				p.Sent++
				continue
			}
			inFlight--
			p.Done++
			if !e.rec.OK() {
				p.Errors++
			} else {
				p.OutputTokens += e.rec.OutputTokens
			}
		}
		p.InFlight = inFlight
		pts = append(pts, p)
	}
	return pts
}

// cmpEvents orders events by time, ends before starts at the same time
// (half-open intervals).
func cmpEvents[E any](key func(E) (float64, bool)) func(a, b E) int {
	return func(a, b E) int {
		ta, ea := key(a)
		tb, eb := key(b)
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		case ea && !eb:
			return -1
		case !ea && eb:
			return 1
		}
		return 0
	}
}

// concurrency computes the time-weighted mean and the maximum number of
// non-warm-up requests in flight over a window of w seconds. Every interval
// lies inside the window (the window is their hull), so the integral of the
// in-flight count is exactly Σ e2e_s.
func concurrency(recs []record.Record, w float64) Concurrency {
	type ev struct {
		t   float64
		end bool
	}
	var evs []ev
	var busy float64
	for i := range recs {
		r := &recs[i]
		if r.Warmup {
			continue
		}
		busy += r.E2ES
		evs = append(evs, ev{r.SentS, false}, ev{r.SentS + r.E2ES, true})
	}
	slices.SortStableFunc(evs, cmpEvents(func(e ev) (float64, bool) { return e.t, e.end }))
	cur, maxIn := 0, 0
	for _, e := range evs {
		if e.end {
			cur--
		} else {
			cur++
			maxIn = max(maxIn, cur)
		}
	}
	return Concurrency{Mean: div(busy, w), Max: maxIn}
}
