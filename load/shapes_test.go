package load

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/workload"
)

func gaps(a *arrivals, n int) []float64 {
	out := make([]float64, n)
	prev := a.next()
	for i := range out {
		t := a.next()
		out[i] = (t - prev).Seconds()
		prev = t
	}
	return out
}

func meanVar(xs []float64) (m, v float64) {
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, v / float64(len(xs)-1)
}

func TestArrivalProcesses(t *testing.T) {
	cases := []struct {
		name             string
		plan             Plan
		wantMean, wantVa float64
		tolMean, tolVar  float64 // relative
	}{
		// Poisson at 10/s: exponential gaps, mean 0.1 s, variance 0.01 s².
		{"poisson", Plan{Rate: 10, Arrival: ArrivalPoisson, Seed: 7}, 0.1, 0.01, 0.04, 0.1},
		// Gamma shape 0.25 (bursty): mean 0.1 s, variance 1/(k R²) = 0.04 s².
		{"gamma bursty", Plan{Rate: 10, Arrival: ArrivalGamma, Burstiness: 0.25, Seed: 7}, 0.1, 0.04, 0.06, 0.2},
		// Gamma shape 4 (smoother than Poisson): variance 0.0025 s².
		{"gamma smooth", Plan{Rate: 10, Arrival: ArrivalGamma, Burstiness: 4, Seed: 7}, 0.1, 0.0025, 0.03, 0.1},
		// Constant: every gap exactly 1/R.
		{"constant", Plan{Rate: 10, Arrival: ArrivalConstant}, 0.1, 0, 1e-9, 1e-9},
	}
	for _, c := range cases {
		g := gaps(newArrivals(c.plan), 5000)
		m, v := meanVar(g)
		if math.Abs(m-c.wantMean)/c.wantMean > c.tolMean {
			t.Errorf("%s: mean gap %.5f, want %.5f ±%.0f%%", c.name, m, c.wantMean, 100*c.tolMean)
		}
		if c.wantVa == 0 && v > 1e-12 || c.wantVa > 0 && math.Abs(v-c.wantVa)/c.wantVa > c.tolVar {
			t.Errorf("%s: gap variance %.6f, want %.6f ±%.0f%%", c.name, v, c.wantVa, 100*c.tolVar)
		}
	}
	// The same seed gives the same schedule.
	a, b := newArrivals(Plan{Rate: 5, Seed: 3}), newArrivals(Plan{Rate: 5, Seed: 3})
	for range 100 {
		if a.next() != b.next() {
			t.Fatal("same seed, different arrivals")
		}
	}
}

func TestArrivalsRamp(t *testing.T) {
	// Constant arrivals ramping to 20/s over 2 s: Λ(2 s) = R·T/2 = 20
	// arrivals in the ramp, then 20 per second.
	a := newArrivals(Plan{Rate: 20, Arrival: ArrivalConstant, Ramp: 2 * time.Second})
	inRamp, inNext := 0, 0
	for {
		at := a.next().Seconds()
		if at > 3 {
			break
		}
		if at < 2 {
			inRamp++
		} else {
			inNext++
		}
	}
	if inRamp < 20 || inRamp > 21 || inNext < 19 || inNext > 21 {
		t.Errorf("arrivals: %d during the 2 s ramp (want ~20), %d in the next second (want ~20)", inRamp, inNext)
	}
}

// simRunner returns a runner against the simulator at a fast time scale.
func simRunner(t *testing.T, opts sim.Options, plan Plan, outTokens int) (*Runner, *collector) {
	t.Helper()
	srv, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r, c := newRunner(t, srv, plan)
	r.Template.Model = srv.ModelName()
	r.Template.IgnoreEOS = true
	r.Source = fixedLen{outTokens}
	return r, c
}

// fixedLen is a prompt source with a short prompt and exact output length.
type fixedLen struct{ out int }

func (f fixedLen) Prompt(int64) workload.Prompt {
	return workload.Prompt{Text: "Say something about load testing.", InputTokens: 6, MaxTokens: f.out}
}

