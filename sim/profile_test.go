package sim

import (
	"math"
	"strings"
	"testing"
	"time"
)

func mustProfile(t testing.TB, name string) Profile {
	t.Helper()
	p, err := LookupProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestProfilesValid(t *testing.T) {
	names := ProfileNames()
	if len(names) < 4 {
		t.Fatalf("profiles: %v", names)
	}
	for _, n := range names {
		p := mustProfile(t, n)
		if p.Name != n {
			t.Errorf("profile %q has name %q", n, p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
	if p := mustProfile(t, ""); p.Name != DefaultProfile {
		t.Errorf("empty name gave %q", p.Name)
	}
	_, err := LookupProfile("gpt-9")
	if err == nil || !strings.Contains(err.Error(), DefaultProfile) {
		t.Errorf("unknown profile error %v does not list the known ones", err)
	}
}

// CALIBRATION.md, "Accelerator theory": Llama 2 7B fp16 on one A10G.
func TestTheoryLlama2A10G(t *testing.T) {
	p := mustProfile(t, "llama2-7b-a10g")
	if got := p.KVBytesPerToken(); got != 2*32*32*128*2 {
		t.Errorf("KVBytesPerToken = %v, want 524288", got)
	}
	if got := p.WeightBytes(); !within(got, 14e9, 0.05) {
		t.Errorf("WeightBytes = %v, want ≈14 GB", got)
	}
	// The worked example: ≈10 GB left for cache, a batch of 4 at 4096 tokens.
	if got := p.MaxBatch(4096); got != 4 {
		t.Errorf("MaxBatch(4096) = %d, want 4", got)
	}
	if got := p.MaxBatch(0); got != 0 {
		t.Errorf("MaxBatch(0) = %d", got)
	}
	// The critical batch ≈ FLOPS/BW: decode is memory-bound well below it
	// and compute-bound well above.
	ai := p.Accelerator.FLOPS / p.Accelerator.BandwidthBytesPerS
	if !within(ai, 116, 0.02) {
		t.Errorf("arithmetic intensity %v, want ≈116", ai)
	}
	if p.computeSeconds(8) >= p.memorySeconds(p.WeightBytes(), 0, 0) {
		t.Error("batch 8 decode should be memory-bound")
	}
	if p.computeSeconds(1024) <= p.memorySeconds(p.WeightBytes(), 0, 0) {
		t.Error("batch 1024 decode should be compute-bound")
	}
	// Prefill is compute-bound: 256 tokens cost far more than one decode token.
	if p.PrefillTime(256, 1) < 2*p.DecodeStepTime(1, 256) {
		t.Errorf("PrefillTime(256) = %v not compute-bound", p.PrefillTime(256, 1))
	}
	if p.DecodeStepTime(0, 0) != 0 || p.PrefillTime(0, 1) != 0 {
		t.Error("empty steps should take no time")
	}
}

// CALIBRATION.md, "Llama 2 7B behind TGI on SageMaker": min latency per
// token at concurrency 1 with 256 input + 256 output tokens.
func TestCalibrationLatencyPerToken(t *testing.T) {
	cases := []struct {
		profile string
		wantMS  float64
		tol     float64
	}{
		{"llama2-7b-a10g", 33, 0.15},   // ml.g5.2xlarge
		{"llama2-7b-4xa10g", 17, 0.25}, // ml.g5.12xlarge
		{"llama2-7b-8xa10g", 18, 0.25}, // ml.g5.48xlarge
		{"llama2-7b-8xa100", 20, 0.25}, // ml.p4d.24xlarge
	}
	for _, c := range cases {
		p := mustProfile(t, c.profile)
		// Mid-generation: 256 prompt + 128 output tokens of context.
		step := ms(p.DecodeStepTime(1, 384))
		r, err := p.SimulateClosedLoop(1, 256, 256, 3)
		if err != nil {
			t.Fatal(err)
		}
		tpot := ms(r.MeanTPOT)
		t.Logf("%s: DecodeStepTime %.2f ms, engine TPOT %.2f ms (want %.0f ±%.0f%%)", c.profile, step, tpot, c.wantMS, 100*c.tol)
		if !within(step, c.wantMS, c.tol) || !within(tpot, c.wantMS, c.tol) {
			t.Errorf("%s: %.2f / %.2f ms per token, want %.0f ±%.0f%%", c.profile, step, tpot, c.wantMS, 100*c.tol)
		}
	}
	// Too much tensor parallelism hurts a small model: TP 8 is slower per
	// token than TP 4 on A10Gs.
	p4, p8 := mustProfile(t, "llama2-7b-4xa10g"), mustProfile(t, "llama2-7b-8xa10g")
	if p8.DecodeStepTime(1, 384) <= p4.DecodeStepTime(1, 384) {
		t.Error("8×A10G should be slower per token than 4×A10G")
	}
}

// CALIBRATION.md: ml.g5.2xlarge at concurrency 1 does 30 tokens/s at 512
// total tokens and 20 tokens/s at 4096 (taken as 2048 in + 2048 out).
func TestCalibrationContextLength(t *testing.T) {
	p := mustProfile(t, "llama2-7b-a10g")
	speed := func(in, out int) float64 {
		r, err := p.SimulateClosedLoop(1, in, out, 1)
		if err != nil {
			t.Fatal(err)
		}
		return float64(out) / r.MeanE2E.Seconds()
	}
	short, long := speed(256, 256), speed(2048, 2048)
	t.Logf("tokens/s per request: %.1f at 512 total (want 30), %.1f at 4096 total (want 20)", short, long)
	if !within(short, 30, 0.15) {
		t.Errorf("512 total: %.1f tokens/s, want 30 ±15%%", short)
	}
	if !within(long, 20, 0.35) || long >= short {
		t.Errorf("4096 total: %.1f tokens/s, want 20 ±35%% and slower than 512 total", long)
	}
}

// CALIBRATION.md: ml.g5.2xlarge reaches 486 tokens/s at concurrency 64;
// throughput rises monotonically with concurrency, with a knee.
func TestCalibrationThroughputKnee(t *testing.T) {
	p := mustProfile(t, "llama2-7b-a10g")
	levels := []int{1, 8, 32, 64}
	tput := make([]float64, len(levels))
	for i, c := range levels {
		r, err := p.SimulateClosedLoop(c, 256, 256, 10*c)
		if err != nil {
			t.Fatal(err)
		}
		tput[i] = r.OutputTokensPerSecond
		// The batch is bounded by KV capacity: each request reserves 512.
		if want := min(c, p.KVCapacityTokens()/512); r.MaxBatch != want {
			t.Errorf("concurrency %d: max batch %d, want %d", c, r.MaxBatch, want)
		}
		t.Logf("concurrency %2d: %6.1f tokens/s, TPOT %5.1f ms, TTFT %7.1f ms, max batch %d",
			c, tput[i], ms(r.MeanTPOT), ms(r.MeanTTFT), r.MaxBatch)
	}
	gainPerDoubling := func(i int) float64 {
		return math.Pow(tput[i]/tput[i-1], 1/math.Log2(float64(levels[i])/float64(levels[i-1])))
	}
	for i := 1; i < len(levels); i++ {
		if tput[i] <= tput[i-1] {
			t.Errorf("throughput fell from %.1f to %.1f going to concurrency %d", tput[i-1], tput[i], levels[i])
		}
		if i > 1 && gainPerDoubling(i) >= gainPerDoubling(i-1) {
			t.Errorf("no diminishing returns at concurrency %d: gain per doubling %.3f after %.3f",
				levels[i], gainPerDoubling(i), gainPerDoubling(i-1))
		}
	}
	if got := tput[len(tput)-1]; !within(got, 486, 0.35) {
		t.Errorf("throughput at 64 = %.1f tokens/s, want 486 ±35%%", got)
	}
}

func TestSimulateClosedLoopErrors(t *testing.T) {
	p := mustProfile(t, "llama2-7b-a10g")
	if _, err := p.SimulateClosedLoop(0, 1, 1, 1); err == nil {
		t.Error("concurrency 0 accepted")
	}
	if _, err := p.SimulateClosedLoop(1, 4000, 4000, 1); err == nil {
		t.Error("request beyond the context accepted")
	}
	bad := p
	bad.Accelerator.MemoryBytes = 10e9 // weights do not fit
	if _, err := bad.SimulateClosedLoop(1, 1, 1, 1); err == nil {
		t.Error("profile without KV room accepted")
	}
}
