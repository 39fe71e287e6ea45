package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// checkHFTokenizerExample runs workload.md's --tokenizer hf: example with
// its path to the repository's testdata made relative to this package.
func checkHFTokenizerExample(t *testing.T, _ *docsEnv, ex docExample) {
	t.Helper()
	args := strings.Fields(strings.TrimSpace(ex.text))
	if len(args) < 2 || args[0] != "llmload" {
		t.Fatalf("%s: not an llmload command: %q", ex, ex.text)
	}
	args = args[1:]
	for i, a := range args {
		args[i] = strings.Replace(a, "hf:workload/", "hf:../../workload/", 1)
	}
	dir := filepath.Join(t.TempDir(), "hf")
	st, _, stderr := runCLI(t, nil, append(args, "--results-dir", dir, "--no-progress")...)
	if st != 0 {
		t.Fatalf("%s: exit %d: %s", ex, st, stderr)
	}
	if s := readSummary(t, dir); !strings.HasPrefix(s.Run.Tokenizer, "hf:") || s.Requests.Succeeded == 0 {
		t.Errorf("%s: tokenizer %q, %d successes", ex, s.Run.Tokenizer, s.Requests.Succeeded)
	}
}

// TestHFTokenizerFlagErrors checks that a missing or malformed
// tokenizer.json is one error line and exit status 2.
func TestHFTokenizerFlagErrors(t *testing.T) {
	for _, file := range []string{"hf:../../workload/testdata/missing.json", "hf:../../workload/testdata/broken-tokenizer.json"} {
		st, _, stderr := runCLI(t, nil, "run", "--tokenizer", file, "--max-requests", "1", "--results-dir", filepath.Join(t.TempDir(), "x"))
		if st != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "tokenizer") {
			t.Errorf("%s: exit %d, stderr %q", file, st, stderr)
		}
	}
}
