package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
)

// llmperfSummary reads the one LLMPerf summary file of a run directory.
func llmperfSummary(t *testing.T, dir string) map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_summary.json"))
	if len(files) != 1 {
		t.Fatalf("LLMPerf summary files: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConcurrencyLabelIsTheShapesCap: batch and rate runs once recorded the
// unused default concurrency of 10 in summary.json, config.yaml and the
// LLMPerf file. Each shape now records the cap it really had (or none),
// and the LLMPerf file falls back to the measured peak.
func TestConcurrencyLabelIsTheShapesCap(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantCap int // run.concurrency; -1: none (0), LLMPerf gets the peak
	}{
		{"batch-sequential: the batch size", []string{"--mode", "batch-sequential", "--batch-size", "3", "--batches", "2"}, 3},
		{"batch-interval: no cap", []string{"--mode", "batch-interval", "--batch-size", "2", "--batch-interval", "50ms", "--batches", "2"}, -1},
		{"rate, uncapped", []string{"--rate", "40", "--arrival", "constant", "--max-requests", "6"}, -1},
		{"rate, capped", []string{"--rate", "40", "--max-concurrency", "2", "--max-requests", "6"}, 2},
		{"closed loop", []string{"--concurrency", "3", "--max-requests", "6"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := append(append([]string{"run", "--results-dir", dir}, fast...), tc.args...)
			if st, stdout, stderr := runCLI(t, nil, args...); st != exitOK {
				t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
			}
			sum := readSummary(t, dir)
			want := max(tc.wantCap, 0)
			if sum.Run.Concurrency != want {
				t.Errorf("run.concurrency %d, want %d", sum.Run.Concurrency, want)
			}
			if sum.Concurrency.Max < 1 || tc.wantCap > 0 && sum.Concurrency.Max > tc.wantCap {
				t.Errorf("measured peak %d outside 1..%d", sum.Concurrency.Max, tc.wantCap)
			}
			lp := llmperfSummary(t, dir)["num_concurrent_requests"]
			wantLP := float64(tc.wantCap)
			if tc.wantCap < 0 {
				wantLP = float64(sum.Concurrency.Max)
			}
			if lp != wantLP {
				t.Errorf("LLMPerf num_concurrent_requests %v, want %v", lp, wantLP)
			}
			cfgYAML, _ := os.ReadFile(filepath.Join(dir, rundir.ConfigFile))
			hasKey := strings.Contains(string(cfgYAML), "\nconcurrency:")
			if closed := sum.Run.Mode == "concurrency"; hasKey != closed {
				t.Errorf("config.yaml has a concurrency key: %v, want %v\n%s", hasKey, closed, cfgYAML)
			}
		})
	}
	// A concurrency typed for a shape without workers is a mistake, said.
	st, _, stderr := runCLI(t, nil, "run", "--dry-run", "--rate", "5", "--concurrency", "8")
	if st != exitUsage || !strings.Contains(stderr, "--max-concurrency") {
		t.Errorf("--rate with --concurrency: status %d\n%s", st, stderr)
	}
}

// TestSimulatorLabels: a simulated run's base_url is a URL, and a time
// scale other than 1 is said in summary.json and on the console.
func TestSimulatorLabels(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"run", "--results-dir", dir, "--max-requests", "3"}, fast...)
	st, stdout, stderr := runCLI(t, nil, args...)
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	sum := readSummary(t, dir)
	if !strings.HasPrefix(sum.Run.BaseURL, "http://127.0.0.1:") || strings.Contains(sum.Run.BaseURL, " ") {
		t.Errorf("run.base_url %q is not a URL", sum.Run.BaseURL)
	}
	if sum.Run.Sim == nil || sum.Run.Sim.TimeScale != 0.02 || sum.Run.Sim.Profile == "" {
		t.Fatalf("run.sim %+v", sum.Run.Sim)
	}
	if !strings.Contains(stdout, "TIME SCALE 0.02") || !strings.Contains(stdout, "50× faster") {
		t.Errorf("console does not say the time scale:\n%s", stdout)
	}
}

