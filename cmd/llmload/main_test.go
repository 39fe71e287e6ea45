package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
)

// runCLI runs llmload in-process with the given environment. A `run`
// writes no report unless its arguments say --no-report=false: drawing
// every run's charts would make this package's tests several times
// slower (minutes under -race), and report tests ask for them.
func runCLI(t *testing.T, env map[string]string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	if len(args) > 0 && args[0] == "run" && !slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(strings.TrimLeft(a, "-"), "no-report")
	}) {
		args = append(slices.Clone(args), "--no-report")
	}
	var out, errb bytes.Buffer
	c := &cli{
		stdout:      &out,
		stderr:      &errb,
		getenv:      func(k string) string { return env[k] },
		interrupted: make(chan struct{}),
	}
	status = c.main(context.Background(), args)
	return status, out.String(), errb.String()
}

func readSummary(t *testing.T, dir string) *stats.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s stats.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestRunMatchesSimulatorGroundTruth is the end-to-end check that llmload's
// numbers are true: it benchmarks a simulated endpoint over real loopback
// HTTP and compares every request's measured TTFT and TPOT with the
// simulator's own record of when it emitted each token.
func TestRunMatchesSimulatorGroundTruth(t *testing.T) {
	p, err := sim.LookupProfile("llama2-7b-a10g")
	if err != nil {
		t.Fatal(err)
	}
	// Real time: a loaded machine's scheduling delays (milliseconds) stay
	// small against real TTFTs (hundreds of milliseconds).
	srv, err := sim.New(sim.Options{Profile: p, TimeScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	dir := filepath.Join(t.TempDir(), "run")
	status, stdout, stderr := runCLI(t, nil, "run",
		"--base-url", hs.URL+"/v1", "--model", srv.ModelName(), "--ignore-eos",
		"--mean-input-tokens", "300", "--stddev-input-tokens", "50",
		"--mean-output-tokens", "40", "--stddev-output-tokens", "0",
		"--concurrency", "4", "--max-requests", "16", "--warmup", "2",
		"--timeout", "30s", "--results-dir", dir, "--no-progress")
	if status != exitOK {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", status, stdout, stderr)
	}
	recs, err := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 18 {
		t.Fatalf("%d records, want 16 + 2 warm-up", len(recs))
	}
	var measTTFT, trueTTFT, measTPOT, trueTPOT float64
	var diffs []float64 // measured − true TTFT per request, ms
	for _, r := range recs {
		if !r.OK() {
			t.Fatalf("request %d failed: %s", r.ID, r.Error)
		}
		tr, ok := srv.Trace(r.ResponseID)
		if !ok {
			t.Fatalf("no trace for response %q", r.ResponseID)
		}
		wantLocal := 40 // the server reports usage: requests 16 on are counted locally one in 16
		if r.ID >= 16 && r.ID%16 != 0 {
			wantLocal = 0
		}
		if r.OutputTokens != 40 || tr.OutputTokens != 40 || r.OutputTokensLocal != wantLocal {
			t.Errorf("request %d: output tokens %d (local %d), simulator emitted %d; want 40", r.ID, r.OutputTokens, r.OutputTokensLocal, tr.OutputTokens)
		}
		if r.InputTokens != tr.PromptTokens {
			t.Errorf("request %d: input tokens %d, simulator counted %d", r.ID, r.InputTokens, tr.PromptTokens)
		}
		n := len(tr.TokenTimes)
		diffs = append(diffs, 1000*(r.TTFTS-tr.FirstToken.Sub(tr.Arrived).Seconds()))
		measTTFT += r.TTFTS
		trueTTFT += tr.FirstToken.Sub(tr.Arrived).Seconds()
		measTPOT += (r.E2ES - r.TTFTS) / float64(r.OutputTokens-1)
		trueTPOT += tr.TokenTimes[n-1].Sub(tr.TokenTimes[0]).Seconds() / float64(n-1)
	}
	d := stats.Describe(diffs)
	t.Logf("per-request TTFT error (ms): min %.3f p50 %.3f p90 %.3f max %.3f", d.Min, d.P50, d.P90, d.Max)
	for _, c := range []struct {
		name       string
		meas, want float64
	}{
		{"TTFT", measTTFT, trueTTFT},
		{"TPOT", measTPOT, trueTPOT},
	} {
		rel := (c.meas - c.want) / c.want
		t.Logf("%s: measured mean %.3f ms, simulator truth %.3f ms, error %+.2f%%", c.name, 1000*c.meas/18, 1000*c.want/18, 100*rel)
		if math.Abs(rel) > 0.05 {
			t.Errorf("%s measured %.3f ms vs truth %.3f ms: error %.1f%% is over 5%%", c.name, 1000*c.meas/18, 1000*c.want/18, 100*rel)
		}
	}

	sum := readSummary(t, dir)
	if sum.SchemaVersion != stats.SummarySchemaVersion || sum.Requests.Total != 16 || sum.Requests.Succeeded != 16 || sum.Requests.WarmupExcluded != 2 {
		t.Errorf("summary requests = %+v", sum.Requests)
	}
	if sum.Run.StopReason != "max_requests" || sum.Run.Interrupted {
		t.Errorf("stop reason %q interrupted %v", sum.Run.StopReason, sum.Run.Interrupted)
	}
	if sum.Concurrency.Max != 4 {
		t.Errorf("max concurrency %d, want 4", sum.Concurrency.Max)
	}
	stem := report.LLMPerfName(srv.ModelName(), 300, 40)
	for _, f := range []string{rundir.ConfigFile, stem + "_summary.json", stem + "_individual_responses.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	if !strings.Contains(stdout, "TTFT") || !strings.Contains(stdout, "throughput") {
		t.Errorf("summary table missing from stdout:\n%s", stdout)
	}
}

// TestRunDefaultSimulator runs the README's main job, sped up.
func TestRunDefaultSimulator(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	status, stdout, stderr := runCLI(t, nil, "run", "--sim-time-scale", "0.05", "--max-requests", "12",
		"--mean-output-tokens", "30", "--stddev-output-tokens", "5", "--results-dir", dir, "--no-progress")
	if status != exitOK {
		t.Fatalf("status %d\n%s\n%s", status, stdout, stderr)
	}
	sum := readSummary(t, dir)
	if sum.Run.Provider != "sim" || sum.Requests.Succeeded != 12 {
		t.Errorf("provider %q, %d succeeded", sum.Run.Provider, sum.Requests.Succeeded)
	}
	if sum.Throughput.OutputTokensPerS <= 0 || sum.Metrics.TTFT.Count != 12 {
		t.Errorf("throughput %v, ttft count %d", sum.Throughput.OutputTokensPerS, sum.Metrics.TTFT.Count)
	}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	cases := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"unknown flag", []string{"run", "--frobnicate"}, "frobnicate"},
		{"negative concurrency", []string{"run", "--concurrency", "-3"}, "concurrency"},
		{"stddev without mean", []string{"run", "--mean-input-tokens", "0", "--stddev-input-tokens", "10"}, "mean-input-tokens"},
		{"unreadable prompt file", []string{"run", "--prompt-file", missing}, "nope.jsonl"},
		{"unknown provider", []string{"run", "--provider", "bogus"}, "bogus"},
		{"openai without model", []string{"run", "--base-url", "http://127.0.0.1:1/v1"}, "--model"},
		{"bad timeout", []string{"run", "--timeout", "soon"}, "timeout"},
		{"zero time scale", []string{"run", "--sim-time-scale", "0"}, "sim-time-scale"},
		{"unknown profile", []string{"run", "--sim-profile", "h100-9000"}, "h100-9000"},
		{"bad extra body", []string{"run", "--extra-body", "[1]"}, "JSON object"},
		{"unknown HTTP client", []string{"run", "--http-client", "fast"}, "http-client"},
		{"unknown command", []string{"bench"}, "bench"},
		{"stray argument", []string{"run", "extra"}, "extra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, stderr := runCLI(t, nil, append(c.args, "--results-dir", t.TempDir())...)
			if status != exitUsage {
				t.Errorf("status %d, want 2; stderr:\n%s", status, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr should be one line naming %q, got:\n%s", c.want, stderr)
			}
		})
	}
}

func TestUnreachableEndpointRecordsConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	status, _, stderr := runCLI(t, nil, "run", "--base-url", url+"/v1", "--model", "m",
		"--concurrency", "2", "--max-requests", "4", "--results-dir", dir, "--no-progress")
	if status != exitFailed {
		t.Errorf("status %d, want 1", status)
	}
	if !strings.Contains(stderr, "no request succeeded") {
		t.Errorf("stderr does not say why:\n%s", stderr)
	}
	sum := readSummary(t, dir)
	if sum.ErrorsByKind[llm.KindConnection] != 4 || sum.ErrorRate != 1 {
		t.Errorf("errors %v, rate %v; want 4 connection errors", sum.ErrorsByKind, sum.ErrorRate)
	}
}

func TestServerErrorsAndSecretsStayOutOfRunDirectory(t *testing.T) {
	const key = "sk-very-secret-key-123"
	var gotAuth string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":{"message":"bad key %s"}}`, key) // a server that echoes the key
	}))
	defer hs.Close()
	dir := filepath.Join(t.TempDir(), "run")
	env := map[string]string{"OPENAI_API_KEY": key, "OPENAI_BASE_URL": hs.URL + "/v1"}
	status, stdout, stderr := runCLI(t, env, "run", "--model", "m", "--max-requests", "3", "--concurrency", "1",
		"--header", "X-Api-Token: tok-abc", "--results-dir", dir, "--no-progress")
	if status != exitFailed {
		t.Errorf("status %d, want 1", status)
	}
	if gotAuth != "Bearer "+key {
		t.Errorf("server got Authorization %q", gotAuth)
	}
	sum := readSummary(t, dir)
	if sum.ErrorsByKind[llm.KindServer] != 3 {
		t.Errorf("errors by kind %v, want 3 server_error", sum.ErrorsByKind)
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, key) || strings.Contains(out, "tok-abc") {
			t.Errorf("a secret was printed:\n%s", out)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte("tok-abc")) {
			t.Errorf("%s contains a secret", e.Name())
		}
	}
}

func TestResultsDirIsNeverReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"run", "--sim-time-scale", "0.02", "--max-requests", "2", "--mean-output-tokens", "5", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress"}
	if st, _, stderr := runCLI(t, nil, args...); st != exitOK {
		t.Fatalf("first run: %d %s", st, stderr)
	}
	st, _, stderr := runCLI(t, nil, args...)
	if st != exitUsage || !strings.Contains(stderr, "already holds a run") {
		t.Errorf("second run into the same directory: status %d, stderr %s", st, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	if st, out, _ := runCLI(t, nil, "run", "-h"); st != exitOK || !strings.Contains(out, "--concurrency") && !strings.Contains(out, "-concurrency") {
		t.Errorf("run -h: status %d\n%s", st, out)
	}
	if st, out, _ := runCLI(t, nil, "version"); st != exitOK || !strings.HasPrefix(out, "llmload ") {
		t.Errorf("version: %d %q", st, out)
	}
}

// TestInterruptWritesSummaryOfWhatCompleted is Ctrl-C: no new requests,
// in-flight ones finish, the summary says interrupted, exit 130.
func TestInterruptWritesSummaryOfWhatCompleted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	interrupted := make(chan struct{})
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, interrupted: interrupted}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Interrupt once some requests completed: a fixed delay can pass
		// before the first one ends on a loaded machine under -race.
		recs := filepath.Join(dir, rundir.RecordsFile)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(recs); err == nil && bytes.Count(b, []byte("\n")) >= 3 {
				break
			}
		}
		close(interrupted)
		cancel()
	}()
	status := c.main(ctx, []string{"run", "--sim-time-scale", "0.05", "--max-requests", "100000", "--concurrency", "3",
		"--mean-output-tokens", "20", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress"})
	if status != exitInterrupted {
		t.Fatalf("status %d, want 130\n%s", status, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", errb.String())
	}
	sum := readSummary(t, dir)
	if !sum.Run.Interrupted || sum.Run.StopReason != "interrupted" {
		t.Errorf("run = %+v, want interrupted", sum.Run)
	}
	recs, err := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || len(recs) != sum.Requests.Total || len(recs) > 1000 {
		t.Errorf("%d records, summary total %d", len(recs), sum.Requests.Total)
	}
	// The in-flight requests had a grace period far longer than they need.
	if sum.Requests.Failed != 0 {
		t.Errorf("%d requests failed; in-flight requests should have finished: %v", sum.Requests.Failed, sum.ErrorsByKind)
	}
}
