package analysis

import (
	"math"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// handLevel is one level of a hand-built sweep: n requests, of which
// failed failed, plus retried attempts, each success 1000 input and 200
// output tokens; a failure or retried attempt 1000 input, 0 output.
type handLevel struct {
	level                float64
	n, failed, retried   int
	rps, meanE2E, p95E2E float64
	conc                 float64
}

func (h handLevel) build(t *testing.T, targets []Threshold) PlanLevel {
	t.Helper()
	var recs []record.Record
	recs = append(recs, record.Record{Warmup: true, InputTokens: 99999, OutputTokens: 99999}) // left out
	for i := 0; i < h.n; i++ {
		r := record.Record{ID: int64(i), InputTokens: 1000, OutputTokens: 200}
		if i < h.failed {
			r.OutputTokens, r.ErrorKind = 0, llm.KindServer
		}
		recs = append(recs, r)
	}
	for i := 0; i < h.retried; i++ {
		recs = append(recs, record.Record{ID: int64(i), Retried: true, InputTokens: 1000, ErrorKind: llm.KindThrottled})
	}
	s := &stats.Summary{ErrorRate: float64(h.failed) / float64(h.n), WindowS: 100}
	s.Requests.Total, s.Requests.Succeeded, s.Requests.Failed = h.n, h.n-h.failed, h.failed
	s.Throughput.RequestsPerS, s.Throughput.OutputTokensPerS = h.rps, h.rps*200
	s.Metrics.E2E = stats.Dist{Count: h.n - h.failed, Mean: h.meanE2E, P95: h.p95E2E}
	s.Concurrency.Mean = h.conc
	dir := "c" + trimNum(h.level)
	return PlanLevelOf(h.level, dir, s, recs, 100, targets)
}

// The hand-built sweep of the tests: c1, c4 and c8 meet e2e_p95<=10s,
// c16 does not (and has retries and failures).
func handSweep(t *testing.T) ([]PlanLevel, []Threshold) {
	targets, err := ParseThresholds([]string{"e2e_p95<=10s"})
	if err != nil {
		t.Fatal(err)
	}
	var ls []PlanLevel
	for _, h := range []handLevel{
		{level: 1, n: 10, rps: 0.5, meanE2E: 2, p95E2E: 2.2, conc: 1},
		{level: 4, n: 40, rps: 1.6, meanE2E: 2.5, p95E2E: 3, conc: 4},
		{level: 8, n: 80, rps: 4, meanE2E: 2, p95E2E: 4, conc: 8},
		{level: 16, n: 160, failed: 8, retried: 4, rps: 2, meanE2E: 8, p95E2E: 12, conc: 16},
	} {
		ls = append(ls, h.build(t, targets))
	}
	return ls, targets
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.10g, want %.10g", what, got, want)
	}
}

