package health

import (
	"fmt"
	"strings"
)

// Thresholds of Assess; docs/metrics.md ("Client health") explains them.
const (
	// LimitFloorS and LimitCeilS bound the latency limit: a healthy Go
	// process on a busy shared 2-core machine was measured with scheduler
	// latency p99 and canary p90 up to about 2 ms (3 ms keeps a margin);
	// above 10 ms the client is failing at its job whatever the time scale.
	LimitFloorS = 0.003
	LimitCeilS  = 0.010
	// CPULimit is the share of the available cores above which the
	// process counts as CPU-bound.
	CPULimit = 0.90
	// TimerSlackS is added to the limit for the canary: an idle Go process
	// on Linux sleeps in epoll with a millisecond timeout, so a healthy
	// timer wakes up to 1 ms late.
	TimerSlackS = 0.001
	// GCPauseShareLimit is the share of the run the process may spend
	// stopped for garbage collection.
	GCPauseShareLimit = 0.01
	// MergedShareLimit is the share of output chunks read in one read
	// with a later output chunk (the gap between them lost) above which
	// a long read lag counts as distorting: one in a thousand.
	MergedShareLimit = 0.001
	// BusyMachineWaitPerS is the OS run-queue wait, thread-seconds per
	// second, above which a warning blames other processes too. It is
	// not a rule: it tells whose fault the lateness is.
	BusyMachineWaitPerS = 0.1
)

// Reference is what a run's own numbers say about the time scale that
// matters and about the client's lag, for Assess.
type Reference struct {
	// ITLP50S is the run's median inter-token latency, seconds (0: none,
	// e.g. responses not streamed); TTFTP50S its median TTFT, used when
	// there is no ITL.
	ITLP50S, TTFTP50S float64
	// ScheduleLagP90S is the run's p90 schedule lag, seconds, and
	// ScheduleLagIsClient tells whether it measures the client alone (no
	// concurrency cap or client-side rate limiter held requests back),
	// so that it may count as evidence.
	ScheduleLagP90S     float64
	ScheduleLagIsClient bool
	// KernelStamps tells that every successful request's arrivals are the
	// kernel's receive times (stats.Stamps), so that waiting to be read
	// does not delay them; ReadLagP90S is then the p90 over requests of
	// each one's longest read lag, seconds: how long chunks waited on this
	// host before llmload read them.
	KernelStamps bool
	ReadLagP90S  float64
	// MergedShare is, with KernelStamps, the share of output chunks that
	// came in one read with a later output chunk (stats.Stamps.MergedShare),
	// 0–1: gaps between tokens the run lost.
	MergedShare float64
}

// Assessment is a Report judged against a run: summary.json's
// client_health.
type Assessment struct {
	Report
	// ScheduleLagP90S is the run's p90 schedule lag, seconds.
	ScheduleLagP90S float64 `json:"schedule_lag_p90_s"`
	// KernelStamps and ReadLagP90S are Reference's: arrivals timed by
	// the kernel, and the p90 of each request's longest read lag, seconds
	// (0 without kernel stamps).
	KernelStamps bool    `json:"kernel_stamps"`
	ReadLagP90S  float64 `json:"read_lag_p90_s,omitempty"`
	// MergedShare is Reference's: the share of output chunks read with a
	// later output chunk, 0–1 (0 without kernel stamps).
	MergedShare float64 `json:"merged_share,omitempty"`
	// ReadLagLimitS is the read-lag rule's limit, seconds: half the ITL
	// p50 (a chunk read before its stream's next packet arrives keeps its
	// own receive time), at least LimitS; 0 without kernel stamps.
	ReadLagLimitS float64 `json:"read_lag_limit_s,omitempty"`
	// WaitLimitS is, with kernel stamps, the limit the Go scheduler's
	// latency p99 and the canary's lag p90 were held to, seconds: the ITL
	// p50, at least LimitS. A wait delays no kernel receive time unless a
	// read waits longer than the gap between tokens, which the read-lag
	// rule judges directly; a p99 wait as long as the whole gap says some
	// reads did. 0 without kernel stamps (they are held to LimitS).
	WaitLimitS float64 `json:"wait_limit_s,omitempty"`
	// LimitS is the latency limit the scheduler and the schedule lag were
	// held to (the canary to LimitS + TimerSlackS), seconds: a quarter of
	// the ITL p50 (of the TTFT p50 without ITL), clamped to [LimitFloorS,
	// LimitCeilS].
	LimitS float64 `json:"limit_s"`
	// CPULimit is the CPU utilization limit, 0–1 (CPULimit).
	CPULimit float64 `json:"cpu_limit"`
	// ClientLimited is set when any rule fired: the client may have
	// distorted its own measurements.
	ClientLimited bool `json:"client_limited"`
	// Reasons lists the rules that fired, with their numbers.
	Reasons []string `json:"reasons,omitempty"`
	// Warning says it in one line for people; "" when healthy.
	Warning string `json:"warning,omitempty"`
}

