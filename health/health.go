// Package health watches the llmload process while it measures, to tell
// when the client itself may be distorting its own measurements: a starved
// CPU, an overloaded Go scheduler, long garbage-collection pauses. Above a
// few thousand streams on a small machine a load tester reads chunks late,
// in bursts, and stamps them late: TTFT grows and ITL collapses towards 0,
// silently. The monitor makes that visible.
//
// A Monitor is started before a run and stopped after it; it costs one
// goroutine waking about 40 times a second (the canary) and a few
// runtime/metrics and getrusage reads, none on the request path. Stop returns the raw evidence
// (a Report); Assess judges it against the run's own time scale.
//
// docs/metrics.md ("Client health") documents every number and threshold.
package health

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"
)

// The canary goroutine sleeps a random time in [CanaryMinSleep,
// CanaryMaxSleep) each time; how late it wakes up is its lag. Random, so
// that its wake-ups do not lock to the phase of a server's decode steps
// (every 20 ms, say) and sample the bursts and the quiet between them
// alike. About 40 wake-ups a second: each wakes an idle process (a thread,
// the runtime's sysmon), which at 100 a second cost ≈ 10 ms of CPU per
// second, ≈ 2 µs per token at 100 streams (docs/performance.md).
const (
	CanaryMinSleep = 15 * time.Millisecond
	CanaryMaxSleep = 35 * time.Millisecond
)

// canarySleep returns the canary's next sleep.
func canarySleep() time.Duration {
	return CanaryMinSleep + rand.N(CanaryMaxSleep-CanaryMinSleep)
}

// maxCanarySamples bounds the canary's memory: beyond it (about 27
// minutes of run) samples are kept by reservoir sampling.
const maxCanarySamples = 1 << 16

// Report is what a Monitor measured over a run, before any judgement.
// Durations are seconds.
type Report struct {
	// WallS is how long the monitor ran, seconds.
	WallS float64 `json:"wall_s"`
	// CPUS is the process CPU time (user + system) used meanwhile, seconds;
	// CPUCores the cores the process could use, min(GOMAXPROCS, NumCPU);
	// CPUUtilization is CPUS / (WallS × CPUCores), 0–1. -1: unknown (no
	// getrusage on this platform).
	CPUS           float64 `json:"cpu_s"`
	CPUCores       int     `json:"cpu_cores"`
	CPUUtilization float64 `json:"cpu_utilization"`
	// Canary* describe how late a goroutine sleeping 15–35 ms woke up.
	CanarySamples int     `json:"canary_samples"`
	CanaryLagP50S float64 `json:"canary_lag_p50_s"`
	CanaryLagP90S float64 `json:"canary_lag_p90_s"`
	CanaryLagP99S float64 `json:"canary_lag_p99_s"`
	CanaryLagMaxS float64 `json:"canary_lag_max_s"`
	// SchedLatency* describe how long goroutines waited runnable before
	// they ran (runtime/metrics /sched/latencies:seconds, over the run).
	SchedLatencyP50S float64 `json:"sched_latency_p50_s"`
	SchedLatencyP99S float64 `json:"sched_latency_p99_s"`
	SchedLatencyMaxS float64 `json:"sched_latency_max_s"`
	// GC* describe the stop-the-world pauses of garbage collection over the
	// run (/sched/pauses/total/gc:seconds): how many, and p99, max and sum.
	GCPauses    int64   `json:"gc_pauses"`
	GCPauseP99S float64 `json:"gc_pause_p99_s"`
	GCPauseMaxS float64 `json:"gc_pause_max_s"`
	GCPauseSumS float64 `json:"gc_pause_total_s"`
	// OSRunWaitS is the time the process's threads spent runnable but
	// waiting for a CPU in the kernel's run queue (Linux schedstat),
	// summed over threads, seconds; OSRunWaitPerS is that per second of
	// the run. A high value means other processes are taking the cores.
	// -1: unknown (not Linux).
	OSRunWaitS    float64 `json:"os_run_wait_s"`
	OSRunWaitPerS float64 `json:"os_run_wait_per_s"`
}

// Monitor watches the process from Start to Stop. Its methods are safe to
// call from any goroutine; Stop may be called more than once.
type Monitor struct {
	start    time.Time
	cpu0     float64
	sched0   *metrics.Float64Histogram
	gc0      *metrics.Float64Histogram
	gcName   string
	wait0    map[string]float64
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	report   Report
	canary   []float64 // lags, seconds
	canarySn int       // samples seen
}

