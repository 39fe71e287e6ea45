package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
)

// writeHandSweep writes a sweep directory by hand: c1, c4 and c8 meet
// e2e_p95<=10s, c16 does not. Every success takes 1000 input and 200
// output tokens; c16 also has 8 failed requests and 4 retried attempts of
// 1000 input tokens each.
func writeHandSweep(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sweep")
	ss := analysis.SweepSummary{SchemaVersion: 1, Kind: analysis.SweepConcurrency}
	for _, h := range []struct {
		level                     int
		n, failed, retried        int
		rps, mean, p95, ttft, con float64
	}{
		{1, 10, 0, 0, 0.5, 2, 2.2, 0.3, 1},
		{4, 40, 0, 0, 1.6, 2.5, 3, 0.4, 4},
		{8, 80, 0, 0, 4, 2, 4, 0.5, 8},
		{16, 160, 8, 4, 2, 8, 12, 2, 16},
	} {
		name := "c" + strconv.Itoa(h.level)
		ld := filepath.Join(dir, name)
		if err := os.MkdirAll(ld, 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := record.Create(filepath.Join(ld, rundir.RecordsFile))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < h.n; i++ {
			r := record.Record{SchemaVersion: 1, ID: int64(i), InputTokens: 1000, OutputTokens: 200, E2ES: h.mean}
			if i < h.failed {
				r.OutputTokens, r.ErrorKind = 0, llm.KindServer
			}
			w.Write(&r)
		}
		for i := 0; i < h.retried; i++ {
			w.Write(&record.Record{SchemaVersion: 1, ID: int64(i), Retried: true, InputTokens: 1000, ErrorKind: llm.KindThrottled})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		s := stats.Summary{SchemaVersion: 1, ErrorRate: float64(h.failed) / float64(h.n), WindowS: 100}
		s.Run.Mode, s.Run.Concurrency = "concurrency", h.level
		s.Requests.Total, s.Requests.Succeeded, s.Requests.Failed = h.n, h.n-h.failed, h.failed
		s.Throughput.RequestsPerS, s.Throughput.OutputTokensPerS = h.rps, h.rps*200
		s.Metrics.E2E = stats.Dist{Count: h.n - h.failed, Mean: h.mean, P95: h.p95}
		s.Metrics.TTFT = stats.Dist{Count: h.n - h.failed, Mean: h.ttft, P95: h.ttft}
		s.Concurrency.Mean = h.con
		b, _ := json.Marshal(s)
		if err := os.WriteFile(filepath.Join(ld, rundir.SummaryFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		row := analysis.SweepRowOf(float64(h.level), name, &s)
		ss.Rows = append(ss.Rows, row)
	}
	k := analysis.FindKnee(ss.Rows, analysis.KneeOptions{Integer: true})
	ss.Knee = &k
	b, _ := json.Marshal(ss)
	if err := os.WriteFile(filepath.Join(dir, "sweep.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPlanCommand(t *testing.T) {
	dir := writeHandSweep(t)
	st, out, errs := runCLI(t, nil, "plan", dir, "--quota-rpm", "800", "--quota-tpm", "240000", "--target", "e2e_p95<=10s",
		"--requests-per-user-per-min", "2", "--users", "100", "--price-model", "claude-3.5-sonnet", "--price-per-hour", "1.212")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	// c8 carries 4 req/s × 30 s = 120 users, 72 at 60%; TPM allows
	// 0.6 × 240000 / (2 × 1200) = 60.
	for _, want := range []string{"supports 60 concurrent users (each sending 2 requests/min) at p95 response time 4 s (measured at c8); the binding limit is TPM",
		"ask for a quota of 334 RPM and 400,000 TPM", "   c8            yes", "for a sustained 11.22 output tokens/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var p analysis.Plan
	b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.SchemaVersion != 1 || p.Answer.Users != 60 || p.Answer.Binding != "tpm" || len(p.Levels) != 4 || p.Cost == nil {
		t.Fatalf("plan.json: %s", b)
	}
	c16 := p.Levels[3]
	if c16.Tokens.Retried.Attempts != 4 || c16.Tokens.Failed.Attempts != 8 || math.Abs(c16.TokensPerRequest-1215) > 1e-9 || c16.MeetsTargets {
		t.Errorf("c16: %+v", c16)
	}
	if tc := p.Cost.Levels[3].Token; tc == nil || math.Abs(tc.RetriedPerRequest-4*0.003/152) > 1e-12 || math.Abs(tc.FailedPerRequest-8*0.003/152) > 1e-12 {
		t.Errorf("c16 cost: %+v", tc)
	}

	// The sweep's report shows the plan and the cost.
	if st, _, errs := runCLI(t, nil, "report", "--quiet", dir); st != exitOK {
		t.Fatalf("report: %d %s", st, errs)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="plan">`, "supports 60 concurrent users", `<section id="cost">`,
		"token price claude-3.5-sonnet: $3 input", "<td>$0.00007895</td>", "<td>$0.0001579</td>", // c16's retried and failed share
		"for a sustained 11.22 output tokens/s", `<section id="knee">`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	// --out elsewhere; batch prices at half.
	other := filepath.Join(t.TempDir(), "p.json")
	if st, _, errs := runCLI(t, nil, "plan", dir, "--out", other, "--price-input", "2", "--price-output", "8", "--price-batch", "--price-batch-discount", "0.5"); st != exitOK {
		t.Fatalf("--out: %d %s", st, errs)
	}
	b, _ = os.ReadFile(other)
	if !strings.Contains(string(b), `"input_per_1m": 1,`) || !strings.Contains(string(b), `"output_per_1m": 4,`) {
		t.Errorf("batch prices not halved: %s", b)
	}

	// Bad input: one line, status 2.
	runDir := filepath.Join(t.TempDir(), "run")
	os.MkdirAll(runDir, 0o755)
	os.WriteFile(filepath.Join(runDir, rundir.SummaryFile), []byte(`{"schema_version":1}`), 0o644)
	empty := filepath.Join(t.TempDir(), "empty")
	os.MkdirAll(empty, 0o755)
	os.WriteFile(filepath.Join(empty, rundir.RecordsFile), nil, 0o644)
	for _, args := range [][]string{
		{"plan", runDir},                        // a run without records
		{"plan", empty},                         // records.jsonl with nothing in it
		{"plan", dir, "--quota-rpm", "-5"},      // a negative quota
		{"plan", dir, "--price-model", "gpt-9"}, // an unknown price model
		{"plan", dir, "--headroom", "0"},        // no headroom
		{"plan", dir, "--think-time", "5s", "--requests-per-user-per-min", "2"},
		{"plan", dir, "--target", "ttft_p95<=fast"},     // a bad target
		{"plan", dir, "--price-input", "3"},             // half a price
		{"plan", dir, "--price-per-hour", "-1"},         // a negative price
		{"plan", filepath.Join(t.TempDir(), "nowhere")}, // no directory
		{"plan"},
	} {
		st, _, errs := runCLI(t, nil, args...)
		if st != exitUsage || errs == "" || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: status %d, stderr %q; want 2 and one line", args, st, errs)
		}
	}
	if st, out, _ := runCLI(t, nil, "plan", "--print-prices"); st != exitOK || !strings.Contains(out, "claude-3.5-sonnet") {
		t.Errorf("--print-prices: %d %s", st, out)
	}
}

// A single run directory plans from its one level.
func TestPlanSingleRun(t *testing.T) {
	dir := writeHandSweep(t)
	st, out, errs := runCLI(t, nil, "plan", filepath.Join(dir, "c4"), "--requests-per-user-per-min", "2")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	// 1.6 req/s × 30 s = 48 users carried, 28.8 at 60%: 28.
	if !strings.Contains(out, "supports 28 concurrent users") || !strings.Contains(out, "sweep higher") {
		t.Errorf("output:\n%s", out)
	}
}

// checkPlanOutput holds docs/planning.md's sample of llmload plan's
// output to what the command prints on the hand-built sweep.
func checkPlanOutput(t *testing.T, _ *docsEnv, ex docExample) {
	dir := writeHandSweep(t)
	st, out, errs := runCLI(t, nil, "plan", dir, "--quota-rpm", "800", "--quota-tpm", "240000", "--target", "e2e_p95<=10s",
		"--requests-per-user-per-min", "2", "--users", "100", "--price-model", "claude-3.5-sonnet", "--price-per-hour", "1.212")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	got := strings.Split(out, "\n")
	for i, l := range strings.Split(strings.TrimRight(ex.text, "\n"), "\n") {
		if i >= len(got) || strings.TrimRight(got[i], " ") != strings.TrimRight(l, " ") {
			t.Errorf("%s: line %d differs from the command's output\n doc: %q\n got: %q", ex, i+1, l, strings.TrimRight(got[min(i, len(got)-1)], " "))
		}
	}
}

// A sweep priced by the token: summary.json's cost equals the records
// priced by hand, and every sweep row carries it.
func TestRunTokenPrice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "priced")
	st, out, errs := runCLI(t, nil, "run", "--concurrency", "1,2", "--max-requests", "4", "--sim-time-scale", "0.02", "--no-progress", "--no-report",
		"--results-dir", dir, "--system-prompt", "You are a concise assistant.", "--price-model", "claude-3.5-sonnet", "--price-input", "2", "--price-per-hour", "1.2")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	if !strings.Contains(out, "token-priced cost") {
		t.Errorf("no token-priced cost under the sweep table:\n%s", out)
	}
	var ss analysis.SweepSummary
	b, _ := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err := json.Unmarshal(b, &ss); err != nil || len(ss.Rows) != 2 {
		t.Fatalf("sweep.json: %v %s", err, b)
	}
	for _, r := range ss.Rows {
		recs, err := record.ReadFile(filepath.Join(dir, r.Dir, rundir.RecordsFile))
		if err != nil {
			t.Fatal(err)
		}
		var s stats.Summary
		b, _ := os.ReadFile(filepath.Join(dir, r.Dir, rundir.SummaryFile))
		if err := json.Unmarshal(b, &s); err != nil || s.Cost == nil || s.Cost.Token == nil {
			t.Fatalf("%s: summary.json cost: %v %s", r.Dir, err, b)
		}
		// By hand: $2 per 1M input (overriding the model's $3), $15 per 1M
		// output; the simulator reports no cache.
		total, ok, outTok := 0.0, 0, 0
		for _, rec := range recs {
			if rec.Warmup {
				continue
			}
			total += (float64(rec.InputTokens)*2 + float64(rec.OutputTokens)*15) / 1e6
			if rec.OK() && !rec.Retried {
				ok++
				outTok += rec.OutputTokens
			}
		}
		c := s.Cost.Token
		if math.Abs(c.CostPerRequest-total/float64(ok)) > 1e-12 || math.Abs(c.CostPer1MOutputTokens-total/float64(outTok)*1e6) > 1e-9 {
			t.Errorf("%s: cost %+v; by hand %g per request, %g per 1M output", r.Dir, c, total/float64(ok), total/float64(outTok)*1e6)
		}
		// "You are a concise assistant." is 6 cl100k tokens.
		if math.Abs(c.SystemPromptPerRequest-6*2/1e6) > 1e-15 || s.Cost.PriceModel != "claude-3.5-sonnet" {
			t.Errorf("%s: system prompt %g per request, model %q", r.Dir, c.SystemPromptPerRequest, s.Cost.PriceModel)
		}
		if s.Cost.InstanceCostPer1MOutputTokens == nil || !strings.Contains(strings.Join(s.Warnings, " "), "time scale 0.02") {
			t.Errorf("%s: instance cost %v, warnings %q", r.Dir, s.Cost.InstanceCostPer1MOutputTokens, s.Warnings)
		}
		if r.TokenCostPerRequest == nil || *r.TokenCostPerRequest != c.CostPerRequest || *r.TokenCostPer1MOutputTokens != c.CostPer1MOutputTokens {
			t.Errorf("%s: row token cost %v %v", r.Dir, r.TokenCostPerRequest, r.TokenCostPer1MOutputTokens)
		}
	}
	// The reports show it: a level's KPIs, the sweep's Cost section.
	if st, _, errs := runCLI(t, nil, "report", "--quiet", dir); st != exitOK {
		t.Fatalf("report: %d %s", st, errs)
	}
	lp, _ := os.ReadFile(filepath.Join(dir, ss.Rows[0].Dir, "report.html"))
	sp, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(lp), "cost per request (claude-3.5-sonnet") || !strings.Contains(string(sp), "$/request (token)") {
		t.Error("the reports do not show the token cost")
	}
	for _, args := range [][]string{
		{"run", "--price-model", "gpt-9", "--dry-run"},
		{"run", "--price-input", "3", "--dry-run"},
		{"run", "--price-model", "claude-3.5-sonnet", "--price-output", "-1", "--dry-run"},
	} {
		st, _, errs := runCLI(t, nil, args...)
		if st != exitUsage || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: status %d, stderr %q; want 2 and one line", args, st, errs)
		}
	}
}

// A sweep's level without records is left out, said so; a sweep with no
// level holding records is refused.
func TestPlanSweepLevelWithoutRecords(t *testing.T) {
	dir := writeHandSweep(t)
	os.Remove(filepath.Join(dir, "c16", rundir.RecordsFile))
	st, out, errs := runCLI(t, nil, "plan", dir, "--requests-per-user-per-min", "2")
	if st != exitOK || !strings.Contains(out, "warning: "+filepath.Join(dir, "c16")+": no records.jsonl") || strings.Contains(out, "   c16 ") {
		t.Errorf("status %d\n%s%s", st, out, errs)
	}
	for _, l := range []string{"c1", "c4", "c8"} {
		os.Remove(filepath.Join(dir, l, rundir.RecordsFile))
	}
	if st, _, errs := runCLI(t, nil, "plan", dir); st != exitUsage || !strings.Contains(errs, "no level holds records") {
		t.Errorf("no records at all: status %d, %q", st, errs)
	}
}

// An experiment sweeping two series: plan one with --group.
func TestPlanGroup(t *testing.T) {
	dir := writeHandSweep(t)
	var ss analysis.SweepSummary
	b, _ := os.ReadFile(filepath.Join(dir, "sweep.json"))
	json.Unmarshal(b, &ss)
	for i := range ss.Rows {
		ss.Rows[i].Group = []string{"endpoint=a", "endpoint=b"}[i%2]
	}
	b, _ = json.Marshal(ss)
	os.WriteFile(filepath.Join(dir, "sweep.json"), b, 0o644)
	if st, _, errs := runCLI(t, nil, "plan", dir); st != exitUsage || !strings.Contains(errs, "plan one with --group") {
		t.Errorf("two series without --group: status %d, %q", st, errs)
	}
	if st, _, errs := runCLI(t, nil, "plan", dir, "--group", "endpoint=c"); st != exitUsage || !strings.Contains(errs, `"endpoint=a", "endpoint=b"`) {
		t.Errorf("an unknown series: status %d, %q", st, errs)
	}
	// endpoint=b holds c4 and c16; c4 carries 48 users at 2 requests/min.
	st, out, errs := runCLI(t, nil, "plan", dir, "--group", "endpoint=b", "--requests-per-user-per-min", "2", "--target", "e2e_p95<=10s")
	if st != exitOK || !strings.Contains(out, "supports 28 concurrent users") || strings.Contains(out, "   c8 ") {
		t.Errorf("status %d\n%s%s", st, out, errs)
	}
}
