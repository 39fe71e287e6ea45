package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

const runUsage = `Usage: llmload run [flags]

Benchmarks an LLM endpoint and writes a run directory (config.yaml,
records.jsonl, timeline.jsonl, summary.json, LLMPerf-compatible JSON). With
no endpoint it benchmarks the built-in simulated endpoint (a Llama 2 7B on
one A10G).

Examples:
  llmload run
  llmload run --base-url http://127.0.0.1:8000/v1 --model meta-llama/Llama-2-7b-chat-hf \
    --mean-input-tokens 550 --stddev-input-tokens 150 --mean-output-tokens 150 \
    --stddev-output-tokens 10 --concurrency 8 --max-requests 200 --timeout 60s --ignore-eos
  llmload run --concurrency 1,5,10,20 --stop-on-error-rate 0.05       # a sweep
  llmload run --mode rate --rate 2 --arrival poisson --duration 2m    # open loop
  llmload run --mode batch-interval --batch-size 10 --batch-interval 1s --batches 60

Environment: OPENAI_API_KEY (bearer token), OPENAI_BASE_URL (default --base-url).
Durations take Go syntax (90s, 2m) or a number of seconds.

Flags:
`

// runFlags holds what flags set beyond the Config itself.
type runFlags struct {
	headers    stringList
	extra      string
	temp       optFloat
	noProgress bool
	slos       stringList
	thresholds stringList
}

