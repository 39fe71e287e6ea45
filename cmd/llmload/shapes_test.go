package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
)

// fast are the flags of a quick simulated run.
var fast = []string{"--sim-time-scale", "0.02", "--mean-input-tokens", "100", "--stddev-input-tokens", "0",
	"--mean-output-tokens", "20", "--stddev-output-tokens", "0", "--no-progress"}

func readSweep(t *testing.T, dir string) analysis.SweepSummary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, bench.SweepJSON))
	if err != nil {
		t.Fatal(err)
	}
	var s analysis.SweepSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestThresholdFailureExitsThree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"run", "--max-requests", "6", "--results-dir", dir,
		"--threshold", "ttft_p95<1us", "--threshold", "error_rate<0.01", "--slo", "e2e<=10s"}, fast...)
	st, stdout, stderr := runCLI(t, nil, args...)
	if st != exitThresholds {
		t.Fatalf("status %d, want 3\n%s\n%s", st, stdout, stderr)
	}
	if !strings.Contains(stdout, "FAIL ttft_p95") || strings.Contains(stdout, "FAIL error_rate") {
		t.Errorf("threshold report wrong:\n%s", stdout)
	}
	sum := readSummary(t, dir)
	if sum.Goodput == nil || sum.Goodput.Met != 6 || sum.Goodput.Share != 1 {
		t.Errorf("goodput %+v, want all 6 within e2e<=10s", sum.Goodput)
	}
	// Passing thresholds exit 0.
	dir2 := filepath.Join(t.TempDir(), "run")
	args = append([]string{"run", "--max-requests", "4", "--results-dir", dir2, "--threshold", "error_rate<0.5"}, fast...)
	if st, _, stderr := runCLI(t, nil, args...); st != exitOK {
		t.Errorf("passing threshold: status %d\n%s", st, stderr)
	}
	// A malformed threshold is bad input.
	args = append([]string{"run", "--results-dir", t.TempDir(), "--threshold", "ttft_p95~5"}, fast...)
	if st, _, _ := runCLI(t, nil, args...); st != exitUsage {
		t.Errorf("bad threshold: status %d, want 2", st)
	}
}

func TestSweepStopsAtFirstLevelOverErrorRate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	// The simulator takes at most 2 concurrent requests; beyond, 429s.
	args := append([]string{"run", "--concurrency", "1,2,8,16", "--max-requests", "16", "--sim-max-concurrent-requests", "2",
		"--stop-on-error-rate", "0.05", "--results-dir", dir}, fast...)
	st, stdout, stderr := runCLI(t, nil, args...)
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s := readSweep(t, dir)
	if len(s.Rows) != 3 {
		t.Fatalf("%d rows, want 3 (stopped at c8): %+v", len(s.Rows), s.Rows)
	}
	if s.Rows[0].ErrorRate != 0 || s.Rows[1].ErrorRate != 0 || s.Rows[2].StoppedEarly == "" || s.StopReason == "" {
		t.Errorf("rows %+v, stop %q", s.Rows, s.StopReason)
	}
	if _, err := os.Stat(filepath.Join(dir, "c16")); err == nil {
		t.Error("level c16 ran after the sweep stopped")
	}
	for _, lvl := range []string{"c1", "c2", "c8"} {
		if _, err := os.Stat(filepath.Join(dir, lvl, rundir.SummaryFile)); err != nil {
			t.Errorf("level %s has no summary: %v", lvl, err)
		}
	}
	if !strings.Contains(stdout, "concurrency") || !strings.Contains(stderr, "stopping the sweep") {
		t.Errorf("sweep output:\n%s\n%s", stdout, stderr)
	}
}

func TestRateModeAndTimelineThroughCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"run", "--rate", "50", "--arrival", "constant", "--max-requests", "10", "--results-dir", dir}, fast...)
	if st, _, stderr := runCLI(t, nil, args...); st != exitOK {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	sum := readSummary(t, dir)
	if sum.Run.Mode != "rate" || sum.Run.Rate != 50 || sum.Requests.Succeeded != 10 {
		t.Errorf("run %+v requests %+v", sum.Run, sum.Requests)
	}
	b, err := os.ReadFile(filepath.Join(dir, rundir.TimelineFile))
	if err != nil || strings.Count(string(b), "\n") < 1 || !strings.Contains(string(b), `"in_flight"`) {
		t.Errorf("timeline.jsonl: %v\n%s", err, b)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, stdout, stderr := runCLI(t, nil, "run", "--dry-run", "--mode", "batch-interval", "--batch-size", "5",
		"--batch-interval", "1s", "--batches", "60", "--results-dir", dir)
	if st != exitOK || !strings.Contains(stdout, "batch") {
		t.Errorf("status %d\n%s\n%s", st, stdout, stderr)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("--dry-run created the results directory")
	}
}

func TestExperimentFileRunsMatrixAsOneSweep(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "exp.yaml")
	os.WriteFile(file, []byte(`# two prompt mixes × two concurrency levels
name: mixes
max_requests: 4
mean_output_tokens: 10
stddev_output_tokens: 0
sim:
  time_scale: 0.02
matrix:
  concurrency: [1, 2]
  prompt_sets:
    - [{name: chat, weight: 1, prompt: "Hello there"}]
    - [{name: chat, weight: 3, prompt: "Hello there"}, {name: docs, weight: 1, mean_input_tokens: 300}]
`), 0o644)
	dir := filepath.Join(tmp, "out")
	st, stdout, stderr := runCLI(t, nil, "run", "-f", file, "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s := readSweep(t, dir)
	if len(s.Rows) != 4 {
		t.Fatalf("%d rows, want 4", len(s.Rows))
	}
	// Records of the mixed cases carry their prompt set.
	sets := map[string]bool{}
	for _, row := range s.Rows {
		recs, err := record.ReadFile(filepath.Join(dir, row.Dir, rundir.RecordsFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			sets[r.PromptSet] = true
		}
	}
	if !sets["chat"] {
		t.Errorf("prompt sets seen: %v", sets)
	}
	// The experiment's name labels the sweep and every level; no name is
	// a path.
	if s.Name != "mixes" {
		t.Errorf("sweep.json name %q, want the experiment's", s.Name)
	}
	for _, row := range s.Rows {
		sum := readSummary(t, filepath.Join(dir, row.Dir))
		if sum.Run.Sweep != "mixes" || sum.Run.Case == "" || strings.Contains(sum.Run.Name, "/") || !strings.HasPrefix(sum.Run.Name, "mixes-") {
			t.Errorf("level %s: run name %q sweep %q case %q", row.Dir, sum.Run.Name, sum.Run.Sweep, sum.Run.Case)
		}
	}

	// A misspelt key fails with the file and line.
	bad := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(bad, []byte("max_requests: 4\nconcurency: 3\n"), 0o644)
	st, _, stderr = runCLI(t, nil, "run", "-f", bad)
	if st != exitUsage || !strings.Contains(stderr, "bad.yaml:2") || !strings.Contains(stderr, "concurrency") {
		t.Errorf("status %d, stderr:\n%s", st, stderr)
	}
}

// TestEveryProviderAgainstSimulator drives each provider through the CLI
// against the simulator speaking its protocol.
func TestEveryProviderAgainstSimulator(t *testing.T) {
	// An explicit invocation timeout: SageMaker's default (60 s × time
	// scale = 1.2 s here) is too tight for a loaded CI machine.
	srv, err := sim.New(sim.Options{TimeScale: 0.02, InvocationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	// The AWS SDK signs requests; the simulator accepts any credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "sim")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sim-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	cases := [][]string{
		{"--provider", "openai", "--base-url", hs.URL + "/v1", "--model", srv.ModelName(), "--ignore-eos"},
		{"--provider", "bedrock", "--endpoint-url", hs.URL, "--model", "meta.llama3-3-70b-instruct-v1:0"},
		{"--provider", "bedrock", "--endpoint-url", hs.URL, "--model", "meta.llama3", "--bedrock-api", "invoke-stream"},
		{"--provider", "sagemaker", "--endpoint-url", hs.URL, "--endpoint-name", "llama"},
		{"--provider", "tgi", "--base-url", hs.URL, "--ignore-eos"},
		{"--provider", "ollama", "--base-url", hs.URL, "--model", srv.ModelName(), "--ignore-eos"},
		{"--provider", "ollama", "--base-url", hs.URL, "--ignore-eos"}, // the model from /api/tags
	}
	for _, c := range cases {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"run", "--max-requests", "4", "--concurrency", "2", "--results-dir", dir,
				"--mean-input-tokens", "50", "--mean-output-tokens", "12", "--stddev-output-tokens", "0", "--no-progress"}, c...)
			st, stdout, stderr := runCLI(t, nil, args...)
			if st != exitOK {
				t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
			}
			// The banner names the endpoint: for AWS, region and URL.
			if strings.Contains(stderr, "llmload: , model") {
				t.Errorf("the banner names no endpoint:\n%s", stderr)
			}
			if c[1] == "bedrock" && !strings.Contains(stderr, "llmload: bedrock us-east-1 at "+hs.URL+", model ") ||
				c[1] == "sagemaker" && !strings.Contains(stderr, "llmload: sagemaker endpoint llama (us-east-1) at "+hs.URL+"\n") {
				t.Errorf("the banner does not name the AWS endpoint:\n%s", stderr)
			}
			sum := readSummary(t, dir)
			if (c[1] == "ollama" || c[1] == "tgi") && sum.Run.Model != srv.ModelName() {
				t.Errorf("model %q, want the server's %q", sum.Run.Model, srv.ModelName())
			}
			if sum.Requests.Succeeded != 4 || sum.Metrics.OutputTokens.Mean != 12 || sum.Metrics.TTFT.Count != 4 {
				t.Errorf("requests %+v (errors %v), output tokens %+v", sum.Requests, sum.ErrorsByKind, sum.Metrics.OutputTokens)
			}
			recs, _ := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
			for _, r := range recs {
				if !r.OK() && !r.Retried {
					t.Errorf("request %d: %s", r.ID, r.Error)
				}
				if len(r.ChunkTimesS) < 2 {
					t.Errorf("request %d arrived in %d chunks; want a stream", r.ID, len(r.ChunkTimesS))
				}
			}
			for _, f := range []string{rundir.ConfigFile, rundir.SummaryFile} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				if strings.Contains(string(b), "sim-secret") {
					t.Errorf("%s holds the AWS secret", f)
				}
			}
		})
	}
}

