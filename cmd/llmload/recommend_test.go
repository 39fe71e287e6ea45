package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmload/llmload/analysis"
)

// TestPlanSimulate: llmload plan --simulate predicts the published shape
// of Llama 2 7B on A10Gs (CALIBRATION.md): 8×A10G at TP 8 reaches less
// throughput than 4×A10G, and splitting 8×A10G into replicas beats one
// replica at TP 8.
func TestPlanSimulate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rec.json")
	st, stdout, errs := runCLI(t, nil, "plan", "--simulate", "--model", "llama-2-7b", "--deployments", "1xa10g,4xa10g,8xa10g,8xa100",
		"--split", "8xa10g", "--concurrency", "1,4,16,64,128,256", "--out", out)
	if st != exitOK {
		t.Fatalf("status %d\n%s%s", st, stdout, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec analysis.Recommendation
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.SchemaVersion != 1 || rec.Model != "llama-2-7b" || rec.InputTokens != 256 || rec.OutputTokens != 256 {
		t.Fatalf("header: %+v", rec)
	}
	by := map[string]analysis.DeploymentResult{}
	for _, d := range rec.Deployments {
		by[d.Deployment.Label] = d
		if len(d.Levels) != 6 || d.HighestThroughput == nil || d.LowestLatency == nil || d.LowestLatency.Level != 1 {
			t.Errorf("%s: %+v", d.Deployment.Label, d)
		}
	}
	// 8xa10g is the same deployment as 8xa10g:tp8 of the split: kept once.
	if _, ok := by["8xa10g:tp8"]; ok || len(rec.Deployments) != 7 {
		t.Errorf("8xa10g:tp8 simulated twice: %d deployments", len(rec.Deployments))
	}
	for _, l := range []string{"1xa10g", "4xa10g", "8xa10g", "8xa100", "8xa10g:tp1", "8xa10g:tp2", "8xa10g:tp4"} {
		if _, ok := by[l]; !ok {
			t.Fatalf("no deployment %s in %s", l, b)
		}
	}
	thr := func(l string) float64 { return by[l].HighestThroughput.OutputTokensPerS }
	if !(thr("8xa10g") < thr("4xa10g")) {
		t.Errorf("8×A10G TP 8 %.0f tokens/s, 4×A10G %.0f: want 8×A10G below (CALIBRATION.md: 804 against 1214)", thr("8xa10g"), thr("4xa10g"))
	}
	if !(thr("8xa10g:tp1") > thr("8xa10g")) || !(thr("8xa10g:tp2") > thr("8xa10g")) {
		t.Errorf("splitting 8×A10G: TP 1 %.0f, TP 2 %.0f, TP 8 %.0f tokens/s: want replicas above TP 8", thr("8xa10g:tp1"), thr("8xa10g:tp2"), thr("8xa10g"))
	}
	// The price table: g5.48xlarge at $16.288/h, cost = $/h × 1e6 / (tok/s × 3600).
	d := by["8xa10g:tp1"]
	if d.Deployment.Instance != "g5.48xlarge" || d.Deployment.PricePerHour == nil || *d.Deployment.PricePerHour != 16.288 || d.Deployment.Replicas != 8 || d.Deployment.TP != 1 {
		t.Errorf("8xa10g:tp1: %+v", d.Deployment)
	}
	if c := d.HighestThroughput.CostPer1MOutputTokens; c == nil || abs(*c-16.288e6/(thr("8xa10g:tp1")*3600)) > 1e-9 {
		t.Errorf("cost %v", c)
	}
	if len(rec.Splits) != 1 || rec.Splits[0].Shape != "8xa10g" || rec.Splits[0].BestThroughput == "8xa10g" || rec.Splits[0].ThroughputRatio <= 1 {
		t.Errorf("splits: %+v", rec.Splits)
	}
	if rec.HighestThroughput == "" || rec.LowestCost == "" || rec.LowestLatency == "" {
		t.Errorf("best: %q %q %q", rec.LowestLatency, rec.HighestThroughput, rec.LowestCost)
	}
	for _, want := range []string{"highest throughput on", "splitting 8xa10g", "*highest_throughput", "illustrative"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("console lacks %q:\n%s", want, stdout)
		}
	}

	// A ceiling no level meets: nothing is recommended, and it says so.
	st, stdout, errs = runCLI(t, nil, "plan", "--simulate", "--model", "llama-2-7b", "--deployments", "1xa10g", "--concurrency", "1,2", "--target", "e2e_p95<=100ms")
	if st != exitOK || !strings.Contains(stdout, "none can be recommended") || !strings.Contains(stdout, "no level meets the latency ceiling") {
		t.Errorf("impossible ceiling: %d\n%s%s", st, stdout, errs)
	}
	// The quota questions apply to each deployment: by Little's law, at
	// the level the plan picks, users = min(by endpoint, by TPM).
	st, stdout, errs = runCLI(t, nil, "plan", "--simulate", "--model", "llama-2-7b", "--deployments", "1xa10g,4xa10g", "--concurrency", "1,4,16",
		"--quota-tpm", "600000", "--requests-per-user-per-min", "2", "--users", "300", "--out", out)
	b, _ = os.ReadFile(out)
	rec = analysis.Recommendation{}
	if err := json.Unmarshal(b, &rec); st != exitOK || err != nil {
		t.Fatalf("quotas: %d %v\n%s%s", st, err, stdout, errs)
	}
	for _, d := range rec.Deployments {
		p := d.Plan
		if p == nil || p.QuotaTPM != 600000 || len(p.Levels) != 3 || p.Reverse == nil || p.Answer.Users < 1 {
			t.Fatalf("%s: plan %+v", d.Deployment.Label, p)
		}
		// Every simulated request carries 256 + 256 tokens.
		if l := p.Levels[0]; l.TokensPerRequest != 512 || l.Tokens.Succeeded.OutputTokens != int64(l.Tokens.Succeeded.Attempts)*256 {
			t.Errorf("%s: level %+v", d.Deployment.Label, l)
		}
	}
	if !(rec.Deployments[1].Plan.Answer.Users > rec.Deployments[0].Plan.Answer.Users) || !strings.Contains(stdout, "capacity of each deployment") {
		t.Errorf("4×A10G carries %d users, 1×A10G %d: want more\n%s", rec.Deployments[1].Plan.Answer.Users, rec.Deployments[0].Plan.Answer.Users, stdout)
	}

	// --deployment-price overrides the table.
	st, stdout, errs = runCLI(t, nil, "plan", "--simulate", "--model", "llama-2-7b", "--deployments", "1xa10g", "--concurrency", "1,2", "--deployment-price", "1xa10g=3.6", "--out", out)
	b, _ = os.ReadFile(out)
	if st != exitOK || !strings.Contains(string(b), `"price_per_hour": 3.6,`) || !strings.Contains(string(b), `"price_source": "--deployment-price"`) {
		t.Errorf("--deployment-price: %d %s%s", st, b, errs)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestPlanSimulateBadInput: bad input is one line per problem and
// exit status 2, never a panic.
func TestPlanSimulateBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "llama-9-7b", "--deployments", "1xa10g"}, "unknown model"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xb200"}, "unknown accelerator"},
		{[]string{"--model", "llama-2-7b", "--deployments", "8xa10g:tp3"}, "does not divide"},
		{[]string{"--model", "llama-2-70b", "--deployments", "1xa10g"}, "leave no room"},
		{[]string{"--model", "llama-2-7b"}, "needs --deployments"},
		{[]string{"--deployments", "1xa10g"}, "needs --model"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--concurrency", "1,x"}, "--concurrency"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--max-latency", "e2e_mean<=1s"}, "--max-latency"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--deployment-price", "2xa10g=3"}, "no deployment labelled"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--price-model", "claude-3.5-sonnet"}, "--price-model applies to one sweep"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--target", "ttft_mean<=1s"}, "--max-latency ttft_mean"},
		{[]string{"--model", "llama-2-7b", "--deployments", "1xa10g", "--think-time", "2s"}, "give --quota-rpm"},
		{[]string{"--model", "llama-2-7b", "--split", "8xa10g:tp2"}, "without :tp"},
	} {
		st, stdout, errs := runCLI(t, nil, append([]string{"plan", "--simulate"}, c.args...)...)
		if st != exitUsage || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || strings.Contains(errs, "panic") {
			t.Errorf("%v: status %d, want 2 and one line with %q\n%s%s", c.args, st, c.want, stdout, errs)
		}
	}
}