// Limit returns the latency limit, seconds, for a run whose ITL p50 (or,
// without one, TTFT p50) is scaleS seconds: a delay of a quarter of the
// time between tokens shifts the ITL distribution visibly (5 ms matters
// when tokens are 20 ms apart, not when the first one takes 2 s);
// clamped to [3 ms, 10 ms].
func Limit(scaleS float64) float64 {
	if !(scaleS > 0) {
		return LimitCeilS
	}
	return min(max(scaleS/4, LimitFloorS), LimitCeilS)
}

// Assess judges r against a run's reference numbers. The client is
// limited when any of these hold (L = Limit):
//
//   - the canary's p90 wake-up lag exceeds W + TimerSlackS (p90, not p99:
//     on a shared machine the OS deschedules a whole healthy process for a
//     few ms now and then, which a p99 of forty wake-ups a second
//     catches; a client short of CPU is late on most wake-ups);
//   - the Go scheduler's p99 latency (runnable to running) exceeds W;
//   - the p90 schedule lag exceeds L, when it is the client's own;
//   - GC stopped the process for more than GCPauseShareLimit of the run;
//   - CPU use exceeds CPULimit of the available cores;
//   - with kernel stamps, the p90 of each request's longest read lag
//     exceeds half the ITL p50 (at least L) and more than
//     MergedShareLimit of the output chunks were read with a later one:
//     chunks waited on this host long enough to be read with their
//     stream's next one, and some were. A shorter wait does not move a
//     kernel receive time; a long one that merged nothing (one stall of
//     the whole process, when every stream's token comes at once, is
//     every request's longest) cost no gap; merged chunks without long
//     waits are the server's writing several at once.
//
// W is L, or with kernel stamps the ITL p50 (at least L): a late read
// then delays no arrival time unless it waits longer than the gap between
// tokens, which the read lag measures directly, so the scheduler's and
// the canary's waits, which only stand for the reads' waits, count when
// they reach the whole gap.
//
// With kernel stamps a late read does not delay the arrival times, so
// the warning says what is still distorted: chunks that waited longer
// than the gap between tokens were read together and share one time,
// and sends were late.
func Assess(r Report, ref Reference) Assessment {
	scale := ref.ITLP50S
	if !(scale > 0) {
		scale = ref.TTFTP50S
	}
	a := Assessment{Report: r, ScheduleLagP90S: ref.ScheduleLagP90S, LimitS: Limit(scale), CPULimit: CPULimit,
		KernelStamps: ref.KernelStamps}
	if ref.KernelStamps {
		a.ReadLagP90S = ref.ReadLagP90S
		a.MergedShare = ref.MergedShare
		a.ReadLagLimitS = max(a.LimitS, ref.ITLP50S/2)
		a.WaitLimitS = max(a.LimitS, ref.ITLP50S)
	}
	L := a.LimitS
	W := L
	if ref.KernelStamps {
		W = a.WaitLimitS
	}
	ms := func(s float64) string { return fmt.Sprintf("%.1f ms", 1000*s) }
	if r.CanarySamples > 0 && r.CanaryLagP90S > W+TimerSlackS {
		a.Reasons = append(a.Reasons, fmt.Sprintf("timer wake-up lag p90 %s > %s", ms(r.CanaryLagP90S), ms(W+TimerSlackS)))
	}
	if r.SchedLatencyP99S > W {
		a.Reasons = append(a.Reasons, fmt.Sprintf("Go scheduler latency p99 %s > %s", ms(r.SchedLatencyP99S), ms(W)))
	}
	if ref.ScheduleLagIsClient && ref.ScheduleLagP90S > L {
		a.Reasons = append(a.Reasons, fmt.Sprintf("schedule lag p90 %s > %s", ms(ref.ScheduleLagP90S), ms(L)))
	}
	if r.WallS > 0 && r.GCPauseSumS > GCPauseShareLimit*r.WallS {
		a.Reasons = append(a.Reasons, fmt.Sprintf("GC pauses %.1f%% of the run > %.0f%%", 100*r.GCPauseSumS/r.WallS, 100*GCPauseShareLimit))
	}
	if ref.KernelStamps && ref.ReadLagP90S > a.ReadLagLimitS && ref.MergedShare > MergedShareLimit {
		a.Reasons = append(a.Reasons, fmt.Sprintf("read lag p90 %s > %s, %.1f%% of chunks read with the next one",
			ms(ref.ReadLagP90S), ms(a.ReadLagLimitS), 100*ref.MergedShare))
	}
	if r.CPUUtilization > CPULimit {
		a.Reasons = append(a.Reasons, fmt.Sprintf("CPU %.0f%% of %s > %.0f%%", 100*r.CPUUtilization, cores(r.CPUCores), 100*CPULimit))
	}
	if len(a.Reasons) > 0 {
		a.ClientLimited = true
		why := ": llmload was short of CPU or scheduling time"
		if r.OSRunWaitPerS > BusyMachineWaitPerS {
			why = fmt.Sprintf(": llmload was short of CPU or scheduling time, and its threads waited %.0f ms per second in the OS run queue (other processes share these cores)",
				1000*r.OSRunWaitPerS)
		}
		effect := ", so its timestamps may be late by about that much (TTFT too high, ITL bunched towards 0);"
		if ref.KernelStamps {
			effect = "; arrivals are the kernel's receive times, which a late read does not delay, but chunks that waited longer than the gap between tokens were read together with later ones and have their time (ITL bunched towards 0: see bunched_chunks), and requests may have been sent late;"
		}
		a.Warning = "client-limited: " + strings.Join(a.Reasons, "; ") + why + effect +
			" lower the load, give llmload more cores or another machine (llmload selfcheck shows this machine's limit)"
	}
	return a
}

