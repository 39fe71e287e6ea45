package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm/bedrock"
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
	ResolveEndpoint(cfg, getenv)
	return resolveRest(cfg, isSet)
}

// ResolveEndpoint is the first step of Resolve: the provider, the base URL
// and API key from the environment (OPENAI_BASE_URL, OPENAI_API_KEY), and
// the environment's AWS credentials as secrets to scrub. It may be called
// before Resolve (to discover the model, say); calling it twice changes
// nothing.
func ResolveEndpoint(cfg *config.Config, getenv func(string) string) {
	if cfg.BaseURL == "" && cfg.Provider != config.ProviderBedrock && cfg.Provider != config.ProviderSageMaker {
		cfg.BaseURL = getenv("OPENAI_BASE_URL")
	}
	if cfg.APIKey == "" && (cfg.Provider == "" || cfg.Provider == config.ProviderOpenAI) {
		cfg.APIKey = getenv("OPENAI_API_KEY")
	}
	// Credentials a server could echo that llmload does not send itself:
	// scrubbed from every output like the API key.
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"} {
		if v := getenv(k); v != "" && !slices.Contains(cfg.SecretValues, v) {
			cfg.SecretValues = append(cfg.SecretValues, v)
		}
	}
	if cfg.Provider == "" {
		cfg.Provider = config.ProviderSim
		if cfg.BaseURL != "" {
			cfg.Provider = config.ProviderOpenAI
		}
	}
}

// resolveRest is Resolve after ResolveEndpoint.
func resolveRest(cfg *config.Config, isSet func(string) bool) error {
	if cfg.Provider == config.ProviderSim {
		p, err := sim.ResolveProfile(cfg.Sim.Profile, cfg.Sim.ProfileFile)
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
	if cfg.Provider == config.ProviderBedrock {
		// The operation decides whether Bedrock streams, not --stream: a
		// record must say stream: false for Converse and InvokeModel, or
		// TPOT would be computed from one chunk.
		switch api := cfg.Providers.BedrockAPI; api {
		case bedrock.APIConverse, bedrock.APIInvoke:
			if cfg.Stream && isSet("stream") {
				return fmt.Errorf("--bedrock-api %s does not stream; use %s-stream, or --stream=false", api, api)
			}
			cfg.Stream = false
		case bedrock.APIConverseStream, bedrock.APIInvokeStream:
			if !cfg.Stream && isSet("stream") {
				return fmt.Errorf("--bedrock-api %s streams; --stream=false needs %s", api, strings.TrimSuffix(api, "-stream"))
			}
			cfg.Stream = true
		}
	}
	// An explicit prompt replaces the synthetic input-length distribution.
	// What the user typed stays, so a conflict names their flag.
	if cfg.Prompt != "" || cfg.PromptFile != "" || len(cfg.PromptSets) > 0 || cfg.Dataset != "" {
		if !isSet("mean_input_tokens") {
			cfg.MeanInputTokens = 0
		}
		if !isSet("stddev_input_tokens") {
			cfg.StddevInputTokens = 0
		}
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
		// The ceiling of the throughput search (see autoSweep).
		cfg.Concurrency = config.IntList{DefaultAutoCeiling}
	}
	if cfg.Mode != load.ModeConcurrency && cfg.Sweep != config.SweepAuto {
		// Only the closed loop has workers; a concurrency kept from the
		// defaults would label a batch or rate run with a cap it never had.
		if isSet("concurrency") {
			hint := "--batch-size sets how many go at once"
			if cfg.Mode == load.ModeRate {
				hint = "--max-concurrency caps requests in flight"
			}
			return fmt.Errorf("--concurrency applies to --mode concurrency (the closed loop), not --mode %s; %s", cfg.Mode, hint)
		}
		cfg.Concurrency = nil
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
		if len(cfg.BatchSize) > 1 {
			return "batch-sweep"
		}
		return fmt.Sprintf("b%d", cfg.BatchSize.First())
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

// CanDiscoverModel reports whether cfg names no model and its provider can
// ask the server for one: openai (GET /models), tgi (GET /info), ollama
// (GET /api/tags), with a base URL.
func CanDiscoverModel(cfg *config.Config) bool {
	switch cfg.Provider {
	case config.ProviderOpenAI, config.ProviderTGI, config.ProviderOllama:
	default:
		return false
	}
	u, err := url.Parse(cfg.BaseURL)
	return cfg.Model == "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// discoverTimeout bounds the request that lists a server's models.
const discoverTimeout = 15 * time.Second

// DiscoverModel asks cfg's server which models it serves, as vLLM's and
// GuideLLM's clients do when no model is given, and returns the one it
// serves. A server that serves several, none, or cannot say is an
// ErrInvalid error that lists them or says why, and asks for --model.
// Call it after ResolveEndpoint, when CanDiscoverModel.
func DiscoverModel(ctx context.Context, cfg *config.Config) (string, error) {
	prov, err := newProvider(ctx, cfg, cfg.BaseURL, 1)
	if err != nil {
		return "", invalid(err)
	}
	lister, ok := prov.(interface {
		Models(context.Context) ([]string, error)
	})
	if !ok {
		return "", invalid(fmt.Errorf("--model is required for provider %s", cfg.Provider))
	}
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	where := config.RedactURL(cfg.BaseURL)
	models, err := lister.Models(ctx)
	switch {
	case err != nil:
		return "", invalid(fmt.Errorf("--model is not given, and the server at %s could not list its models (%v); pass --model", where, err))
	case len(models) == 0:
		return "", invalid(fmt.Errorf("--model is not given, and the server at %s lists no model; pass --model", where))
	case len(models) > 1:
		return "", invalid(fmt.Errorf("--model is not given, and the server at %s serves %d models: %s; pass --model with one of them", where, len(models), strings.Join(models, ", ")))
	}
	return models[0], nil
}
