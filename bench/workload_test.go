package bench

import (
	"testing"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/workload"
)

// TestMeanOutputAloneGivesLengthsAroundIt: a user who sets only
// --mean-output-tokens 64 (every other option the default) gets max_tokens
// around 64: none of 1 (which has no TPOT), none below the floor of 6,
// none clipped. With the former default stddev of 80, about 21% of
// requests asked for max_tokens=1.
func TestMeanOutputAloneGivesLengthsAroundIt(t *testing.T) {
	cfg := config.Defaults()
	cfg.MeanOutputTokens = 64
	cfg.Provider, cfg.ResultsDir = config.ProviderSim, t.TempDir()
	if err := Resolve(&cfg, func(string) string { return "" }, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if cfg.StddevOutputTokens != 16 || cfg.StddevInputTokens != 138 {
		t.Errorf("resolved stddevs input %d, output %d; want 138 and 16 (a quarter of the means)", cfg.StddevInputTokens, cfg.StddevOutputTokens)
	}
	tok, err := workload.NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := Source(&cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	ones, clipped, lo := 0, 0, 1<<30
	for i := range int64(n) {
		p := src.Prompt(i)
		if p.MaxTokens <= 1 {
			ones++
		}
		if p.OutputClipped || p.InputClipped {
			clipped++
		}
		lo = min(lo, p.MaxTokens)
	}
	if ones > 0 || clipped > n/100 || lo < workload.MinLength(64) {
		t.Errorf("of %d requests: %d ask for max_tokens<=1, %d clipped, min %d", n, ones, clipped, lo)
	}
}
