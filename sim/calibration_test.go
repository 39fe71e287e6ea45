package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// calRow is one published number of CALIBRATION.md and how the engine
// predicts it: a closed loop of the profile on the virtual clock.
type calRow struct {
	id      string // short name, used in docs/simulator.md's table
	family  string // engine family the row calibrates
	profile string
	conc    int
	in, out int
	reqs    int     // 0: the Workload default
	limit   int     // MaxConcurrentRequests per replica; 0: none
	metric  string  // tpot_ms, ttft_s, e2e_s, tok_s (system output), req_tok_s (out/E2E per request), sys_tok_s (concurrency / TPOT), dur_s
	want    float64 // published
}

// calRows are every row of CALIBRATION.md the simulator reproduces.
var calRows = []calRow{
	{"g5.2xlarge latency", "a10g-pcie", "llama2-7b-a10g", 1, 256, 256, 3, 128, "tpot_ms", 33},
	{"g5.2xlarge throughput @64", "a10g-pcie", "llama2-7b-a10g", 64, 256, 256, 0, 128, "tok_s", 486},
	{"g5.12xlarge latency", "a10g-pcie", "llama2-7b-4xa10g", 1, 256, 256, 3, 128, "tpot_ms", 17},
	{"g5.12xlarge throughput @128", "a10g-pcie", "llama2-7b-4xa10g", 128, 256, 256, 0, 128, "tok_s", 1214},
	{"g5.48xlarge latency", "a10g-pcie", "llama2-7b-8xa10g", 1, 256, 256, 3, 128, "tpot_ms", 18},
	{"g5.48xlarge throughput @128", "a10g-pcie", "llama2-7b-8xa10g", 128, 256, 256, 0, 128, "tok_s", 804},
	{"g5.2xlarge 512 total tokens", "a10g-pcie", "llama2-7b-a10g", 1, 256, 256, 2, 128, "req_tok_s", 30},
	{"g5.2xlarge 4096 total tokens", "a10g-pcie", "llama2-7b-a10g", 1, 2048, 2048, 1, 128, "req_tok_s", 20},
	{"g5.2xlarge 8/100 tokens @128", "a10g-pcie", "llama2-7b-a10g", 128, 8, 100, 1000, 128, "tok_s", 1255},
	{"g5.2xlarge 8/100 tokens @128, duration", "a10g-pcie", "llama2-7b-a10g", 128, 8, 100, 1000, 128, "dur_s", 80},
	{"p4d.24xlarge latency", "a100-nvlink", "llama2-7b-8xa100", 1, 256, 256, 3, 128, "tpot_ms", 20},
	{"p4d.24xlarge throughput @512", "a100-nvlink", "llama2-7b-8xa100", 512, 256, 256, 0, 128, "tok_s", 2945},
	{"Bedrock 70B TTFT, 43-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 43, 350, 3, 0, "ttft_s", 0.384},
	{"Bedrock 70B last token, 43-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 43, 350, 3, 0, "e2e_s", 2.964},
	{"Bedrock 70B TPOT, 43-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 43, 350, 3, 0, "tpot_ms", 7.39},
	{"Bedrock 70B TTFT, 6,027-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 6027, 350, 3, 0, "ttft_s", 0.920},
	{"Bedrock 70B last token, 6,027-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 6027, 350, 3, 0, "e2e_s", 3.260},
	{"Bedrock 70B TPOT, 6,027-token prompt", "hopper-nvlink", "bedrock-llama3-70b", 1, 6027, 350, 3, 0, "tpot_ms", 6.70},
	{"Bedrock 70B small prompt @1", "hopper-nvlink", "bedrock-llama3-70b", 1, 43, 350, 0, 0, "sys_tok_s", 136},
	{"Bedrock 70B small prompt @10", "hopper-nvlink", "bedrock-llama3-70b", 10, 43, 350, 0, 0, "sys_tok_s", 1340},
	{"Bedrock 70B small prompt @30", "hopper-nvlink", "bedrock-llama3-70b", 30, 43, 350, 0, 0, "sys_tok_s", 3780},
	{"Bedrock 70B small prompt @50", "hopper-nvlink", "bedrock-llama3-70b", 50, 43, 350, 0, 0, "sys_tok_s", 5850},
	{"Bedrock 70B large prompt @1", "hopper-nvlink", "bedrock-llama3-70b", 1, 6027, 350, 0, 0, "sys_tok_s", 126},
	{"Bedrock 70B large prompt @10", "hopper-nvlink", "bedrock-llama3-70b", 10, 6027, 350, 0, 0, "sys_tok_s", 1210},
	{"Bedrock 70B large prompt @30", "hopper-nvlink", "bedrock-llama3-70b", 30, 6027, 350, 0, 0, "sys_tok_s", 2550},
	{"Bedrock 70B large prompt @50", "hopper-nvlink", "bedrock-llama3-70b", 50, 6027, 350, 0, 0, "sys_tok_s", 2900},
}

// predict runs r's closed loop on p and returns the predicted value of
// r's metric.
func (r calRow) predict(p Profile) (float64, error) {
	res, err := p.simulate(r.conc, Workload{InputTokens: r.in, OutputTokens: r.out, Requests: r.reqs, MaxConcurrentRequests: r.limit})
	if err != nil {
		return 0, err
	}
	switch r.metric {
	case "tpot_ms":
		return ms(res.MeanTPOT), nil
	case "ttft_s":
		return res.MeanTTFT.Seconds(), nil
	case "e2e_s":
		return res.MeanE2E.Seconds(), nil
	case "tok_s":
		return res.OutputTokensPerSecond, nil
	case "req_tok_s":
		return float64(r.out) / res.MeanE2E.Seconds(), nil
	case "sys_tok_s":
		return float64(r.conc) / res.MeanTPOT.Seconds(), nil
	case "dur_s":
		return res.Duration.Seconds(), nil
	}
	return 0, fmt.Errorf("unknown metric %q", r.metric)
}

// TestCalibration: every CALIBRATION.md row within 15%, with one engine
// parameter set per accelerator family.
func TestCalibration(t *testing.T) {
	var md strings.Builder
	for _, r := range calRows {
		p := mustProfile(t, r.profile)
		if f := FamilyFor(catalogAccelerator(t, p)); f.Name != r.family {
			t.Errorf("%s: profile %s has family %s, want %s", r.id, r.profile, f.Name, r.family)
		}
		got, err := r.predict(p)
		if err != nil {
			t.Fatalf("%s: %v", r.id, err)
		}
		e := got/r.want - 1
		fmt.Fprintf(&md, "| %s | %s | %.4g | %.4g | %+.1f%% |\n", r.id, r.metric, r.want, got, 100*e)
		if math.Abs(e) > 0.15 {
			t.Errorf("%s: predicted %.4g %s, published %.4g (%+.1f%%, want within 15%%)", r.id, got, r.metric, r.want, 100*e)
		}
	}
	t.Logf("\n%s", md.String())
}

// TestCalibrationLimits: CALIBRATION.md's serving limits. SageMaker's 60 s
// invocation timeout bounds the usable concurrency: on ml.g5.2xlarge
// (256 + 256 tokens) the published concurrency 64 finishes within it,
// while at 128 the typical request would not. TGI's
// MAX_CONCURRENT_REQUESTS (128) is why p4d's 512 clients give what 128
// do: the rest are refused as overloaded (the server side is
// TestOverload in server_test.go).
func TestCalibrationLimits(t *testing.T) {
	p := mustProfile(t, "llama2-7b-a10g")
	w := Workload{InputTokens: 256, OutputTokens: 256, MaxConcurrentRequests: 128}
	r64, err := p.simulate(64, w)
	if err != nil {
		t.Fatal(err)
	}
	r128, err := p.simulate(128, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("g5.2xlarge E2E: p99 %v at 64, p50 %v at 128", r64.E2E.P99, r128.E2E.P50)
	if r64.E2E.P99 >= SageMakerInvocationTimeout || r128.E2E.P50 <= SageMakerInvocationTimeout {
		t.Errorf("60 s timeout: E2E p99 %v at 64 (want below), p50 %v at 128 (want above)", r64.E2E.P99, r128.E2E.P50)
	}
	// With the timeout applied, requests at 128 fail and at 64 none do.
	w.Timeout = SageMakerInvocationTimeout
	t64, err := p.simulate(64, w)
	if err != nil {
		t.Fatal(err)
	}
	t128, err := p.simulate(128, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("60 s timeout: %d of %d failed at 64, %d of %d at 128 (%.0f tokens/s completed)",
		t64.TimedOut, t64.TimedOut+t64.Requests, t128.TimedOut, t128.TimedOut+t128.Requests, t128.OutputTokensPerSecond)
	if t64.TimedOut != 0 || t128.TimedOut == 0 || t128.Requests == 0 || t128.E2E.Max > SageMakerInvocationTimeout {
		t.Errorf("60 s timeout: %d timed out at 64 (want 0), %d at 128 (want some), completed E2E max %v",
			t64.TimedOut, t128.TimedOut, t128.E2E.Max)
	}
	a100 := mustProfile(t, "llama2-7b-8xa100")
	r512, err := a100.simulate(512, Workload{InputTokens: 256, OutputTokens: 256, MaxConcurrentRequests: 128})
	if err != nil {
		t.Fatal(err)
	}
	unbounded, err := a100.simulate(512, Workload{InputTokens: 256, OutputTokens: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("p4d at 512: %.0f tokens/s bounded at 128, %.0f unbounded", r512.OutputTokensPerSecond, unbounded.OutputTokensPerSecond)
	if r512.Waited == 0 || r512.MaxBatch > 128 || unbounded.MaxBatch <= 128 {
		t.Errorf("p4d at 512: waited %d, batch %d (bounded), %d (unbounded)", r512.Waited, r512.MaxBatch, unbounded.MaxBatch)
	}
}

func catalogAccelerator(t *testing.T, p Profile) theoryAccelerator {
	t.Helper()
	for _, a := range builtinAccelerators() {
		if a.Name == p.Accelerator.Name {
			return a
		}
	}
	t.Fatalf("accelerator %q not in the catalog", p.Accelerator.Name)
	return theoryAccelerator{}
}