// TestEveryProviderUnderSimulatorQuota runs each provider against a
// simulator enforcing 3 requests per (scaled, 1.2 s) minute: the
// client-side limiter keeps a run inside it with no throttling, and
// without the limiter --retries carries every request through the
// throttling, with each retried attempt recorded and counted.
func TestEveryProviderUnderSimulatorQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("quota windows take seconds")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "sim")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sim-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	providers := map[string]func(url, model string) []string{
		"openai": func(u, m string) []string {
			return []string{"--provider", "openai", "--base-url", u + "/v1", "--model", m}
		},
		"bedrock": func(u, m string) []string {
			return []string{"--provider", "bedrock", "--endpoint-url", u, "--model", "meta.llama3"}
		},
		"sagemaker": func(u, m string) []string {
			return []string{"--provider", "sagemaker", "--endpoint-url", u, "--endpoint-name", "llama"}
		},
		"tgi":    func(u, m string) []string { return []string{"--provider", "tgi", "--base-url", u} },
		"ollama": func(u, m string) []string { return []string{"--provider", "ollama", "--base-url", u, "--model", m} },
	}
	// A fresh simulator for each run, so no run inherits another's window.
	endpoint := func(t *testing.T, flags func(url, model string) []string) []string {
		srv, err := sim.New(sim.Options{TimeScale: 0.02, RPM: 3, InvocationTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		return flags(hs.URL, srv.ModelName())
	}
	for name, flags := range providers {
		t.Run(name, func(t *testing.T) {
			common := []string{"run", "--max-requests", "6", "--concurrency", "3", "--mean-input-tokens", "20",
				"--mean-output-tokens", "4", "--stddev-output-tokens", "0", "--no-progress"}
			// With the limiter matched to the quota (its window 1.2 s, plus a
			// margin for send-to-arrival jitter on a busy machine): never
			// throttled.
			dir := filepath.Join(t.TempDir(), "limited")
			args := append(append(append([]string{}, common...), endpoint(t, flags)...), "--results-dir", dir, "--rpm", "3", "--quota-window", "1.4s")
			if st, stdout, stderr := runCLI(t, nil, args...); st != exitOK {
				t.Fatalf("limited: status %d\n%s\n%s", st, stdout, stderr)
			}
			sum := readSummary(t, dir)
			if sum.Requests.Succeeded != 6 || sum.Limiter == nil || sum.Limiter.HeldAttempts == 0 || sum.Retries != nil {
				t.Errorf("limited: %+v errors %v limiter %+v; want 6 ok and held attempts", sum.Requests, sum.ErrorsByKind, sum.Limiter)
			}
			// Without it, retries carry the run through the throttling.
			dir = filepath.Join(t.TempDir(), "retried")
			args = append(append(append([]string{}, common...), endpoint(t, flags)...), "--results-dir", dir, "--retries", "8")
			if st, stdout, stderr := runCLI(t, nil, args...); st != exitOK {
				t.Fatalf("retried: status %d\n%s\n%s", st, stdout, stderr)
			}
			sum = readSummary(t, dir)
			if sum.Requests.Total != 6 || sum.Requests.Succeeded != 6 {
				t.Errorf("retried: requests %+v (errors %v); want 6 of 6 after retries", sum.Requests, sum.ErrorsByKind)
			}
			if sum.Retries == nil || sum.Retries.Attempts == 0 || sum.Retries.ByKind["throttled"] != sum.Retries.Attempts {
				t.Errorf("retried: retries %+v; want throttled attempts counted", sum.Retries)
			}
		})
	}
}

func TestAutoSweepPlacesRatesBetweenSyncAndThroughput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "auto")
	// --concurrency 32 is the ceiling of the throughput search: 16, then 32.
	args := append([]string{"run", "--sweep", "auto", "--sweep-levels", "3", "--concurrency", "32", "--max-requests", "12", "--results-dir", dir}, fast...)
	st, stdout, stderr := runCLI(t, nil, args...)
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s := readSweep(t, dir)
	if s.Kind != analysis.SweepRate || len(s.Rows) != 6 || s.Rows[0].Dir != "sync" || s.Rows[1].Dir != "throughput-c16" || s.Rows[2].Dir != "throughput-c32" {
		t.Fatalf("sweep %+v", s)
	}
	for i, want := range []string{"sync", "throughput", "throughput", "", "", ""} {
		if s.Rows[i].Probe != want {
			t.Errorf("row %d (%s): probe %q, want %q", i, s.Rows[i].Dir, s.Rows[i].Probe, want)
		}
	}
	a := s.Auto
	if a == nil || a.MaxConcurrency == 0 || !strings.Contains(a.Method, "c=16") || !strings.Contains(a.Method, "c=32") {
		t.Fatalf("auto: %+v", a)
	}
	sync, peak := a.SyncRate, a.MaxRate
	if !(sync > 0 && peak > sync) || sync != s.Rows[0].Level {
		t.Fatalf("sync %.2f req/s, throughput %.2f req/s", sync, peak)
	}
	// GuideLLM's spacing: sync + k·(max−sync)/n for k = 1..n, to three
	// significant digits.
	for k, row := range s.Rows[3:] {
		want := sync + float64(k+1)*(peak-sync)/3
		if diff := row.Level/want - 1; diff > 0.005 || diff < -0.005 {
			t.Errorf("level %d at %g req/s, want %.4f", k, row.Level, want)
		}
		if got := strconv.FormatFloat(row.Level, 'g', -1, 64); len(strings.TrimLeft(strings.ReplaceAll(got, ".", ""), "0")) > 3 {
			t.Errorf("rate %s has more than three significant digits", got)
		}
		sum := readSummary(t, filepath.Join(dir, row.Dir))
		if sum.Run.Mode != "rate" || sum.Requests.Succeeded != 12 {
			t.Errorf("%s: mode %q, %d ok", row.Dir, sum.Run.Mode, sum.Requests.Succeeded)
		}
	}
	// One level count from start to end; probes say what they are.
	for _, want := range []string{"level 1 (sync probe", "level 2 (throughput probe, concurrency 16)", "level 4/6 (rate "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "maximum found by closed loop at doubling concurrency") || !strings.Contains(stdout, "sync probe at concurrency 1") {
		t.Errorf("sweep table does not say how the range was found:\n%s", stdout)
	}
}

