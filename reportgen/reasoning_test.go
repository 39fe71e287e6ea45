package reportgen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmload/llmload/rundir"
)

// TestBuildRunShowsReasoning: a run whose records carry reasoning shows
// the times to the first reasoning and answer tokens in its metrics
// table.
func TestBuildRunShowsReasoning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reasoning")
	writeSynth(t, dir, synth{n: 20, concurrency: 2, meanOut: 10, seed: 4, noSummary: true, noTimeline: true})
	p := filepath.Join(dir, rundir.RecordsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(`"e2e_s":`), []byte(`"ttft_reasoning_s":0.001,"ttft_answer_s":0.0123,"reasoning_chunks":4,"reasoning_tokens":4,"e2e_s":`))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir, fixed); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	page := string(html)
	for _, want := range []string{"time to first reasoning token", "time to first answer token", "reasoning tokens", "12.3"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
