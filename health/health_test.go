package health

import (
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	cases := []struct {
		scale, want float64
	}{
		{0.020, 0.005}, // ITL 20 ms: a quarter is 5 ms
		{0.030, 0.0075},
		{0.005, 0.003}, // a fast stream: the floor
		{2.0, 0.010},   // TTFT 2 s (no stream): the ceiling
		{0, 0.010},     // nothing to compare with: the ceiling
		{math.NaN(), 0.010},
	}
	for _, c := range cases {
		if got := Limit(c.scale); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Limit(%g) = %g, want %g", c.scale, got, c.want)
		}
	}
}

func TestAssess(t *testing.T) {
	healthy := Report{WallS: 10, CPUCores: 2, CPUUtilization: 0.3, CanarySamples: 900,
		CanaryLagP50S: 0.0002, CanaryLagP90S: 0.0009, CanaryLagP99S: 0.004,
		SchedLatencyP99S: 0.0003, GCPauses: 20, GCPauseP99S: 0.0005, GCPauseSumS: 0.005}
	itl20 := Reference{ITLP50S: 0.020, ScheduleLagP90S: 0.0002, ScheduleLagIsClient: true}
	cases := []struct {
		name   string
		change func(*Report, *Reference)
		want   string // a reason's prefix; "" for healthy
	}{
		{"healthy, though the canary's p99 caught the OS", func(*Report, *Reference) {}, ""},
		{"canary late on most wake-ups", func(r *Report, _ *Reference) { r.CanaryLagP90S = 0.0065 }, "timer wake-up lag p90 6.5 ms > 6.0 ms"},
		{"the same lag is fine when tokens are 100 ms apart", func(r *Report, ref *Reference) { r.CanaryLagP90S, ref.ITLP50S = 0.0065, 0.1 }, ""},
		{"collapsed ITL holds to the floor", func(r *Report, ref *Reference) { r.SchedLatencyP99S, ref.ITLP50S, ref.TTFTP50S = 0.0035, 1e-9, 2 }, "Go scheduler latency p99 3.5 ms > 3.0 ms"},
		{"no stream: TTFT sets the scale", func(r *Report, ref *Reference) { r.SchedLatencyP99S, ref.ITLP50S, ref.TTFTP50S = 0.0035, 0, 2 }, ""},
		{"scheduler", func(r *Report, _ *Reference) { r.SchedLatencyP99S = 0.0051 }, "Go scheduler latency p99 5.1 ms > 5.0 ms"},
		{"CPU", func(r *Report, _ *Reference) { r.CPUUtilization = 0.95 }, "CPU 95% of 2 cores > 90%"},
		{"CPU unknown", func(r *Report, _ *Reference) { r.CPUUtilization = -1 }, ""},
		{"GC stopped the client 2% of the run", func(r *Report, _ *Reference) { r.GCPauseSumS = 0.2 }, "GC pauses 2.0% of the run > 1%"},
		{"schedule lag of the client", func(r *Report, ref *Reference) { ref.ScheduleLagP90S = 0.006 }, "schedule lag p90 6.0 ms > 5.0 ms"},
		{"read lag with kernel stamps", func(r *Report, ref *Reference) {
			ref.KernelStamps, ref.ReadLagP90S, ref.MergedShare = true, 0.0101, 0.0011
		}, "read lag p90 10.1 ms > 10.0 ms, 0.1% of chunks read with the next one"},
		{"a read lag under half the gap moves no kernel time", func(r *Report, ref *Reference) {
			ref.KernelStamps, ref.ReadLagP90S, ref.MergedShare = true, 0.0099, 0.05
		}, ""},
		{"a long read lag that merged no chunks lost no gap", func(r *Report, ref *Reference) {
			ref.KernelStamps, ref.ReadLagP90S, ref.MergedShare = true, 0.3, 0.0009
		}, ""},
		{"chunks merged without long waits are the server's", func(r *Report, ref *Reference) {
			ref.KernelStamps, ref.ReadLagP90S, ref.MergedShare = true, 0.001, 0.5
		}, ""},
		{"with kernel stamps the scheduler is held to the gap", func(r *Report, ref *Reference) {
			ref.KernelStamps, r.SchedLatencyP99S = true, 0.0199
		}, ""},
		{"a p99 scheduler latency of a whole gap", func(r *Report, ref *Reference) {
			ref.KernelStamps, r.SchedLatencyP99S = true, 0.0201
		}, "Go scheduler latency p99 20.1 ms > 20.0 ms"},
		{"with kernel stamps the canary is held to the gap", func(r *Report, ref *Reference) {
			ref.KernelStamps, r.CanaryLagP90S = true, 0.0209
		}, ""},
		{"a canary late by a whole gap", func(r *Report, ref *Reference) {
			ref.KernelStamps, r.CanaryLagP90S = true, 0.0211
		}, "timer wake-up lag p90 21.1 ms > 21.0 ms"},
		{"with kernel stamps and no stream the scheduler is held to L", func(r *Report, ref *Reference) {
			ref.KernelStamps, ref.ITLP50S, ref.TTFTP50S, r.SchedLatencyP99S = true, 0, 0.02, 0.0051
		}, "Go scheduler latency p99 5.1 ms > 5.0 ms"},
		{"read lag without kernel stamps is not measured", func(r *Report, ref *Reference) { ref.ReadLagP90S = 0.3 }, ""},
		{"schedule lag of a concurrency cap is not the client's", func(r *Report, ref *Reference) {
			ref.ScheduleLagP90S, ref.ScheduleLagIsClient = 0.3, false
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ref := healthy, itl20
			c.change(&r, &ref)
			a := Assess(r, ref)
			if c.want == "" {
				if a.ClientLimited || a.Warning != "" || len(a.Reasons) > 0 {
					t.Fatalf("flagged: %q", a.Reasons)
				}
				return
			}
			if !a.ClientLimited || len(a.Reasons) != 1 || !strings.HasPrefix(a.Reasons[0], c.want) {
				t.Fatalf("reasons %q, want one starting %q", a.Reasons, c.want)
			}
			if !strings.HasPrefix(a.Warning, "client-limited: "+a.Reasons[0]) {
				t.Errorf("warning %q", a.Warning)
			}
			// With kernel stamps a late read does not delay arrivals: the
			// warning says what it still distorts, not that timestamps
			// are late.
			if kernel := strings.Contains(a.Warning, "arrivals are the kernel's receive times"); kernel != ref.KernelStamps ||
				ref.KernelStamps == strings.Contains(a.Warning, "timestamps may be late") {
				t.Errorf("kernel stamps %v, warning %q", ref.KernelStamps, a.Warning)
			}
		})
	}
}

