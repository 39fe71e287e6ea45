package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
)

// Ctrl-C during --retries against a server that always answers 500: the
// run ends within a second, and the summary counts every request as
// failed (canceled), with its attempts under retries.
func TestInterruptDuringRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	interrupted := make(chan struct{})
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, interrupted: interrupted}
	ctx, cancel := context.WithCancel(context.Background())
	// Interrupt once both workers are retrying (their first attempts are
	// recorded): a fixed delay can pass before the run starts on a loaded
	// machine under -race.
	var interruptedAt atomic.Pointer[time.Time]
	go func() {
		recs := filepath.Join(dir, rundir.RecordsFile)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile(recs); err == nil && bytes.Count(b, []byte("\n")) >= 2 {
				break
			}
		}
		now := time.Now()
		interruptedAt.Store(&now)
		close(interrupted)
		cancel()
	}()
	status := c.main(ctx, []string{"run", "--base-url", srv.URL + "/v1", "--model", "m", "--retries", "10",
		"--concurrency", "2", "--max-requests", "50", "--timeout", "30s", "--results-dir", dir, "--no-progress", "--no-report"})
	// The runner stops within a second (load.TestInterruptStopsRetries);
	// here the summary, LLMPerf files and a loaded machine under -race add
	// their time, so the bound is looser. The report is left out: drawing
	// plots under -race next to the browser test took seconds in CI, and
	// it is not what this test measures.
	if at := interruptedAt.Load(); at == nil || time.Since(*at) > 5*time.Second {
		t.Errorf("llmload ended more than 5 s after Ctrl-C (interrupted at %v)", at)
	}
	if status != exitInterrupted {
		t.Fatalf("status %d, want 130\n%s", status, errb.String())
	}
	sum := readSummary(t, dir)
	recs, err := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests.Total != 2 || sum.Requests.Failed != 2 || sum.ErrorsByKind[llm.KindCanceled] != 2 {
		t.Errorf("summary requests %+v errors %v; want 2 failed, canceled", sum.Requests, sum.ErrorsByKind)
	}
	if sum.Retries == nil || sum.Retries.Attempts != len(recs)-2 {
		t.Errorf("summary retries %+v, records %d", sum.Retries, len(recs))
	}
	if !strings.Contains(out.String(), "canceled") {
		t.Errorf("console summary does not show the canceled requests:\n%s", out.String())
	}
}

// --max-retry-after caps a Retry-After of an hour, and the console table
// says how long attempts waited on Retry-After.
func TestMaxRetryAfterFlag(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	st, out, errs := runCLI(t, nil, "run", "--base-url", srv.URL+"/v1", "--model", "m", "--retries", "1",
		"--max-retry-after", "300ms", "--concurrency", "1", "--max-requests", "1", "--results-dir", dir, "--no-progress")
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("run took %s; --max-retry-after 300ms", el)
	}
	if st != exitFailed {
		t.Errorf("status %d, want 1 (no request succeeded)\n%s", st, errs)
	}
	sum := readSummary(t, dir)
	if ra := sum.RetryAfter; ra == nil || ra.Waits != 1 || ra.Capped != 1 || ra.MaxAskedS != 3600 {
		t.Errorf("summary retry_after %+v", sum.RetryAfter)
	}
	if !strings.Contains(out, "Retry-After") {
		t.Errorf("console summary does not mention Retry-After waits:\n%s", out)
	}
	if st, _, errs := runCLI(t, nil, "run", "--max-retry-after", "-1s", "--dry-run"); st != exitUsage || !strings.Contains(errs, "max_retry_after") && !strings.Contains(errs, "max-retry-after") {
		t.Errorf("negative --max-retry-after: status %d %s", st, errs)
	}
}

// Against the simulator behaving like llama-server (it closes each
// kept-alive connection 30 ms after a response, without Connection:
// close), 200 streamed requests at concurrency 4 all succeed; the lost
// sends are counted as replays in summary.json and the console table.
func TestSimClosingKeepAliveCostsNoRequest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI(t, nil, "run", "--sim-close-after-response", "30ms", "--sim-time-scale", "0.005",
		"--concurrency", "4", "--max-requests", "200", "--mean-input-tokens", "20", "--stddev-input-tokens", "0",
		"--mean-output-tokens", "5", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, errs)
	}
	sum := readSummary(t, dir)
	if sum.Requests.Total != 200 || sum.Requests.Failed != 0 {
		t.Fatalf("requests %+v, errors %v; want 200 ok", sum.Requests, sum.ErrorsByKind)
	}
	if c := sum.Connections; c == nil || c.Replays == 0 || c.NewConnections < 50 {
		t.Errorf("summary connections %+v; want replays and a new connection per request or so", sum.Connections)
	}
	if !strings.Contains(out, "replays") {
		t.Errorf("console table does not show replays:\n%s", out)
	}
	t.Logf("connections: %+v", *sum.Connections)
}