// bindRunFlags binds the run flags to cfg; cfg's current values are the
// defaults, so flags override an experiment file field by field.
func bindRunFlags(cfg *config.Config, rf *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	// Endpoint.
	fs.StringVar(&cfg.Provider, "provider", cfg.Provider, "endpoint kind: openai (any OpenAI-compatible server) or sim (built-in simulator); default: openai when a base URL is given, else sim")
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "API root of an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)")
	fs.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "bearer token (prefer $OPENAI_API_KEY: flags show up in process lists); never written to disk")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "model name sent in every request (required for openai; sim: the profile's model)")
	fs.StringVar(&cfg.API, "api", cfg.API, "request shape: chat (/chat/completions) or completions (/completions)")
	fs.BoolVar(&cfg.Stream, "stream", cfg.Stream, "stream responses (SSE); --stream=false measures whole responses (TTFT = E2E)")
	fs.BoolVar(&cfg.IgnoreEOS, "ignore-eos", cfg.IgnoreEOS, "ask the server for exactly max_tokens output tokens (ignore_eos + min_tokens: vLLM, llama.cpp); default true for sim")
	fs.Var(&rf.headers, "header", "extra request header \"Name: value\" (repeatable)")
	fs.StringVar(&rf.extra, "extra-body", "", "JSON object merged into every request body, e.g. '{\"top_p\":0.9}'")
	fs.StringVar(&rf.extra, "additional-sampling-params", "", "alias of --extra-body (LLMPerf)")
	fs.Var(&rf.temp, "temperature", "sampling temperature (default: not sent)")
	// Workload.
	fs.IntVar(&cfg.MeanInputTokens, "mean-input-tokens", cfg.MeanInputTokens, "mean prompt length in tokens (synthetic prompts)")
	fs.IntVar(&cfg.StddevInputTokens, "stddev-input-tokens", cfg.StddevInputTokens, "standard deviation of prompt length in tokens")
	fs.IntVar(&cfg.MeanOutputTokens, "mean-output-tokens", cfg.MeanOutputTokens, "mean max_tokens requested (0: none)")
	fs.IntVar(&cfg.StddevOutputTokens, "stddev-output-tokens", cfg.StddevOutputTokens, "standard deviation of max_tokens")
	fs.StringVar(&cfg.Prompt, "prompt", cfg.Prompt, "fixed prompt text for every request (instead of synthetic prompts)")
	fs.StringVar(&cfg.PromptFile, "prompt-file", cfg.PromptFile, "JSONL file of prompts: {\"prompt\": \"...\", \"max_tokens\": 100} per line, used in order")
	fs.StringVar(&cfg.SystemPrompt, "system-prompt", cfg.SystemPrompt, "system message sent with every request (and paid for on every request)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed gives the same prompts, lengths and arrivals")
	fs.StringVar(&cfg.Tokenizer, "tokenizer", cfg.Tokenizer, "local tokenizer (cl100k_base, o200k_base, p50k_base, r50k_base)")
	// Load shape.
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "load shape: concurrency (closed loop), batch-sequential, batch-interval, rate (open loop)")
	fs.Var(&cfg.Concurrency, "concurrency", "closed-loop concurrent requests; a list (1,5,10) runs a sweep")
	fs.Var(&cfg.Concurrency, "num-concurrent-requests", "alias of --concurrency (LLMPerf)")
	fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "requests per batch (batch modes)")
	fs.Var(&cfg.BatchInterval, "batch-interval", "time between batch starts (batch-interval mode)")
	fs.IntVar(&cfg.Batches, "batches", cfg.Batches, "number of batches (batch modes; 0: until --max-requests or --duration)")
	fs.Var(&cfg.Rate, "rate", "open-loop arrival rate, requests per second (rate mode); a list (1,2,4) runs a sweep")
	fs.StringVar(&cfg.Arrival, "arrival", cfg.Arrival, "arrival process in rate mode: constant, poisson or gamma")
	fs.Float64Var(&cfg.Burstiness, "burstiness", cfg.Burstiness, "gamma arrival shape: 1 is Poisson, below 1 burstier, above 1 smoother")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", cfg.MaxConcurrency, "cap on requests in flight in rate mode; arrivals beyond it wait and the wait shows as schedule lag (0: none)")
	fs.Var(&cfg.Ramp, "ramp", "raise concurrency from 1 (or the rate from 0) linearly to the target over this long")
	fs.IntVar(&cfg.MaxRequests, "max-requests", cfg.MaxRequests, "measured requests to send per level (0: until --duration)")
	fs.IntVar(&cfg.MaxRequests, "max-num-completed-requests", cfg.MaxRequests, "alias of --max-requests (LLMPerf)")
	fs.Var(&cfg.Duration, "duration", "stop sending new requests after this long (0: no limit)")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up requests sent first and excluded from statistics")
	fs.Var(&cfg.Timeout, "timeout", "per-request timeout, send to last byte")
	// Sweeps, SLOs, thresholds.
	fs.StringVar(&cfg.Sweep, "sweep", cfg.Sweep, "auto: measure the synchronous and maximum throughput, then sweep rates between them")
	fs.IntVar(&cfg.SweepLevels, "sweep-levels", cfg.SweepLevels, "rate levels of --sweep auto")
	fs.Float64Var(&cfg.StopOnErrorRate, "stop-on-error-rate", cfg.StopOnErrorRate, "end a sweep at the first level whose error rate exceeds this (0: never)")
	fs.BoolVar(&cfg.StopOnTimeout, "stop-on-timeout", cfg.StopOnTimeout, "end a sweep at the first level with a timeout")
	fs.Var(&rf.slos, "slo", "per-request objective for goodput, e.g. ttft<=500ms (repeatable)")
	fs.Var(&rf.thresholds, "threshold", "pass/fail check on the summary, e.g. 'ttft_p95<500ms' (repeatable); a failure exits 3")
	// Output.
	fs.StringVar(&cfg.ResultsDir, "results-dir", cfg.ResultsDir, "run directory to write (default results/<name>)")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "run name (default <time>-<model>-c<concurrency>)")
	fs.BoolVar(&rf.noProgress, "no-progress", false, "do not show live progress")
	// Simulator.
	fs.StringVar(&cfg.Sim.Profile, "sim-profile", cfg.Sim.Profile, "simulated model × accelerator (provider sim): "+strings.Join(sim.ProfileNames(), ", "))
	fs.Float64Var(&cfg.Sim.TimeScale, "sim-time-scale", cfg.Sim.TimeScale, "simulator speed: 1 = real time, 0.1 = every delay ×0.1 (provider sim)")
	fs.IntVar(&cfg.Sim.MaxConcurrentRequests, "sim-max-concurrent-requests", cfg.Sim.MaxConcurrentRequests, "simulator's MAX_CONCURRENT_REQUESTS; beyond it requests fail as overloaded (provider sim)")
	return fs
}

// defaultConfig holds the run flags' defaults (LLMPerf's where it has them).
func defaultConfig() *config.Config {
	return &config.Config{
		API:                "chat",
		Stream:             true,
		MeanInputTokens:    550,
		StddevInputTokens:  150,
		MeanOutputTokens:   150,
		StddevOutputTokens: 80,
		Seed:               1,
		Tokenizer:          workload.DefaultTokenizer,
		Mode:               load.ModeConcurrency,
		Concurrency:        config.IntList{10},
		Arrival:            load.ArrivalPoisson,
		Burstiness:         1,
		MaxRequests:        100,
		Timeout:            config.Duration(90 * time.Second),
		SweepLevels:        10,
		Sim:                config.SimConfig{Profile: sim.DefaultProfile, TimeScale: 1, MaxConcurrentRequests: 128},
	}
}

func (c *cli) run(ctx context.Context, args []string) int {
	cfg := defaultConfig()
	var rf runFlags
	fs := bindRunFlags(cfg, &rf)
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	if err := c.resolve(cfg, &rf, visited(fs)); err != nil {
		return c.usageErr("run", err)
	}
	if len(cfg.Concurrency) > 1 || len(cfg.Rate) > 1 || cfg.Sweep != "" {
		return c.usageErr("run", errors.New("sweeps are not available in this build"))
	}
	return c.runOne(ctx, cfg, rf.noProgress)
}