// TestNativeProviderLabels: the api and base_url of native providers say
// what was sent where, and Bedrock's non-streamed operations produce
// non-streamed records with no TPOT, meeting no TPOT SLO.
func TestNativeProviderLabels(t *testing.T) {
	srv, err := sim.New(sim.Options{TimeScale: 0.02, InvocationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "sim")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sim-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	cases := []struct {
		args        []string
		api, base   string
		stream      bool
		tpotSLOMets bool
	}{
		{[]string{"--provider", "ollama", "--base-url", hs.URL, "--model", srv.ModelName(), "--ollama-api", "generate"}, "generate", hs.URL, true, true},
		{[]string{"--provider", "tgi", "--base-url", hs.URL}, "generate", hs.URL, true, true},
		{[]string{"--provider", "bedrock", "--endpoint-url", hs.URL, "--model", "meta.llama3", "--bedrock-api", "invoke"}, "invoke", hs.URL, false, false},
		{[]string{"--provider", "bedrock", "--endpoint-url", hs.URL, "--model", "meta.llama3", "--bedrock-api", "converse"}, "converse", hs.URL, false, false},
		{[]string{"--provider", "bedrock", "--endpoint-url", hs.URL, "--model", "meta.llama3"}, "converse-stream", hs.URL, true, true},
		{[]string{"--provider", "sagemaker", "--endpoint-url", hs.URL, "--endpoint-name", "llama", "--sagemaker-format", "messages"}, "messages", hs.URL + "/endpoints/llama", true, true},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"run", "--max-requests", "3", "--concurrency", "3", "--results-dir", dir, "--ignore-eos",
				"--mean-input-tokens", "40", "--mean-output-tokens", "12", "--stddev-output-tokens", "0", "--no-progress",
				"--slo", "tpot<=10s"}, tc.args...)
			st, stdout, stderr := runCLI(t, nil, args...)
			if st != exitOK {
				t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
			}
			sum := readSummary(t, dir)
			if sum.Run.API != tc.api || sum.Run.BaseURL != tc.base || sum.Run.Stream != tc.stream {
				t.Errorf("run api %q base_url %q stream %v; want %q %q %v", sum.Run.API, sum.Run.BaseURL, sum.Run.Stream, tc.api, tc.base, tc.stream)
			}
			recs, _ := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
			for _, r := range recs {
				if r.Stream != tc.stream {
					t.Errorf("record %d stream %v", r.ID, r.Stream)
				}
			}
			if (sum.Metrics.TPOT.Count > 0) != tc.stream {
				t.Errorf("TPOT count %d for stream %v", sum.Metrics.TPOT.Count, tc.stream)
			}
			if g := sum.Goodput; g == nil || (g.Met > 0) != tc.tpotSLOMets {
				t.Errorf("goodput %+v: a non-streamed request must meet no TPOT SLO", g)
			}
		})
	}
	st, _, stderr := runCLI(t, nil, "run", "--dry-run", "--provider", "bedrock", "--model", "m", "--region", "us-east-1", "--bedrock-api", "converse", "--stream")
	if st != exitUsage || !strings.Contains(stderr, "converse-stream") {
		t.Errorf("--bedrock-api converse --stream: status %d\n%s", st, stderr)
	}
}

// TestDryRunRejectsWhatTheRunRejects: each of these was approved by
// --dry-run, then rejected by the run itself with exit 2.
func TestDryRunRejectsWhatTheRunRejects(t *testing.T) {
	pf := filepath.Join(t.TempDir(), "p.jsonl")
	os.WriteFile(pf, []byte(`{"prompt": "hi"}`+"\n"), 0o644)
	cases := []struct {
		args []string
		want string // in the error line
	}{
		{[]string{"--slo", "ttft<=500"}, "needs a unit"},
		{[]string{"--threshold", "ttft<500ms"}, "needs a statistic"},
		{[]string{"--threshold", "ttft_p95=500ms"}, "not supported"},
		{[]string{"--threshold", "tfft_p95<500ms"}, "unknown metric"},
		{[]string{"--tokenizer", "foo"}, "tokenizer"},
		{[]string{"--prompt", "x", "--prompt-file", pf}, "cannot be used together"},
		// The flag the user typed is the one blamed.
		{[]string{"--stddev-input-tokens", "10", "--prompt", "x"}, "--stddev-input-tokens cannot be used with --prompt"},
		{[]string{"--concurrency", "1,2", "--tokenizer", "foo"}, "tokenizer"},
		{[]string{"--sweep", "auto", "--slo", "ttft<=500"}, "needs a unit"},
	}
	for _, tc := range cases {
		for _, dry := range []bool{true, false} {
			args := append([]string{"run", "--results-dir", filepath.Join(t.TempDir(), "run"), "--max-requests", "1", "--sim-time-scale", "0.02"}, tc.args...)
			if dry {
				args = append(args, "--dry-run")
			}
			st, stdout, stderr := runCLI(t, nil, args...)
			if st != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("%v (dry run %v): status %d, want 2 with one line containing %q\nstdout: %s\nstderr: %s", tc.args, dry, st, tc.want, stdout, stderr)
			}
		}
	}
}

// TestConfigYAMLRunsAgain: experiments.md says `llmload run -f
// results/<run>/config.yaml` runs a run again. It used to fail on the
// stored results_dir, and a relative prompt_file resolved against the run
// directory instead of where the user ran llmload.
func TestConfigYAMLRunsAgain(t *testing.T) {
	tmp := t.TempDir()
	t.Chdir(tmp)
	os.WriteFile("prompts.jsonl", []byte(`{"prompt": "Say hello.", "max_tokens": 8}`+"\n"), 0o644)
	first := filepath.Join("results", "first")
	args := append([]string{"run", "--results-dir", first, "--max-requests", "2", "--prompt-file", "prompts.jsonl", "--api-key", "sk-SECRET"}, fast[:2]...)
	if st, stdout, stderr := runCLI(t, nil, args...); st != exitOK {
		t.Fatalf("first run: status %d\n%s\n%s", st, stdout, stderr)
	}
	cfgPath := filepath.Join(first, rundir.ConfigFile)
	b, _ := os.ReadFile(cfgPath)
	if strings.Contains(string(b), "sk-SECRET") {
		t.Fatalf("config.yaml holds the key:\n%s", b)
	}
	again := filepath.Join(tmp, "again")
	st, stdout, stderr := runCLI(t, nil, "run", "-f", cfgPath, "--results-dir", again, "--no-progress")
	if st != exitOK {
		t.Fatalf("run -f config.yaml: status %d\n%s\n%s\nconfig.yaml:\n%s", st, stdout, stderr, b)
	}
	if sum := readSummary(t, again); sum.Requests.Succeeded != 2 {
		t.Errorf("re-run: %+v", sum.Requests)
	}
	// With no --results-dir, a new directory of its own.
	st, _, stderr = runCLI(t, nil, "run", "-f", cfgPath, "--no-progress")
	if st != exitOK {
		t.Fatalf("run -f config.yaml without --results-dir: status %d\n%s", st, stderr)
	}
}
