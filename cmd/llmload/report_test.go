package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run writes its report; `llmload report` rebuilds it from the
// directory alone, also when summary.json is gone (a crashed run).
func TestReportRebuildsRunDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	status, stdout, stderr := runCLI(t, nil, "run", "--no-report=false", "--sim-time-scale", "0.02", "--max-requests", "12", "--concurrency", "3",
		"--mean-output-tokens", "20", "--stddev-output-tokens", "0", "--results-dir", dir, "--no-progress")
	if status != exitOK {
		t.Fatalf("run: status %d\n%s", status, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(dir, "report.html")) {
		t.Errorf("run does not name its report:\n%s", stdout)
	}
	for _, f := range []string{"report.html", "summary.md", "summary.csv", "plots/ttft_hist.png", "plots/in_flight.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run wrote no %s: %v", f, err)
		}
	}
	// A crash before summary.json: the report recomputes it.
	for _, f := range []string{"summary.json", "report.html", "timeline.jsonl"} {
		os.Remove(filepath.Join(dir, f))
	}
	status, stdout, stderr = runCLI(t, nil, "report", dir)
	if status != exitOK {
		t.Fatalf("report: status %d\n%s", status, stderr)
	}
	if !strings.Contains(stderr, "summarized from records.jsonl") || !strings.Contains(stdout, "report.html") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(html), "has no summary.json") {
		t.Errorf("the rebuilt report does not say the summary was recomputed (%v)", err)
	}
}

// A directory that is neither a run nor a sweep, or no directory, is a
// usage error: exit 2 with one line.
func TestReportRefusesOtherDirectories(t *testing.T) {
	empty := t.TempDir()
	for _, args := range [][]string{{"report", empty}, {"report"}, {"report", filepath.Join(empty, "missing")}, {"report", empty, "extra"}} {
		status, _, stderr := runCLI(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if status != exitUsage || len(lines) != 1 || !strings.HasPrefix(stderr, "llmload report: ") {
			t.Errorf("%v: status %d, stderr:\n%s", args, status, stderr)
		}
	}
	if status, _, stderr := runCLI(t, nil, "report", empty); status != exitUsage || !strings.Contains(stderr, "not a run or sweep directory") {
		t.Errorf("an empty directory: status %d, stderr %s", status, stderr)
	}
}