// Runtime metric names. The GC pause histogram was renamed in Go 1.22;
// the old name remains as an alias.
const (
	schedMetric = "/sched/latencies:seconds"
	gcMetric    = "/sched/pauses/total/gc:seconds"
	gcMetricOld = "/gc/pauses:seconds"
)

// Start starts a Monitor.
func Start() *Monitor {
	m := &Monitor{stop: make(chan struct{}), done: make(chan struct{}), gcName: gcMetric}
	if !hasMetric(gcMetric) {
		m.gcName = gcMetricOld
	}
	m.sched0, m.gc0 = m.histograms()
	m.cpu0 = ProcessCPU()
	m.wait0 = osRunWait()
	m.start = time.Now()
	go m.canaryLoop()
	return m
}

// canaryLoop sleeps canarySleep() again and again and records how late it
// woke up each time.
func (m *Monitor) canaryLoop() {
	defer close(m.done)
	d := canarySleep()
	t := time.NewTimer(d)
	defer t.Stop()
	due := time.Now().Add(d)
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		m.add(now.Sub(due).Seconds())
		d = canarySleep()
		due = now.Add(d)
		t.Reset(d)
	}
}

// add keeps one canary lag, by reservoir sampling past maxCanarySamples.
func (m *Monitor) add(lag float64) {
	m.canarySn++
	if len(m.canary) < maxCanarySamples {
		m.canary = append(m.canary, lag)
		return
	}
	if i := rand.IntN(m.canarySn); i < maxCanarySamples {
		m.canary[i] = lag
	}
	m.report.CanaryLagMaxS = math.Max(m.report.CanaryLagMaxS, lag)
}

// Stop stops the monitor and returns what it measured.
func (m *Monitor) Stop() Report {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		r := &m.report
		r.WallS = time.Since(m.start).Seconds()
		r.CPUCores = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
		r.CPUUtilization = -1
		if cpu := ProcessCPU(); cpu >= 0 && m.cpu0 >= 0 {
			r.CPUS = cpu - m.cpu0
			if r.WallS > 0 {
				r.CPUUtilization = r.CPUS / (r.WallS * float64(r.CPUCores))
			}
		}
		r.OSRunWaitS, r.OSRunWaitPerS = -1, -1
		if m.wait0 != nil {
			if w1 := osRunWait(); w1 != nil {
				r.OSRunWaitS = 0
				for tid, w := range w1 {
					r.OSRunWaitS += max(w-m.wait0[tid], 0) // a new thread: all of it
				}
				if r.WallS > 0 {
					r.OSRunWaitPerS = r.OSRunWaitS / r.WallS
				}
			}
		}
		r.CanarySamples = len(m.canary)
		if len(m.canary) > 0 {
			slices.Sort(m.canary)
			r.CanaryLagP50S = quantileSorted(m.canary, 0.50)
			r.CanaryLagP90S = quantileSorted(m.canary, 0.90)
			r.CanaryLagP99S = quantileSorted(m.canary, 0.99)
			r.CanaryLagMaxS = math.Max(r.CanaryLagMaxS, m.canary[len(m.canary)-1])
		}
		sched1, gc1 := m.histograms()
		if d := delta(m.sched0, sched1); d != nil {
			r.SchedLatencyP50S = histQuantile(d, 0.50)
			r.SchedLatencyP99S = histQuantile(d, 0.99)
			r.SchedLatencyMaxS = histMax(d)
		}
		if d := delta(m.gc0, gc1); d != nil {
			r.GCPauses = histCount(d)
			r.GCPauseP99S = histQuantile(d, 0.99)
			r.GCPauseMaxS = histMax(d)
			r.GCPauseSumS = histSum(d)
		}
	})
	return m.report
}

func (m *Monitor) histograms() (sched, gc *metrics.Float64Histogram) {
	s := []metrics.Sample{{Name: schedMetric}, {Name: m.gcName}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		sched = s[0].Value.Float64Histogram()
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		gc = s[1].Value.Float64Histogram()
	}
	return sched, gc
}

func hasMetric(name string) bool {
	for _, d := range metrics.All() {
		if d.Name == name {
			return true
		}
	}
	return false
}

// quantileSorted interpolates linearly between closest ranks, as stats does.
func quantileSorted(xs []float64, q float64) float64 {
	h := float64(len(xs)-1) * q
	lo := int(h)
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}
