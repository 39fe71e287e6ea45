package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/config"
)

// A concurrency the open-file limit cannot hold stops the run before it
// starts, with one line and exit 2; --dry-run reports the check.
func TestConcurrencyBeyondOpenFileLimit(t *testing.T) {
	cfg := config.Defaults()
	cfg.Provider, cfg.Concurrency, cfg.MaxRequests = config.ProviderSim, config.IntList{1}, 1
	o, err := bench.CheckOpenFiles(&cfg)
	if err != nil || o.Limit == 0 {
		t.Skipf("no open-file limit here (%v)", err)
	}
	n := strconv.Itoa(o.Limit)
	st, _, errs := runCLI(t, nil, "run", "--concurrency", n, "--max-requests", "0", "--duration", "2s", "--results-dir", t.TempDir()+"/run", "--no-progress")
	if st != exitUsage || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "open-file limit") {
		t.Errorf("status %d, stderr %q; want 2 and one line about the open-file limit", st, errs)
	}
	st, out, _ := runCLI(t, nil, "run", "--concurrency", "8", "--duration", "2s", "--dry-run")
	if st != exitOK || !strings.Contains(out, "open files: 8 streams need about") {
		t.Errorf("dry-run: status %d\n%s", st, out)
	}
}
