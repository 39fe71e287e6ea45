package config

import (
	"time"

	"github.com/llmload/llmload/workload"
)

// Defaults of the command line, shared by `llmload run` flags and
// experiment files (LoadExperiment starts from them), so a setting means
// the same wherever it is left out.
const (
	DefaultAPI              = "chat"
	DefaultTokenizer        = "cl100k_base" // workload.DefaultTokenizer
	DefaultSimProfile       = "llama2-7b-a10g"
	DefaultConcurrency      = 10
	DefaultMaxRequests      = 100
	DefaultTimeout          = 90 * time.Second
	DefaultSweepLevels      = 10
	DefaultSimMaxConcurrent = 128
	// DefaultSimPrefixCacheBlocks gives the built-in simulator a prefix
	// cache of 65,536 blocks of 64 bytes (about a million tokens of
	// prompt), as vLLM caches prefixes by default.
	DefaultSimPrefixCacheBlocks = 1 << 16
	// AutoStddev, as a length's standard deviation, means a quarter of its
	// mean: workload.AutoStddev, whose rule this is.
	AutoStddev = workload.AutoStddev
)

// EffectiveStddev resolves AutoStddev to a quarter of the mean (as
// workload.EffectiveStddev does); other values are returned as they are.
func EffectiveStddev(mean, stddev int) int { return workload.EffectiveStddev(mean, stddev) }

// Defaults returns the configuration the CLI starts from before flags (or
// an experiment file) change it: LLMPerf's mean lengths (550 input tokens,
// 150 output tokens) with a spread of a quarter of the mean (AutoStddev:
// 550±138 and 150±38, unless a stddev is set), 10 concurrent requests, 100 measured requests, a
// 90 s per-request timeout, streaming chat, seed 1, the cl100k_base
// tokenizer, Poisson arrivals with burstiness 1 (used in mode rate only),
// 10 levels for sweep auto, and the simulator's default profile at real
// time with 128 concurrent requests and a prefix cache. Provider is empty: the CLI resolves
// it (openai with a base URL, else sim). Name and ResultsDir are empty:
// the CLI derives them.
//
// Each call returns a new Config; callers may change it freely.
func Defaults() Config {
	return Config{
		API:                DefaultAPI,
		Stream:             true,
		MeanInputTokens:    550,
		StddevInputTokens:  AutoStddev,
		MeanOutputTokens:   150,
		StddevOutputTokens: AutoStddev,
		Seed:               1,
		Tokenizer:          DefaultTokenizer,
		Mode:               ModeConcurrency,
		Concurrency:        IntList{DefaultConcurrency},
		Arrival:            ArrivalPoisson,
		Burstiness:         1,
		MaxRequests:        DefaultMaxRequests,
		Timeout:            Duration(DefaultTimeout),
		SweepLevels:        DefaultSweepLevels,
		Sim: SimConfig{
			Profile:               DefaultSimProfile,
			TimeScale:             1,
			MaxConcurrentRequests: DefaultSimMaxConcurrent,
			PrefixCacheBlocks:     DefaultSimPrefixCacheBlocks,
		},
	}
}