// The warning blames other processes when the OS kept the threads
// waiting; the evidence line says how long, or nothing when unknown.
func TestAssessBusyMachine(t *testing.T) {
	r := Report{WallS: 1, CPUCores: 2, CPUUtilization: 0.1, CanarySamples: 90, CanaryLagP90S: 0.02, OSRunWaitPerS: 0.35}
	a := Assess(r, Reference{ITLP50S: 0.02})
	if !strings.Contains(a.Warning, "waited 350 ms per second in the OS run queue (other processes share these cores)") ||
		!strings.Contains(a.Line(), "(OS run-queue wait 350 ms/s)") {
		t.Errorf("warning %q\nline %q", a.Warning, a.Line())
	}
	r.OSRunWaitPerS, r.CPUUtilization = -1, -1
	a = Assess(r, Reference{ITLP50S: 0.02})
	if strings.Contains(a.Warning, "other processes") || strings.Contains(a.Line(), "run-queue") || !strings.HasPrefix(a.Line(), "CPU unknown,") {
		t.Errorf("warning %q\nline %q", a.Warning, a.Line())
	}
}

func TestHistQuantile(t *testing.T) {
	// Buckets [-Inf,0) [0,1) [1,2) [2,4) [4,+Inf).
	h := &metrics.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 0, 1, 2, 4, math.Inf(1)},
		Counts:  []uint64{0, 50, 40, 9, 1},
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 0}, {0.51, 1}, {0.9, 1}, {0.91, 2}, {0.99, 2}, {1, 4}} {
		if got := histQuantile(h, c.q); got != c.want {
			t.Errorf("q%g = %g, want %g", c.q, got, c.want)
		}
	}
	if got := histMax(h); got != 4 {
		t.Errorf("max %g, want 4", got)
	}
	if got, want := histSum(h), 50*0.5+40*1.5+9*3+4.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("sum %g, want %g", got, want)
	}
	a := &metrics.Float64Histogram{Buckets: h.Buckets, Counts: []uint64{0, 10, 40, 0, 0}}
	d := delta(a, h)
	if histCount(d) != 50 || d.Counts[1] != 40 || d.Counts[2] != 0 {
		t.Errorf("delta %v", d.Counts)
	}
	if delta(nil, h) != nil || histQuantile(&metrics.Float64Histogram{Buckets: h.Buckets, Counts: make([]uint64, 5)}, 0.5) != 0 {
		t.Error("empty or missing histograms")
	}
}

// The monitor measures: canary samples at about its period, wall time,
// CPU, and the runtime's histograms; Stop is idempotent.
func TestMonitor(t *testing.T) {
	m := Start()
	deadline := time.Now().Add(150 * time.Millisecond)
	for time.Now().Before(deadline) {
		// Some work, so the CPU reading is not 0.
	}
	r := m.Stop()
	if r2 := m.Stop(); r2 != r {
		t.Errorf("second Stop differs: %+v", r2)
	}
	if r.WallS < 0.14 || r.CanarySamples < 1 || r.CanarySamples > 11 { // 150 ms of 15–35 ms sleeps (fewer when the machine is busy)
		t.Errorf("wall %g s, %d canary samples", r.WallS, r.CanarySamples)
	}
	if r.CPUCores < 1 || r.CPUUtilization != -1 && (r.CPUS <= 0 || r.CPUUtilization <= 0) {
		t.Errorf("CPU %g s on %d cores, utilization %g", r.CPUS, r.CPUCores, r.CPUUtilization)
	}
	if runtime.GOOS == "linux" && (r.OSRunWaitS < 0 || r.OSRunWaitPerS < 0) {
		t.Errorf("no OS run-queue wait on Linux: %+v", r)
	}
	if r.CanaryLagP50S < 0 || r.CanaryLagP50S > r.CanaryLagP99S || r.CanaryLagP99S > r.CanaryLagMaxS {
		t.Errorf("canary quantiles out of order: %+v", r)
	}
}

func TestAddReservoir(t *testing.T) {
	m := &Monitor{}
	for i := range maxCanarySamples + 1000 {
		m.add(float64(i))
	}
	if len(m.canary) != maxCanarySamples || m.canarySn != maxCanarySamples+1000 {
		t.Fatalf("kept %d of %d", len(m.canary), m.canarySn)
	}
	if m.report.CanaryLagMaxS < float64(maxCanarySamples) {
		t.Errorf("max %g lost", m.report.CanaryLagMaxS)
	}
}
