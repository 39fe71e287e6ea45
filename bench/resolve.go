package bench

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/sim"
)

// Resolve applies the defaults that depend on other settings and the
// environment, as `llmload run` does, then validates cfg: the provider
// (sim without a base URL, else openai), OPENAI_BASE_URL and
// OPENAI_API_KEY, the simulator's model and ignore_eos, the input lengths
// an explicit prompt replaces, the mode --rate or --sweep auto imply, and
// the run's name and results directory. getenv reads the environment;
// isSet tells whether the user chose a setting (by its YAML key), on the
// command line or in a file.
func Resolve(cfg *config.Config, getenv func(string) string, isSet func(string) bool) error {
	if cfg.BaseURL == "" && cfg.Provider != config.ProviderBedrock && cfg.Provider != config.ProviderSageMaker {
		cfg.BaseURL = getenv("OPENAI_BASE_URL")
	}
	if cfg.APIKey == "" && (cfg.Provider == "" || cfg.Provider == config.ProviderOpenAI) {
		cfg.APIKey = getenv("OPENAI_API_KEY")
	}
	if cfg.Provider == "" {
		cfg.Provider = config.ProviderSim
		if cfg.BaseURL != "" {
			cfg.Provider = config.ProviderOpenAI
		}
	}
	if cfg.Provider == config.ProviderSim {
		p, err := sim.LookupProfile(cfg.Sim.Profile)
		if err != nil {
			return err
		}
		if cfg.Model == "" {
			cfg.Model = p.Model.Name
		}
		if !isSet("ignore_eos") {
			cfg.IgnoreEOS = true // the simulator honours it; exact lengths make runs comparable
		}
		if cfg.BaseURL != "" && isSet("base_url") {
			return errors.New("--base-url and --provider sim do not go together")
		}
		cfg.BaseURL = ""
	} else {
		cfg.Sim = config.SimConfig{}
	}
	// An explicit prompt replaces the synthetic input-length distribution.
	if (cfg.Prompt != "" || cfg.PromptFile != "" || len(cfg.PromptSets) > 0) && !isSet("mean_input_tokens") && !isSet("stddev_input_tokens") {
		cfg.MeanInputTokens, cfg.StddevInputTokens = 0, 0
	}
	resolveLengths(cfg)
	if cfg.Mode == load.ModeRate && len(cfg.Rate) == 0 && cfg.Sweep == "" {
		return errors.New("--mode rate needs --rate")
	}
	if len(cfg.Rate) > 0 && !isSet("mode") && cfg.Mode == load.ModeConcurrency {
		cfg.Mode = load.ModeRate // --rate alone means the open loop
	}
	if cfg.Sweep == config.SweepAuto && !isSet("mode") {
		cfg.Mode = load.ModeRate
	}
	if cfg.Sweep == config.SweepAuto && !isSet("concurrency") {
		// The throughput probe must saturate the endpoint.
		cfg.Concurrency = config.IntList{64}
	}
	if (cfg.Mode == load.ModeBatchSequential || cfg.Mode == load.ModeBatchInterval) && cfg.Batches > 0 && !isSet("max_requests") {
		cfg.MaxRequests = 0 // the batches say how many: batch size × batches
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("%s-%s-%s", time.Now().Format("20060102-150405"), Sanitize(cfg.Model), levelTag(cfg))
	}
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join("results", cfg.Name)
	}
	return cfg.Validate()
}

// levelTag names a config's load level: c10, r2.5, b10.
func levelTag(cfg *config.Config) string {
	if cfg.Sweep == config.SweepAuto {
		return "sweep-auto"
	}
	switch cfg.Mode {
	case load.ModeRate:
		if len(cfg.Rate) == 1 {
			return "r" + cfg.Rate.String()
		}
		return "rate-sweep"
	case load.ModeBatchSequential, load.ModeBatchInterval:
		return fmt.Sprintf("b%d", cfg.BatchSize)
	}
	if len(cfg.Concurrency) == 1 {
		return fmt.Sprintf("c%d", cfg.Concurrency[0])
	}
	return "sweep"
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Sanitize makes a model name safe for a directory name.
func Sanitize(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "model"
	}
	return s
}