func TestBatchIntervalStartsOnSchedule(t *testing.T) {
	// Start lag is wall-clock time on a shared machine: a scheduler that
	// is wrong misses every attempt, a machine that was busy for a moment
	// misses one. The schedule itself is checked exactly every time.
	var problems []string
	for attempt := 1; attempt <= 3; attempt++ {
		if problems = batchIntervalOnce(t); len(problems) == 0 {
			return
		}
		t.Logf("attempt %d: %s", attempt, strings.Join(problems, "; "))
	}
	t.Error(strings.Join(problems, "; "))
}

// batchIntervalOnce runs batches of 4 every 100 ms; each request takes
// longer than that, so batches overlap: the interval mode must not wait
// for them. It returns the timing problems it saw.
func batchIntervalOnce(t *testing.T) []string {
	r, c := simRunner(t, sim.Options{TimeScale: 0.1}, Plan{Mode: ModeBatchInterval, BatchSize: 4,
		BatchInterval: 100 * time.Millisecond, Batches: 5, Timeout: 10 * time.Second}, 60)
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 20 || res.StopReason != StopBatches {
		t.Fatalf("%d records, stop %q; want 20 and batches", len(c.recs), res.StopReason)
	}
	var problems []string
	var ends [6]float64
	var lags []float64
	for _, rec := range c.recs {
		if !rec.OK() {
			t.Fatalf("request failed: %s", rec.Error)
		}
		want := float64(rec.Batch-1) * 0.1
		if math.Abs(rec.ScheduledS-want) > 1e-9 {
			t.Fatalf("batch %d scheduled at %.4fs, want %.4fs", rec.Batch, rec.ScheduledS, want)
		}
		lag := rec.SentS - rec.ScheduledS
		if lag < 0 {
			t.Fatalf("batch %d request sent %.2f ms before its schedule", rec.Batch, -1000*lag)
		}
		if lag > 0.010 {
			problems = append(problems, fmt.Sprintf("batch %d request sent %.2f ms after its schedule", rec.Batch, 1000*lag))
		}
		lags = append(lags, lag)
		ends[rec.Batch] = math.Max(ends[rec.Batch], rec.SentS+rec.E2ES)
	}
	sort.Float64s(lags)
	if med := lags[len(lags)/2]; med > 0.003 {
		problems = append(problems, fmt.Sprintf("median start lag %.2f ms; want within a few ms", 1000*med))
	}
	overlap := false
	for _, rec := range c.recs {
		if rec.Batch > 1 && rec.SentS < ends[rec.Batch-1] {
			overlap = true
		}
	}
	if !overlap {
		t.Fatal("no batch started before the previous one ended; the test needs overlap to prove the interval mode does not wait")
	}
	return problems
}

func TestBatchSequentialNeverOverlaps(t *testing.T) {
	r, c := simRunner(t, sim.Options{TimeScale: 0.05}, Plan{Mode: ModeBatchSequential, BatchSize: 3,
		Batches: 4, Timeout: 10 * time.Second}, 20)
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 12 {
		t.Fatalf("%d records, want 12", len(c.recs))
	}
	firstSend := map[int]float64{}
	lastEnd := map[int]float64{}
	for _, rec := range c.recs {
		if f, ok := firstSend[rec.Batch]; !ok || rec.SentS < f {
			firstSend[rec.Batch] = rec.SentS
		}
		lastEnd[rec.Batch] = math.Max(lastEnd[rec.Batch], rec.SentS+rec.E2ES)
	}
	for b := 2; b <= 4; b++ {
		if firstSend[b] < lastEnd[b-1] {
			t.Errorf("batch %d started at %.4fs before batch %d ended at %.4fs", b, firstSend[b], b-1, lastEnd[b-1])
		}
	}
}