// resolve applies defaults that depend on other flags and the environment.
func (c *cli) resolve(cfg *config.Config, rf *runFlags, set map[string]bool) error {
	if cfg.BaseURL == "" {
		cfg.BaseURL = c.getenv("OPENAI_BASE_URL")
	}
	if cfg.APIKey == "" {
		cfg.APIKey = c.getenv("OPENAI_API_KEY")
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
		if !set["ignore-eos"] {
			cfg.IgnoreEOS = true // the simulator honours it; exact lengths make runs comparable
		}
		if set["base-url"] {
			return errors.New("--base-url and --provider sim do not go together")
		}
		cfg.BaseURL = ""
	} else {
		cfg.Sim = config.SimConfig{}
	}
	// An explicit prompt replaces the synthetic input-length distribution.
	if (cfg.Prompt != "" || cfg.PromptFile != "") && !set["mean-input-tokens"] && !set["stddev-input-tokens"] {
		cfg.MeanInputTokens, cfg.StddevInputTokens = 0, 0
	}
	for _, h := range rf.headers {
		k, v, err := config.ParseHeader(h)
		if err != nil {
			return err
		}
		if cfg.Headers == nil {
			cfg.Headers = map[string]string{}
		}
		cfg.Headers[k] = v
	}
	if rf.extra != "" {
		m, err := config.ParseExtraBody(rf.extra)
		if err != nil {
			return err
		}
		cfg.ExtraBody = m
	}
	if rf.temp.v != nil {
		cfg.Temperature = rf.temp.v
	}
	cfg.SLOs = append(cfg.SLOs, rf.slos...)
	cfg.Thresholds = append(cfg.Thresholds, rf.thresholds...)
	if cfg.Mode == load.ModeRate && len(cfg.Rate) == 0 {
		return errors.New("--mode rate needs --rate")
	}
	if len(cfg.Rate) > 0 && !set["mode"] && cfg.Mode == load.ModeConcurrency {
		cfg.Mode = load.ModeRate // --rate alone means the open loop
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("%s-%s-%s", time.Now().Format("20060102-150405"), sanitize(cfg.Model), levelTag(cfg))
	}
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join("results", cfg.Name)
	}
	return cfg.Validate()
}

// levelTag names a config's load level: c10, r2.5, b10.
func levelTag(cfg *config.Config) string {
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

// runOne runs one level and prints its summary.
func (c *cli) runOne(ctx context.Context, cfg *config.Config, noProgress bool) int {
	// The progress bar and the interrupt notice write from their own
	// goroutines: serialize them.
	errw := &lockedWriter{w: c.stderr}
	var prog *progress
	runDone := make(chan struct{})
	var notice sync.WaitGroup
	hooks := bench.Hooks{
		Version: versionString(),
		Started: func(target string, r *load.Runner, live *stats.Live) {
			fmt.Fprintf(errw, "llmload: %s, model %s\n", target, cfg.Model)
			fmt.Fprintf(errw, "llmload: %s; results in %s\n", r.Plan, cfg.ResultsDir)
			if !noProgress {
				prog = startProgress(errw, c.tty, r, live)
			}
			notice.Go(func() {
				select {
				case <-c.interrupted:
					fmt.Fprintf(errw, "\nllmload: interrupted: no new requests; waiting for in-flight ones (Ctrl-C again to exit now)\n")
				case <-runDone:
				}
			})
		},
		Finished: func(load.Result) {
			close(runDone)
			notice.Wait()
			prog.stop()
		},
	}
	out, err := bench.Run(ctx, cfg, hooks)
	if err != nil {
		if errors.Is(err, bench.ErrInvalid) {
			return c.usageErr("run", unwrapInvalid(err))
		}
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	if err := report.Table(c.stdout, out.Summary); err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "\nResults: %s\n", out.Dir)
	switch {
	case out.Result.Interrupted:
		return exitInterrupted
	case out.Summary.Requests.Succeeded == 0:
		fmt.Fprintf(c.stderr, "llmload run: no request succeeded%s\n", firstError(out))
		return exitFailed
	}
	return exitOK
}

// unwrapInvalid drops the "invalid configuration: " prefix for printing.
func unwrapInvalid(err error) error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) == 2 && errs[0] == bench.ErrInvalid {
			return errs[1]
		}
	}
	return err
}

// firstError describes the first failure, to make an all-failed run's
// cause visible without opening the records.
func firstError(out *bench.Outcome) string {
	for _, r := range out.Records {
		if !r.OK() {
			return fmt.Sprintf(" (first error: %s)", r.Error)
		}
	}
	return ""
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize makes a model name safe for a directory name.
func sanitize(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "model"
	}
	return s
}