func TestPlanHandBuiltSweep(t *testing.T) {
	ls, targets := handSweep(t)
	p, err := MakePlan("sweep", SweepConcurrency, ls, PlanOptions{QuotaRPM: 800, QuotaTPM: 240000, Targets: targets,
		RequestsPerUserPerMin: 2, Headroom: 0.6, Users: 100})
	if err != nil {
		t.Fatal(err)
	}
	c1, c4, c8, c16 := p.Levels[0], p.Levels[1], p.Levels[2], p.Levels[3]
	// c1: 1 attempt and 1200 tokens per request; users by RPM 0.6 × 800 / 2,
	// by TPM 0.6 × 240000 / (2 × 1200), carried 0.5 req/s × 60 / 2.
	near(t, "c1 attempts/request", c1.AttemptsPerRequest, 1)
	near(t, "c1 tokens/request", c1.TokensPerRequest, 1200)
	near(t, "c1 users by RPM", *c1.UsersByRPM, 240)
	near(t, "c1 users by TPM", *c1.UsersByTPM, 60)
	near(t, "c1 users carried", c1.UsersCarried, 15)
	near(t, "c1 users by endpoint", c1.UsersByEndpoint, 9)
	near(t, "c1 think time", c1.ThinkTimeS, 28) // 60/2 − 2
	if c1.Users != 9 || c1.Binding != BindingEndpoint {
		t.Errorf("c1: %g users bound by %s, want 9 by endpoint", c1.Users, c1.Binding)
	}
	near(t, "c4 users by endpoint", c4.UsersByEndpoint, 0.6*48)
	// c8: carried 4 × 30 = 120, × 0.6 = 72 > TPM's 60: TPM binds.
	if c8.Users != 60 || c8.Binding != BindingTPM {
		t.Errorf("c8: %g users bound by %s, want 60 by tpm", c8.Users, c8.Binding)
	}
	// c16: 164 attempts and 152×1200 + 12×1000 tokens over 160 requests;
	// it misses the target.
	near(t, "c16 attempts/request", c16.AttemptsPerRequest, 164.0/160)
	near(t, "c16 tokens/request", c16.TokensPerRequest, 1215)
	if c16.MeetsTargets || c16.Users != 0 || c16.UsersByEndpoint != 0 {
		t.Errorf("c16 meets e2e_p95<=10s at p95 12 s: %+v", c16)
	}
	a := p.Answer
	if a.Users != 60 || a.Binding != BindingTPM || a.Dir != "c8" || a.LatencyDir != "c8" || a.ResponseTimeP95S != 4 || a.AtTop {
		t.Errorf("answer %+v, want 60 users bound by tpm at c8, p95 4 s", a)
	}
	for _, w := range []string{"60 concurrent users", "p95 response time 4 s", "binding limit is TPM", "800 RPM and 240,000 TPM"} {
		if !strings.Contains(a.Sentence, w) {
			t.Errorf("sentence %q lacks %q", a.Sentence, w)
		}
	}
	// Reverse: 100 users at c8 (the smallest level carrying 100): 200 RPM,
	// 240,000 TPM; ÷ 0.6.
	r := p.Reverse
	if r == nil || r.Dir != "c8" || !r.Carried {
		t.Fatalf("reverse %+v, want measured at c8", r)
	}
	near(t, "reverse RPM", r.RequestsPerMin, 200)
	near(t, "reverse TPM", r.TokensPerMin, 240000)
	near(t, "reverse quota RPM", r.QuotaRPM, 200/0.6)
	near(t, "reverse quota TPM", r.QuotaTPM, 400000)
	if !strings.Contains(r.Sentence, "334 RPM and 400,000 TPM") {
		t.Errorf("reverse sentence %q", r.Sentence)
	}
}

// Without quotas the endpoint binds; when the top level meets the
// targets, the plan says the limit was not reached.
func TestPlanNoQuotaTopLevel(t *testing.T) {
	ls, targets := handSweep(t)
	p, err := MakePlan("sweep", SweepConcurrency, ls[:3], PlanOptions{Targets: targets, RequestsPerUserPerMin: 2})
	if err != nil {
		t.Fatal(err)
	}
	// c8 carries 120 users; at the default 60%, 72.
	if a := p.Answer; a.Users != 72 || a.Binding != BindingEndpoint || !a.AtTop || !strings.Contains(a.Sentence, "sweep higher") {
		t.Errorf("answer %+v", a)
	}
	if p.Levels[0].UsersByRPM != nil || p.Levels[0].UsersByTPM != nil {
		t.Error("users by a quota that was not given")
	}
}

// Think time defines the user by Little's law: users = X × (R + Z).
func TestPlanThinkTimeLittle(t *testing.T) {
	ls, targets := handSweep(t)
	p, err := MakePlan("sweep", SweepConcurrency, ls, PlanOptions{Targets: targets, ThinkTimeS: 10})
	if err != nil {
		t.Fatal(err)
	}
	c4 := p.Levels[1]
	near(t, "c4 users carried", c4.UsersCarried, 1.6*(2.5+10))
	near(t, "c4 rate per user", c4.RequestsPerUserPerMin, 60/12.5)
	near(t, "c4 Little in flight", c4.LittleInFlight, 4)
	if len(c4.Notes) != 0 {
		t.Errorf("c4 notes %q", c4.Notes)
	}
}

// A level whose throughput × response time strays from its measured
// concurrency is flagged; a rate no user loop can keep is too.
func TestPlanFlags(t *testing.T) {
	targets, _ := ParseThresholds([]string{"e2e_p95<=10s"})
	l := handLevel{level: 4, n: 40, rps: 1.6, meanE2E: 2.5, p95E2E: 3, conc: 6}.build(t, targets)
	p, err := MakePlan("x", SweepConcurrency, []PlanLevel{l}, PlanOptions{RequestsPerUserPerMin: 30})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(p.Levels[0].Notes, "\n")
	if !strings.Contains(notes, "Little's law does not hold") || !strings.Contains(notes, "cannot send 30 requests/min") {
		t.Errorf("notes %q", notes)
	}
}