func TestOpenLoopRecordsScheduleLagWhenServerIsSlower(t *testing.T) {
	// 100 requests/s, at most 2 in flight, each taking ≥ 50 ms: the server
	// carries about 40/s, so arrivals queue client-side and the lag grows.
	s := &sseServer{first: 50 * time.Millisecond, n: 1}
	r, c := newRunner(t, s, Plan{Mode: ModeRate, Rate: 100, Arrival: ArrivalConstant, MaxConcurrency: 2,
		MaxRequests: 30, Timeout: 10 * time.Second})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 30 {
		t.Fatalf("%d records", len(c.recs))
	}
	sort.Slice(c.recs, func(i, j int) bool { return c.recs[i].ID < c.recs[j].ID })
	for i, rec := range c.recs {
		if want := float64(i) * 0.01; math.Abs(rec.ScheduledS-want) > 1e-9 {
			t.Errorf("request %d scheduled at %.4f, want %.4f (the schedule must not move)", i, rec.ScheduledS, want)
		}
	}
	last := c.recs[29]
	// Request 29 was due at 0.29 s but waits for ~14 earlier pairs of 50 ms.
	if lag := last.SentS - last.ScheduledS; lag < 0.3 {
		t.Errorf("last request's schedule lag %.3fs; want the queueing to show (> 0.3 s)", lag)
	}
	if p := s.peak.Load(); p > 2 {
		t.Errorf("peak in flight %d beyond the cap of 2", p)
	}
}

func TestOpenLoopNeverWaitsForResponses(t *testing.T) {
	// 50 requests/s for 0.2 s against a server that takes 1 s: all ten
	// must be sent about on time, none waiting for another to end. The
	// bound is half the response time, so that a loaded machine (-race
	// beside other packages) cannot fail it while a request that waited
	// for a response still would.
	s := &sseServer{first: time.Second, n: 1}
	r, c := newRunner(t, s, Plan{Mode: ModeRate, Rate: 50, Arrival: ArrivalConstant,
		MaxRequests: 10, Timeout: 5 * time.Second})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, rec := range c.recs {
		if lag := rec.SentS - rec.ScheduledS; lag > 0.5 {
			t.Errorf("request %d sent %.1f ms late", rec.ID, 1000*lag)
		}
	}
	if p := s.peak.Load(); p < 9 {
		t.Errorf("peak in flight %d; open loop should have had ~10 outstanding", p)
	}
}

func TestClosedLoopRampAndTimeline(t *testing.T) {
	s := &sseServer{first: 30 * time.Millisecond, n: 1}
	r, c := newRunner(t, s, Plan{Concurrency: 4, Ramp: 300 * time.Millisecond, Duration: 600 * time.Millisecond, Timeout: 5 * time.Second})
	var mu sync.Mutex
	var samples []record.Sample
	r.SampleEvery = 20 * time.Millisecond
	r.OnSample = func(s record.Sample) { mu.Lock(); samples = append(samples, s); mu.Unlock() }
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, rec := range c.recs {
		if rec.ScheduledS < 0.09 && rec.TargetLoad != 1 {
			t.Errorf("request at %.3fs has target load %v, want 1 early in the ramp", rec.ScheduledS, rec.TargetLoad)
		}
		if rec.ScheduledS > 0.31 && rec.TargetLoad != 4 {
			t.Errorf("request at %.3fs has target load %v, want 4 after the ramp", rec.ScheduledS, rec.TargetLoad)
		}
		if rec.Worker == 3 && rec.ScheduledS < 0.299 {
			t.Errorf("worker 3 sent at %.3fs, before it joins at 0.3 s", rec.ScheduledS)
		}
	}
	if len(samples) < 10 {
		t.Fatalf("%d timeline samples in 0.6 s at 20 ms", len(samples))
	}
	maxEarly, maxLate := int64(0), int64(0)
	for _, sm := range samples {
		if sm.T < 0.09 {
			maxEarly = max(maxEarly, sm.InFlight)
		} else if sm.T > 0.35 && sm.T < 0.55 {
			maxLate = max(maxLate, sm.InFlight)
		}
	}
	if maxEarly > 1 || maxLate < 3 {
		t.Errorf("in flight early %d (want ≤ 1), later %d (want ≥ 3)", maxEarly, maxLate)
	}
	if last := samples[len(samples)-1]; last.InFlight != 0 || last.Ended != int64(len(c.recs)) {
		t.Errorf("last sample %+v, want nothing in flight and %d ended", last, len(c.recs))
	}
}

