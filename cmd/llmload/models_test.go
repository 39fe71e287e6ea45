package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/rundir"
)

// TestRunWithoutModelUsesTheServersOne serves `llmload sim` on loopback
// and runs against it with no --model: llmload asks /v1/models, uses the
// one model listed, says so, and records it in config.yaml and
// summary.json.
func TestRunWithoutModelUsesTheServersOne(t *testing.T) {
	var simErr syncBuffer
	sc := &cli{stdout: &bytes.Buffer{}, stderr: &simErr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- sc.main(ctx, []string{"sim", "--listen", "127.0.0.1:0", "--time-scale", "0.02"})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("sim did not stop")
		}
	}()
	addr := regexp.MustCompile(`serving (http://\S+/v1)`)
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(simErr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("sim never said where it serves:\n%s", simErr.String())
	}

	dir := filepath.Join(t.TempDir(), "run")
	st, stdout, stderr := runCLI(t, nil, "run", "--base-url", base, "--max-requests", "2", "--concurrency", "1",
		"--mean-output-tokens", "5", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	const model = "meta-llama/Llama-2-7b-chat-hf"
	if !strings.Contains(stderr, "no --model given; using "+model) {
		t.Errorf("stderr does not say which model:\n%s", stderr)
	}
	if s := readSummary(t, dir); s.Run.Model != model || s.Requests.Succeeded != 2 {
		t.Errorf("summary model %q, %d succeeded", s.Run.Model, s.Requests.Succeeded)
	}
	cfg, err := rundir.ReadConfig(dir)
	if err != nil || cfg.Model != model {
		t.Errorf("config.yaml model %q (%v)", cfg.Model, err)
	}
}

// TestRunWithoutModelNeedsOneModel: a server listing two models, or whose
// /v1/models fails, stops a run without --model with exit 2 and a message
// naming the models or asking for --model.
func TestRunWithoutModelNeedsOneModel(t *testing.T) {
	var sent int
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/two/v1/models":
			fmt.Fprint(w, `{"object":"list","data":[{"id":"llama-3-8b","object":"model"},{"id":"qwen-2-7b","object":"model"}]}`)
		case "/none/v1/models":
			http.NotFound(w, r)
		default:
			sent++
			http.Error(w, "no", http.StatusBadRequest)
		}
	}))
	defer hs.Close()
	for _, tt := range []struct{ path, want string }{
		{"/two/v1", "serves 2 models: llama-3-8b, qwen-2-7b; pass --model with one of them"},
		{"/none/v1", "could not list its models (GET /models: HTTP 404: 404 page not found); pass --model"},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		st, _, stderr := runCLI(t, nil, "run", "--base-url", hs.URL+tt.path, "--max-requests", "2", "--results-dir", dir)
		if st != exitUsage || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: status %d, stderr:\n%s\nwant %q", tt.path, st, stderr, tt.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: a run directory was written", tt.path)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests sent", sent)
	}
}

// TestPromptGivesLLMPerfInputTokens: with --prompt, the LLMPerf summary's
// mean_input_tokens is the prompt's length, not 0.
func TestPromptGivesLLMPerfInputTokens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, stdout, stderr := runCLI(t, nil, "run", "--sim-time-scale", "0.02", "--prompt", "Tell me a story about a dragon and a knight.",
		"--max-requests", "2", "--mean-output-tokens", "5", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("status %d\n%s\n%s", st, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*_summary.json"))
	var found bool
	for _, f := range files {
		if filepath.Base(f) == rundir.SummaryFile {
			continue
		}
		found = true
		b, _ := os.ReadFile(f)
		var s struct {
			MeanInputTokens int `json:"mean_input_tokens"`
		}
		if err := json.Unmarshal(b, &s); err != nil || s.MeanInputTokens < 5 || strings.Contains(filepath.Base(f), "_0_") {
			t.Errorf("%s: mean_input_tokens %d (%v)", filepath.Base(f), s.MeanInputTokens, err)
		}
	}
	if !found {
		t.Errorf("no LLMPerf summary in %v", files)
	}
}
