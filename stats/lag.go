package stats

import (
	"fmt"
	"math"

	"github.com/llmload/llmload/record"
)

// Schedule-lag warning.
//
// In an open-loop run the schedule decides when each request is due
// (t_sched); latency is measured from when it was actually sent (t_send).
// When the client falls behind — no free connection, a max-concurrency cap
// reached, a starved CPU — requests go out late, the offered load is lower
// than planned, and the waiting appears in no latency: coordinated
// omission. Schedule lag (t_send − t_sched) makes it visible; the warning
// says when it is large enough to matter.
//
// The rule compares the p99 schedule lag with a limit tied to the
// schedule's own time scale, the mean scheduled inter-arrival time P:
//
//	limit = clamp(P / 10, 1 ms, 10 ms)
//
//   - A tenth of P: a request more than a tenth of a gap late changes the
//     arrival process noticeably (bunching, a lower offered rate).
//   - Never above 10 ms: at slow rates a client 10 ms behind its schedule
//     is failing at its job whatever the gap, and its own timing is
//     suspect at the same scale.
//   - Never below 1 ms: below that, timer and goroutine-scheduling jitter
//     of a healthy Go client dominate; warning there would be noise.
//
// P is the batch interval in batch-interval mode (a batch is due at once);
// in rate mode, the mean gap between consecutive scheduled times of the
// non-warm-up requests (it follows ramps and random arrivals), or 1/Rate
// when it cannot be measured (fewer than two requests). Without any, the
// limit is 10 ms.
// Closed-loop and batch-sequential modes have no open-loop schedule: a
// request is due when the previous one ends, so they never warn.

const (
	lagLimitMax = 0.010 // s
	lagLimitMin = 0.001 // s
)

// LagLimit returns the largest acceptable p99 schedule lag, seconds, for a
// schedule whose mean inter-arrival time is periodS seconds (≤ 0: unknown).
func LagLimit(periodS float64) float64 {
	if !(periodS > 0) || math.IsInf(periodS, 0) {
		return lagLimitMax
	}
	return min(max(periodS/10, lagLimitMin), lagLimitMax)
}

// openLoop reports whether mode has a schedule independent of responses.
func openLoop(mode string) bool {
	return mode == "rate" || mode == "batch-interval"
}

// schedulePeriod returns the mean scheduled inter-arrival time of the
// non-warm-up records, seconds, or the planned one, or 0.
func schedulePeriod(recs []record.Record, run RunInfo) float64 {
	// A batch is due all at once: its requests' schedule is the batch
	// interval, not the gaps between requests (which are zero inside a
	// batch and would make the mean meaningless).
	if run.Mode == "batch-interval" && run.BatchIntervalS > 0 {
		return run.BatchIntervalS
	}
	n := 0
	first, last := math.Inf(1), math.Inf(-1)
	for i := range recs {
		if recs[i].Warmup || recs[i].Attempt > 0 {
			continue
		}
		n++
		first = math.Min(first, recs[i].ScheduledS)
		last = math.Max(last, recs[i].ScheduledS)
	}
	if n >= 2 && last > first {
		return (last - first) / float64(n-1)
	}
	switch {
	case run.Mode == "rate" && run.Rate > 0:
		return 1 / run.Rate
	case run.Mode == "batch-interval" && run.BatchIntervalS > 0:
		return run.BatchIntervalS
	}
	return 0
}

// scheduleLagWarning applies the rule above; "" means no warning.
func scheduleLagWarning(recs []record.Record, run RunInfo, lag Dist, maxInFlight int) string {
	if !openLoop(run.Mode) || lag.Count == 0 {
		return ""
	}
	period := schedulePeriod(recs, run)
	limit := LagLimit(period)
	if !(lag.P99 > limit) {
		return ""
	}
	basis := "the 10 ms ceiling"
	if period > 0 && limit < lagLimitMax {
		basis = fmt.Sprintf("a tenth of the %.1f ms mean scheduled inter-arrival time", 1000*period)
		if limit == lagLimitMin {
			basis = "the 1 ms floor"
		}
	}
	msg := fmt.Sprintf("p99 schedule lag %.1f ms exceeds %.1f ms (%s): requests were sent later than the %s schedule planned,"+
		" so the offered load was lower than planned and that queueing is in no latency (coordinated omission)",
		1000*lag.P99, 1000*limit, basis, run.Mode)
	if run.MaxConcurrency > 0 && maxInFlight >= run.MaxConcurrency {
		msg += fmt.Sprintf("; the max-concurrency cap of %d was reached", run.MaxConcurrency)
	}
	return msg
}