// No level meets the targets: 0 users, said in words.
func TestPlanNothingMeets(t *testing.T) {
	ls, targets := handSweep(t)
	p, err := MakePlan("sweep", SweepConcurrency, ls[3:], PlanOptions{Targets: targets, QuotaRPM: 10, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p.Answer.Users != 0 || !strings.Contains(p.Answer.Sentence, "No measured level met the targets (e2e_p95<=10s)") {
		t.Errorf("answer %+v", p.Answer)
	}
	if p.Reverse == nil || p.Reverse.Carried || !strings.Contains(p.Reverse.Sentence, "No measured level carried 5 users") {
		t.Errorf("reverse %+v", p.Reverse)
	}
}

func TestPlanOptionsCheck(t *testing.T) {
	for _, o := range []PlanOptions{
		{QuotaRPM: -1},                            // a negative quota
		{QuotaTPM: math.Inf(1)},                   // an infinite one
		{RequestsPerUserPerMin: 2, ThinkTimeS: 5}, // two definitions of a user
		{Headroom: 1.5},                           // more than the whole limit
		{Users: -3},                               // negative users
		{RequestsPerUserPerMin: math.NaN(), QuotaRPM: 1}, // NaN
	} {
		if _, err := MakePlan("x", "", []PlanLevel{{}}, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := MakePlan("x", "", nil, PlanOptions{}); err == nil {
		t.Error("no levels: no error")
	}
}

func TestPriceLevels(t *testing.T) {
	ls, targets := handSweep(t)
	p, err := MakePlan("sweep", SweepConcurrency, ls, PlanOptions{Targets: targets, RequestsPerUserPerMin: 2, QuotaTPM: 240000})
	if err != nil {
		t.Fatal(err)
	}
	tok := ModelPrice{ID: "test", InputPer1M: 3, OutputPer1M: 15}
	inst := InstancePrice{PerHour: 1.212, Instances: 1}
	if err := PriceLevels(p, &tok, &inst); err != nil {
		t.Fatal(err)
	}
	c16 := p.Cost.Levels[3].Token
	// A success: 1000 × $3 + 200 × $15 per 1M = $0.006; 4 retried and 8
	// failed attempts of 1000 input tokens, spread over 152 successes.
	near(t, "c16 succeeded/request", c16.SucceededPerRequest, 0.006)
	near(t, "c16 retried/request", c16.RetriedPerRequest, 4*0.003/152)
	near(t, "c16 failed/request", c16.FailedPerRequest, 8*0.003/152)
	near(t, "c16 cost/request", c16.CostPerRequest, 0.006+12*0.003/152)
	near(t, "c16 system prompt/request", c16.SystemPromptPerRequest, 100*3/1e6)
	near(t, "c16 per 1M output", c16.CostPer1MOutputTokens, (152*0.006+12*0.003)/(152*200)*1e6)
	near(t, "c16 per user-hour", c16.CostPerUserHour, (152*0.006+12*0.003)/160*2*60)
	c8 := p.Cost.Levels[2]
	near(t, "c8 token per 1M output", c8.Token.CostPer1MOutputTokens, 30) // 3 × 5 + 15
	near(t, "c8 instance per 1M output", *c8.InstanceCostPer1MOutputTokens, 1.212e6/(800*3600))
	near(t, "c8 instance per user-hour", *c8.InstanceCostPerUserHour, 1.212/120)
	be := p.Cost.BreakEven
	if be == nil || be.Dir != "c8" {
		t.Fatalf("break-even %+v, want at the answer's c8", be)
	}
	near(t, "break-even tok/s", be.OutputTokensPerS, 1.212e6/(3600*30))
	near(t, "break-even req/min", be.RequestsPerMin, 1.212e6/(3600*30)/200*60)
	near(t, "capacity", be.CapacityOutputTokensPerS, 800)
	near(t, "utilization", be.Utilization, 1.212e6/(3600*30)/800)
	if !strings.Contains(be.Sentence, "above it the instances are cheaper") {
		t.Errorf("sentence %q", be.Sentence)
	}
}

func TestPrices(t *testing.T) {
	tab := BuiltinPrices()
	s, err := tab.Model("Claude_3.5-Sonnet")
	if err != nil || s.InputPer1M != 3 || s.OutputPer1M != 15 {
		t.Fatalf("claude-3.5-sonnet: %+v, %v", s, err)
	}
	for id, want := range map[string][2]float64{"claude-3.5-haiku": {0.80, 4}, "claude-3-haiku": {0.25, 1.25}, "claude-3-opus": {15, 75}} {
		m, err := tab.Model(id)
		if err != nil || m.InputPer1M != want[0] || m.OutputPer1M != want[1] {
			t.Errorf("%s: %+v, %v; want %v (CALIBRATION.md)", id, m, err, want)
		}
	}
	b, err := s.Batched()
	if err != nil || b.InputPer1M != 1.5 || b.OutputPer1M != 7.5 || *b.CachedInputPer1M != 0.15 {
		t.Errorf("batched sonnet: %+v, %v", b, err)
	}
	// 1000 input of which 600 cached, 200 output.
	near(t, "cached cost", s.Cost(1000, 600, 200), (400*3+600*0.3+200*15)/1e6)
	if _, err := tab.Model("gpt-9"); err == nil || !strings.Contains(err.Error(), "claude-3.5-sonnet") {
		t.Errorf("unknown model: %v", err)
	}
	for _, bad := range []string{
		"models: [{id: a, input_per_1m: -1, output_per_1m: 1}]",
		"models: [{id: a, input_per_1m: 1, output_per_1m: 1}, {id: A, input_per_1m: 1, output_per_1m: 1}]",
		"models: [{id: a, input: 1}]",
		"models: [{id: a, input_per_1m: 1, output_per_1m: 1, batch_discount: 1}]",
		"models: []",
	} {
		if _, err := ParsePrices([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// A sweep's break-even at its knee: the first method that found one.
func TestSweepBreakEven(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	ss := SweepSummary{Kind: SweepConcurrency, Rows: []SweepRow{
		{Level: 1, Dir: "c1", OutputTokensPerS: 100, TokenCostPerRequest: f(0.006), TokenCostPer1MOutputTokens: f(30)},
		{Level: 8, Dir: "c8", OutputTokensPerS: 486, TokenCostPerRequest: f(0.0036), TokenCostPer1MOutputTokens: f(18)},
	}}
	ss.Knee = &Knee{Methods: []KneeMethod{{Method: KneeTarget}, {Method: KneeCurvature, Found: true, Level: 8, Dir: "c8"}}}
	ss.SetBreakEven(&InstancePrice{PerHour: 1.212, Instances: 1})
	b := ss.BreakEven
	if b == nil || b.Dir != "c8" {
		t.Fatalf("break-even %+v, want at c8", b)
	}
	// planning.md's example: $1.212/h against $18 per 1M output tokens.
	near(t, "tok/s", b.OutputTokensPerS, 1.212e6/(3600*18))
	near(t, "utilization", b.Utilization, 1.212e6/(3600*18)/486)
	near(t, "req/min", b.RequestsPerMin, 1.212/0.0036/60)
	if !strings.Contains(b.Sentence, "the curvature knee") || !strings.Contains(b.Sentence, "above it the instances are cheaper") {
		t.Errorf("sentence %q", b.Sentence)
	}
	ss.SetBreakEven(nil)
	if ss.BreakEven != nil {
		t.Error("a break-even without an instance price")
	}
}

// CALIBRATION.md's Bedrock quotas (800 RPM, 600,000 TPM) for Llama 3.3 70B
// at max_tokens 350: with the 43-token prompt a request takes 393 tokens
// and RPM binds; with the 6,027-token prompt it takes 6,377 and TPM binds.
func TestPlanBedrockQuotas(t *testing.T) {
	for _, c := range []struct {
		input   int
		users   int
		binding string
	}{
		{43, 240, BindingRPM},  // 0.6 × 800 / 2
		{6027, 28, BindingTPM}, // 0.6 × 600000 / (2 × 6377) = 28.2
	} {
		recs := make([]record.Record, 100)
		for i := range recs {
			recs[i] = record.Record{InputTokens: c.input, OutputTokens: 350}
		}
		s := &stats.Summary{WindowS: 100}
		s.Requests.Total, s.Requests.Succeeded = 100, 100
		// Concurrency 50 at ≈3 s a request: ≈1000 users' worth of load.
		s.Throughput.RequestsPerS, s.Metrics.E2E = 16.7, stats.Dist{Count: 100, Mean: 3, P95: 3.3}
		s.Concurrency.Mean = 50.1
		l := PlanLevelOf(50, "c50", s, recs, 0, nil)
		p, err := MakePlan("bedrock", SweepConcurrency, []PlanLevel{l}, PlanOptions{QuotaRPM: 800, QuotaTPM: 600000, RequestsPerUserPerMin: 2})
		if err != nil {
			t.Fatal(err)
		}
		if a := p.Answer; a.Users != c.users || a.Binding != c.binding {
			t.Errorf("%d-token prompt: %d users bound by %s, want %d by %s", c.input, a.Users, a.Binding, c.users, c.binding)
		}
	}
}