// TestPlanMeasuredDeployments: several sweep directories give the same
// table from measurements, labelled by --label, priced by the sweep's
// own --price-per-hour or --deployment-price.
func TestPlanMeasuredDeployments(t *testing.T) {
	a, b := writeHandSweep(t), writeHandSweep(t)
	out := filepath.Join(t.TempDir(), "rec.json")
	st, stdout, errs := runCLI(t, nil, "plan", a, b, "--label", "small", "--label", "big", "--deployment-price", "big=2", "--max-latency", "e2e_p95<=10s", "--out", out)
	if st != exitOK {
		t.Fatalf("status %d\n%s%s", st, stdout, errs)
	}
	raw, _ := os.ReadFile(out)
	var rec analysis.Recommendation
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Deployments) != 2 || rec.Deployments[0].Deployment.Label != "small" || rec.Deployments[1].Deployment.Source != "measured" {
		t.Fatalf("%s", raw)
	}
	// The hand-built sweep: c8 carries 800 output tokens/s and meets
	// e2e_p95<=10s; c16 (p95 12 s) does not.
	h := rec.Deployments[1].HighestThroughput
	if h == nil || h.Level != 8 || h.OutputTokensPerS != 800 || h.CostPer1MOutputTokens == nil || abs(*h.CostPer1MOutputTokens-2e6/(800*3600)) > 1e-12 {
		t.Errorf("big: %+v", h)
	}
	if rec.LowestCost != "big" || rec.HighestThroughput != "small" {
		t.Errorf("best: %s %s", rec.HighestThroughput, rec.LowestCost)
	}
	if !strings.Contains(stdout, "only 1 of 2 deployments have a price") {
		t.Errorf("console:\n%s", stdout)
	}
	// One directory with a recommendation flag, a run that is no sweep,
	// a label count that does not match: usage errors.
	for _, args := range [][]string{{a, "--max-latency", "e2e_p95<=1s"}, {a, b, "--label", "x"}, {a, b, "--model", "llama-2-7b"}} {
		if st, _, errs := runCLI(t, nil, append([]string{"plan"}, args...)...); st != exitUsage {
			t.Errorf("%v: status %d, want 2\n%s", args, st, errs)
		}
	}
}
