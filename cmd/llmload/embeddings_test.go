package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunEmbeddings runs --api embeddings against the built-in simulator
// end to end, and checks that bad embeddings flags exit 2.
func TestRunEmbeddings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "emb")
	st, _, stderr := runCLI(t, nil, "run", "--api", "embeddings", "--embedding-batch", "4", "--max-requests", "8",
		"--concurrency", "2", "--sim-time-scale", "0.01", "--results-dir", dir, "--no-progress")
	if st != 0 {
		t.Fatalf("exit %d: %s", st, stderr)
	}
	s := readSummary(t, dir)
	if s.Requests.Succeeded != 8 || s.Run.API != "embeddings" || s.Run.Stream || !(s.Throughput.InputsPerS > 0) ||
		s.Metrics.TTFT.Count != 0 || s.Metrics.ITL.Count != 0 || s.Throughput.OutputTokensPerS != 0 {
		t.Errorf("summary: %d ok, api %s, stream %v, %v inputs/s, ttft n=%d, itl n=%d, %v output tok/s", s.Requests.Succeeded, s.Run.API,
			s.Run.Stream, s.Throughput.InputsPerS, s.Metrics.TTFT.Count, s.Metrics.ITL.Count, s.Throughput.OutputTokensPerS)
	}
	for _, args := range [][]string{
		{"--api", "embeddings", "--provider", "bedrock", "--model", "m"},
		{"--api", "embeddings", "--embedding-batch", "-1"},
		{"--api", "embedding"},
	} {
		args = append([]string{"run", "--max-requests", "1", "--results-dir", filepath.Join(t.TempDir(), "x")}, args...)
		st, _, stderr := runCLI(t, nil, args...)
		if st != 2 || !strings.Contains(stderr, "api") && !strings.Contains(stderr, "embedding") {
			t.Errorf("%q: exit %d, %q", args, st, stderr)
		}
	}
}
