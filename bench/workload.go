package bench

import (
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/workload"
)

// resolveLengths replaces an automatic length spread (config.AutoStddev)
// with the number it stands for, so that plans, config.yaml and
// summary.json show the stddev used.
func resolveLengths(cfg *config.Config) {
	if cfg.MeanInputTokens > 0 {
		cfg.StddevInputTokens = workload.EffectiveStddev(cfg.MeanInputTokens, cfg.StddevInputTokens)
	}
	if cfg.MeanOutputTokens > 0 {
		cfg.StddevOutputTokens = workload.EffectiveStddev(cfg.MeanOutputTokens, cfg.StddevOutputTokens)
	}
}

// resolvePromptSeed draws the run's prompt seed when none was given, so
// that the run's synthetic prompts share no prefix with another run's and
// config.yaml records how to reproduce them.
func resolvePromptSeed(cfg *config.Config) {
	if cfg.PromptSeed == 0 {
		cfg.PromptSeed = workload.NewPromptSeed()
	}
}
