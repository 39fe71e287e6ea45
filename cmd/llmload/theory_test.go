package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTheoryCommand(t *testing.T) {
	// CALIBRATION.md's worked example: a batch of 4, 116 ops/byte.
	st, out, errs := runCLI(t, nil, "theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--count", "1", "--context", "4096", "--dtype", "fp16", "--price-per-hour", "1.212")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, want := range []string{"largest batch that fits  4 sequences", "116.7 ops/byte", "critical batch           116",
		"11 for the weights and the critical batch", "cost at batch 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A user's catalog, from --print-catalog, edited.
	_, yaml, _ := runCLI(t, nil, "theory", "--print-catalog")
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(yaml, "memory_gb: 24,  bandwidth_gb_s: 600", "memory_gb: 48,  bandwidth_gb_s: 600", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	st, out, errs = runCLI(t, nil, "theory", "--catalog", path, "--model", "llama-2-7b", "--accelerator", "a10g")
	// (48 − 13.48) / 2.147 = 16.07 → 16.
	if st != exitOK || !strings.Contains(out, "largest batch that fits  16 sequences") {
		t.Errorf("edited catalog: status %d\n%s%s", st, out, errs)
	}
	for _, args := range [][]string{
		{"theory", "--model", "gpt-9", "--accelerator", "a10g"},
		{"theory", "--model", "llama-2-7b"},
		{"theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--dtype", "fp5"},
		{"theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--count", "0"},
		{"theory", "--catalog", filepath.Join(t.TempDir(), "none.yaml"), "--list"},
	} {
		if st, _, errs := runCLI(t, nil, args...); st != exitUsage || errs == "" {
			t.Errorf("%v: status %d, %q", args, st, errs)
		}
	}
	if st, out, _ := runCLI(t, nil, "theory", "--list"); st != exitOK || !strings.Contains(out, "mixtral-8x7b") || !strings.Contains(out, "208.0") {
		t.Errorf("--list: %d\n%s", st, out)
	}
}

// TestTheoryBesideSweep: llmload theory --sweep puts the roofline beside
// a measured sweep: ms/token at concurrency 1 and the largest batch
// against the knee; bad sweeps are usage errors.
func TestTheoryBesideSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	if st, out, errs := runCLI(t, nil, "run", "--concurrency", "1,4,16", "--max-requests", "16", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress"); st != exitOK {
		t.Fatalf("sweep: %d\n%s%s", st, out, errs)
	}
	st, out, errs := runCLI(t, nil, "theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--context", "4096", "--sweep", dir)
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, errs)
	}
	// CALIBRATION.md's worked example: 26.05 ms/token at batch 1, a batch
	// of 4 at 4096 tokens, beside the sweep's c1 TPOT and its knee.
	for _, want := range []string{"beside the sweep", "ms/token at concurrency 1  26.05", "(TPOT p50 at c1)", "largest batch", "4 sequences of 4096 tokens", "time scale"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --context, the sweep's mean prompt + output tokens.
	if _, out, _ := runCLI(t, nil, "theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--sweep", dir); strings.Contains(out, "4096-token context") {
		t.Errorf("--context not taken from the sweep:\n%s", out)
	}
	for _, bad := range []string{filepath.Join(dir, "c1"), filepath.Join(dir, "nope")} {
		if st, _, errs := runCLI(t, nil, "theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--sweep", bad); st != exitUsage || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("--sweep %s: status %d, want 2 and one line: %s", bad, st, errs)
		}
	}
}
