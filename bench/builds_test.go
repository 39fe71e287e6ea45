package bench

import (
	"testing"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/workload"
)

// TestTokenizerAndCorpusBuiltOnce: what `llmload run` does for a sweep —
// Check (every level), the --dry-run length preview, then each level's
// Run, which checks again — builds the tokenizer and its synthetic corpus
// once, and a run with another tokenizer, prompt seed and length builds
// its own once; each run's prompts have exactly its own length under its
// own tokenizer.
func TestTokenizerAndCorpusBuiltOnce(t *testing.T) {
	l := newPromptLog(t)
	sweep := l.testConfig(t)
	sweep.Tokenizer, sweep.PromptSeed = "r50k_base", 11
	sweep.MeanInputTokens, sweep.StddevInputTokens = 100, 0
	sweep.Concurrency, sweep.MaxRequests = config.IntList{1, 2}, 4
	if err := Check(sweep); err != nil {
		t.Fatal(err)
	}
	if LengthPreview(sweep) == "" {
		t.Fatal("no length preview")
	}
	if _, err := Sweep(t.Context(), sweep, SweepHooks{}); err != nil {
		t.Fatal(err)
	}
	other := l.testConfig(t)
	other.Tokenizer, other.PromptSeed = "p50k_base", 12
	other.MeanInputTokens, other.StddevInputTokens = 70, 0
	other.MaxRequests = 4
	if err := Check(other); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), other, Hooks{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r50k_base", "p50k_base"} {
		if toks, corpora := workload.BuildCounts(name); toks != 1 || corpora != 1 {
			t.Errorf("%s: built %d tokenizers and %d synthetic corpora; want 1 and 1", name, toks, corpora)
		}
	}
	if len(l.prompts) != 12 {
		t.Fatalf("the server saw %d prompts, want 12 (2 levels × 4, then 4)", len(l.prompts))
	}
	for i, p := range l.prompts {
		name, want := "r50k_base", 100
		if i >= 8 {
			name, want = "p50k_base", 70
		}
		tok, err := workload.NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := tok.Count(p); n != want {
			t.Errorf("prompt %d counts %d tokens with %s, want %d", i, n, name, want)
		}
	}
}
