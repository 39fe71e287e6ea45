package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmload/llmload/selfcheck"
)

// llmload selfcheck runs a small check end to end: the table on stdout,
// progress on stderr, the JSON file with --out; bad flags are usage errors.
func TestSelfcheckCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "selfcheck.json")
	st, stdout, stderr := runCLI(t, nil, "selfcheck", "--concurrency", "2", "--duration", "100ms",
		"--ttft", "20ms", "--itl", "5ms", "--tokens", "6", "--max-error", "1s", "--out", out)
	if st != exitOK {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", st, stdout, stderr)
	}
	// The bound is loose: the verdict is selfcheck's business; here the
	// command must print it.
	for _, want := range []string{"TTFT error ms", "verdict  this machine sustains 2 concurrent streams", "within 1000 ms", "Results: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "concurrency 2:") {
		t.Errorf("stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res selfcheck.Result
	if err := json.Unmarshal(b, &res); err != nil || len(res.Levels) != 1 || res.Levels[0].Requests < 2 {
		t.Fatalf("%v: %s", err, b)
	}

	for _, args := range [][]string{{"--tokens", "1"}, {"--concurrency", "0"}, {"--itl", "0"}} {
		if st, _, stderr := runCLI(t, nil, append([]string{"selfcheck"}, args...)...); st != exitUsage || !strings.HasPrefix(stderr, "llmload selfcheck: ") {
			t.Errorf("%v: status %d, %q", args, st, stderr)
		}
	}
}