// TestSweepBannersAndCaseLabels: each level's banner names the directory
// the level writes, and the sweep table of an experiment with several
// prompt mixes labels every row with its case.
func TestSweepBannersAndCaseLabels(t *testing.T) {
	tmp := t.TempDir()
	// A plain sweep: "results in …/c2", not the sweep directory.
	dir := filepath.Join(tmp, "plain")
	st, stdout, stderr := runCLI(t, nil, "run", "--sim-time-scale", "0.02", "--concurrency", "1,2", "--max-requests", "2",
		"--mean-output-tokens", "5", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	for _, sub := range []string{"c1", "c2"} {
		if !strings.Contains(stderr, "results in "+filepath.Join(dir, sub)+"\n") {
			t.Errorf("no banner names %s:\n%s", sub, stderr)
		}
	}
	if strings.Contains(stdout, "case") {
		t.Errorf("a plain sweep's table has a case column:\n%s", stdout)
	}

	// Two prompt mixes × two levels: rows say which mix (no weights: a
	// single set needs none).
	file := filepath.Join(tmp, "exp.yaml")
	os.WriteFile(file, []byte(`max_requests: 2
mean_output_tokens: 5
stddev_output_tokens: 0
sim:
  time_scale: 0.02
matrix:
  concurrency: [1, 2]
  prompt_sets:
    - {name: short, prompt: "Hello there"}
    - {name: long, mean_input_tokens: 300}
`), 0o644)
	dir = filepath.Join(tmp, "exp")
	st, stdout, stderr = runCLI(t, nil, "run", "-f", file, "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s := readSweep(t, dir)
	for _, row := range s.Rows {
		if !strings.Contains(stderr, "results in "+filepath.Join(dir, row.Dir)+"\n") {
			t.Errorf("no banner names %s:\n%s", row.Dir, stderr)
		}
		if row.Group == "" {
			t.Errorf("row %s has no group", row.Dir)
		}
	}
	lines := strings.Split(stdout, "\n")
	if !strings.HasPrefix(lines[0], "case") {
		t.Errorf("the table has no case column:\n%s", stdout)
	}
	labelled := map[string]int{}
	for _, l := range lines[1:] {
		for _, g := range []string{"short", "long"} {
			if strings.HasPrefix(l, "prompts="+g+" ") {
				labelled[g]++
			}
		}
	}
	if labelled["short"] != 2 || labelled["long"] != 2 {
		t.Errorf("rows labelled %v, want 2 each:\n%s", labelled, stdout)
	}
}

// TestBatchSizeSweep: the interval-batch study (batch sizes 1 to 50, a
// batch every second, small against large prompt) is one sweep, on the
// command line (--batch-size 1,3) or in a matrix (batch_size ×
// prompt_sets).
func TestBatchSizeSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cli")
	args := append([]string{"run", "--mode", "batch-interval", "--batch-size", "1,3", "--batch-interval", "50ms", "--batches", "2",
		"--results-dir", dir}, fast...)
	st, stdout, stderr := runCLI(t, nil, args...)
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s := readSweep(t, dir)
	if s.Kind != analysis.SweepBatchSize || len(s.Rows) != 2 || s.Rows[0].Dir != "b1" || s.Rows[1].Dir != "b3" || s.Rows[1].Level != 3 {
		t.Fatalf("sweep %+v", s)
	}
	for _, row := range s.Rows {
		sum := readSummary(t, filepath.Join(dir, row.Dir))
		if sum.Run.BatchSize != int(row.Level) || sum.Requests.Total != 2*int(row.Level) {
			t.Errorf("%s: batch size %d, %d requests", row.Dir, sum.Run.BatchSize, sum.Requests.Total)
		}
	}
	if !strings.Contains(stdout, "batch size") {
		t.Errorf("sweep table has no batch size column:\n%s", stdout)
	}

	tmp := t.TempDir()
	file := filepath.Join(tmp, "study.yaml")
	os.WriteFile(file, []byte(`mode: batch-interval
batch_interval: 50ms
batches: 2
mean_output_tokens: 8
stddev_output_tokens: 0
sim: {time_scale: 0.02}
matrix:
  batch_size: [1, 3]
  prompt_sets:
    - {name: small, mean_input_tokens: 43}
    - {name: large, mean_input_tokens: 1500}
`), 0o644)
	out := filepath.Join(tmp, "out")
	st, stdout, stderr = runCLI(t, nil, "run", "-f", file, "--results-dir", out, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	s = readSweep(t, out)
	if s.Kind != analysis.SweepBatchSize || len(s.Rows) != 4 {
		t.Fatalf("matrix sweep %+v", s)
	}
	groups := map[string][]float64{}
	for _, row := range s.Rows {
		groups[row.Group] = append(groups[row.Group], row.Level)
	}
	if len(groups) != 2 {
		t.Errorf("series %v, want small and large", groups)
	}
	for g, levels := range groups {
		if !slices.Equal(levels, []float64{1, 3}) {
			t.Errorf("series %s levels %v", g, levels)
		}
	}
	// Batch sizes need a batch mode.
	st, _, stderr = runCLI(t, nil, "run", "--dry-run", "--batch-size", "1,3")
	if st != exitUsage || !strings.Contains(stderr, "batch_size") && !strings.Contains(stderr, "batch-size") {
		t.Errorf("--batch-size list in mode concurrency: status %d\n%s", st, stderr)
	}
}