// TestRateRampTargetInTimeline: during a rate ramp the timeline once showed
// a target of 0 until the first arrival (0.75 s here, later with gamma
// arrivals) while the rate was already rising, and the first record had no
// target_load key. The target now follows the ramp at every sample.
func TestRateRampTargetInTimeline(t *testing.T) {
	s := &sseServer{first: 5 * time.Millisecond, n: 1}
	// 4 req/s ramped over 2 s: the first arrival is at sqrt(2·2·1/4) = 1 s.
	r, c := newRunner(t, s, Plan{Mode: ModeRate, Rate: 4, Arrival: ArrivalConstant, Ramp: 2 * time.Second,
		Duration: 1300 * time.Millisecond, Timeout: 5 * time.Second})
	var mu sync.Mutex
	var samples []record.Sample
	r.SampleEvery = 50 * time.Millisecond
	r.OnSample = func(s record.Sample) { mu.Lock(); samples = append(samples, s); mu.Unlock() }
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var early int
	for _, sm := range samples {
		if sm.T > 0.1 && sm.T < 0.9 {
			early++
			want := 4 * sm.T / 2
			if math.Abs(sm.TargetLoad-want) > 0.25 {
				t.Errorf("sample at %.3fs: target %.3f, want the ramp's %.3f", sm.T, sm.TargetLoad, want)
			}
		}
	}
	if early < 5 {
		t.Errorf("%d samples before the first arrival", early)
	}
	if len(c.recs) == 0 {
		t.Fatal("no request")
	}
	line, err := json.Marshal(&c.recs[0])
	if err != nil || !strings.Contains(string(line), `"target_load":`) {
		t.Errorf("first record has no target_load: %s (%v)", line, err)
	}
}

// TestWarmupEndsBeforeMeasurement: with --warmup 5 --concurrency 4 the
// first measured request once went out at 0.35 s while warm-up ran until
// 0.89 s. Now every shape starts after the last warm-up request ended, and
// its schedule and duration count from there.
func TestWarmupEndsBeforeMeasurement(t *testing.T) {
	for _, plan := range []Plan{
		{Concurrency: 4, Warmup: 5, MaxRequests: 8},
		{Concurrency: 4, Warmup: 5, Ramp: 100 * time.Millisecond, Duration: 300 * time.Millisecond},
		{Mode: ModeRate, Rate: 40, Arrival: ArrivalConstant, Warmup: 5, MaxRequests: 8},
		{Mode: ModeBatchInterval, BatchSize: 3, BatchInterval: 50 * time.Millisecond, Batches: 3, Warmup: 5},
		{Mode: ModeBatchSequential, BatchSize: 3, Batches: 2, Warmup: 5},
	} {
		t.Run(plan.String(), func(t *testing.T) {
			plan.Timeout = 5 * time.Second
			s := &sseServer{first: 40 * time.Millisecond, n: 2}
			r, c := newRunner(t, s, plan)
			if _, err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var warmEnd, firstSched float64
			firstSched = math.Inf(1)
			warm, measured := 0, 0
			for _, rec := range c.recs {
				if rec.Warmup {
					warm++
					warmEnd = max(warmEnd, rec.SentS+rec.E2ES)
				} else {
					measured++
					firstSched = min(firstSched, rec.ScheduledS)
				}
			}
			if warm != 5 || measured == 0 {
				t.Fatalf("%d warm-up and %d measured records", warm, measured)
			}
			for _, rec := range c.recs {
				if !rec.Warmup && rec.SentS < warmEnd {
					t.Errorf("measured request %d sent at %.3fs, before warm-up ended at %.3fs", rec.ID, rec.SentS, warmEnd)
				}
			}
			// The shape's schedule starts at the end of the warm-up, not at
			// the run's start: no measured request was scheduled in the past.
			if firstSched < warmEnd-0.005 {
				t.Errorf("first measured request scheduled at %.3fs, before warm-up ended at %.3fs", firstSched, warmEnd)
			}
			if plan.Duration > 0 {
				var lastSched float64
				for _, rec := range c.recs {
					lastSched = max(lastSched, rec.ScheduledS)
				}
				if lastSched < warmEnd+0.2 {
					t.Errorf("the duration ran from the run's start: last request scheduled at %.3fs, warm-up ended %.3fs", lastSched, warmEnd)
				}
			}
		})
	}
}
