package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sweepCLI runs a small, fast sweep on the simulator into dir.
func sweepCLI(t *testing.T, dir string, args ...string) {
	t.Helper()
	base := []string{"run", "--no-report=false", "--sim-time-scale", "0.02", "--max-requests", "4", "--mean-output-tokens", "20", "--stddev-output-tokens", "0",
		"--results-dir", dir, "--no-progress"}
	if st, _, errs := runCLI(t, nil, append(base, args...)...); st != exitOK {
		t.Fatalf("%v: status %d\n%s", args, st, errs)
	}
}

// readCompareCSV reads compare.csv into lines keyed "level metric input".
func readCompareCSV(t *testing.T, dir string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "compare.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows[1:] {
		out[r[1]+" "+r[2]+" "+r[3]] = r
	}
	return out
}

// Two real sweeps of the simulator, small against large prompts, with
// levels 1,4 and 1,8: compare writes its three files and plots; level 4
// and 8 are each missing on one side; the large prompts' TTFT is longer.
func TestCompareTwoSweeps(t *testing.T) {
	// Relative paths, as people type them: the page still links to each
	// input's report.
	t.Chdir(t.TempDir())
	small, large, out := "small", "large", filepath.Join("results", "cmp")
	sweepCLI(t, small, "--concurrency", "1,4", "--mean-input-tokens", "50")
	sweepCLI(t, large, "--concurrency", "1,8", "--mean-input-tokens", "3000")
	st, stdout, errs := runCLI(t, nil, "compare", small, large, "--out", out, "--quiet")
	if st != exitOK || stdout != "" {
		t.Fatalf("compare: status %d\n%s%s", st, stdout, errs)
	}
	for _, f := range []string{"compare.html", "compare.md", "compare.csv", "plots/compare_throughput.png", "plots/compare_e2e.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
	rows := readCompareCSV(t, out)
	if len(rows) != 3*8*2 {
		t.Errorf("%d CSV lines, want 3 levels × 8 metrics × 2 inputs", len(rows))
	}
	if r := rows["4 ttft_p50_s large"]; r == nil || r[4] != "" {
		t.Errorf("level 4 of large should be missing: %q", r)
	}
	if r := rows["8 ttft_p50_s small"]; r == nil || r[4] != "" || r[5] != "" {
		t.Errorf("level 8 of small (the baseline) should be missing: %q", r)
	}
	if r := rows["1 ttft_p50_s large"]; r == nil || !(atof(r[6]) > 0) {
		t.Errorf("a 3000-token prompt should take longer to the first token than a 50-token one: %q", r)
	}
	md, _ := os.ReadFile(filepath.Join(out, "compare.md"))
	if !strings.Contains(string(md), "| c=8 | — |") || !strings.Contains(string(md), "Baseline: small.") {
		t.Errorf("compare.md:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(out, "compare.html"))
	if strings.Count(string(html), "<svg class=\"chart\"") < 5 || !strings.Contains(string(html), `href="../../small/report.html"`) {
		t.Errorf("compare.html has too few inline charts or no link to the inputs' reports")
	}
}

// One matrix sweep (batch sizes × two prompt sets): compare with that one
// directory puts its groups side by side.
func TestCompareMatrixGroups(t *testing.T) {
	root := t.TempDir()
	exp := filepath.Join(root, "experiment.yaml")
	if err := os.WriteFile(exp, []byte(`provider: sim
sim: {time_scale: 0.02}
mode: batch-interval
batch_interval: 100ms
batches: 1
mean_output_tokens: 20
stddev_output_tokens: 0
matrix:
  batch_size: [1, 3]
  prompt_sets:
    - {name: small, mean_input_tokens: 43}
    - {name: large, mean_input_tokens: 3000}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, out := filepath.Join(root, "study"), filepath.Join(root, "cmp")
	if st, _, errs := runCLI(t, nil, "run", "--no-report=false", "-f", exp, "--results-dir", dir, "--no-progress"); st != exitOK {
		t.Fatalf("run: status %d\n%s", st, errs)
	}
	if st, _, errs := runCLI(t, nil, "compare", "--out", out, dir); st != exitOK {
		t.Fatalf("compare: status %d\n%s", st, errs)
	}
	if html, _ := os.ReadFile(filepath.Join(out, "compare.html")); !strings.Contains(string(html), `href="../study/report.html#group-prompts-large"`) {
		t.Errorf("compare.html does not link to each group's section of the sweep's report")
	}
	rows := readCompareCSV(t, out)
	for _, k := range []string{"1 ttft_p50_s prompts=small", "1 ttft_p50_s prompts=large", "3 e2e_p50_s prompts=large"} {
		if r := rows[k]; r == nil || r[0] != "batch_size" || r[4] == "" {
			t.Errorf("%s: %q", k, r)
		}
	}
}

// Too few inputs, or a directory that is neither a run nor a sweep, is a
// usage error: exit 2 and one line.
func TestCompareRefuses(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	sweepCLI(t, run, "--concurrency", "2")
	empty := t.TempDir()
	for _, args := range [][]string{{"compare"}, {"compare", run}, {"compare", run, empty}, {"compare", run, "--bogus"}} {
		st, _, errs := runCLI(t, nil, append(args, "--out", filepath.Join(empty, "out"))...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if st != exitUsage || len(lines) != 1 || !strings.HasPrefix(errs, "llmload compare: ") {
			t.Errorf("%v: status %d, stderr:\n%s", args, st, errs)
		}
	}
}