// Line describes the evidence in one line for people: "CPU 35% of 2
// cores (OS run-queue wait 12 ms/s), timer lag p90 0.31 ms (p99 4.20), scheduler latency p99 0.10 ms,
// GC pause p99 0.20 ms, schedule lag p90 0.40 ms (limits 90%, 2.0 ms)",
// with ", timer and scheduler 8.0 ms" in the limits when kernel stamps
// hold those two to the gap between tokens.
func (a *Assessment) Line() string {
	cpu := "CPU unknown"
	if a.CPUUtilization >= 0 {
		cpu = fmt.Sprintf("CPU %.0f%% of %s", 100*a.CPUUtilization, cores(a.CPUCores))
	}
	if a.OSRunWaitPerS >= 0 {
		cpu += fmt.Sprintf(" (OS run-queue wait %.0f ms/s)", 1000*a.OSRunWaitPerS)
	}
	limits := fmt.Sprintf("limits %.0f%%, %.1f ms", 100*a.CPULimit, 1000*a.LimitS)
	if a.WaitLimitS > a.LimitS {
		limits += fmt.Sprintf(", timer and scheduler %.1f ms", 1000*a.WaitLimitS)
	}
	return fmt.Sprintf("%s, timer lag p90 %.2f ms (p99 %.2f), scheduler latency p99 %.2f ms, GC pause p99 %.2f ms, schedule lag p90 %.2f ms (%s)",
		cpu, 1000*a.CanaryLagP90S, 1000*a.CanaryLagP99S, 1000*a.SchedLatencyP99S, 1000*a.GCPauseP99S, 1000*a.ScheduleLagP90S, limits)
}

func cores(n int) string {
	if n == 1 {
		return "1 core"
	}
	return fmt.Sprintf("%d cores", n)
}
