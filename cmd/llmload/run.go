package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

const runUsage = `Usage: llmload run [flags]

Benchmarks an LLM endpoint and writes a run directory (config.yaml,
records.jsonl, summary.json, LLMPerf-compatible JSON). With no endpoint it
benchmarks the built-in simulated endpoint (a Llama 2 7B on one A10G).

Examples:
  llmload run
  llmload run --base-url http://127.0.0.1:8000/v1 --model meta-llama/Llama-2-7b-chat-hf \
    --mean-input-tokens 550 --stddev-input-tokens 150 --mean-output-tokens 150 \
    --stddev-output-tokens 10 --concurrency 8 --max-requests 200 --timeout 60s --ignore-eos

Environment: OPENAI_API_KEY (bearer token), OPENAI_BASE_URL (default --base-url).
Durations take Go syntax (90s, 2m) or a number of seconds.

Flags:
`

// runFlags binds the run flags to a Config.
func runFlags(cfg *config.Config, headers *stringList, extra *string, temp *optFloat, noProgress *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	// Endpoint.
	fs.StringVar(&cfg.Provider, "provider", "", "endpoint kind: openai (any OpenAI-compatible server) or sim (built-in simulator); default: openai when a base URL is given, else sim")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "API root of an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)")
	fs.StringVar(&cfg.APIKey, "api-key", "", "bearer token (prefer $OPENAI_API_KEY: flags show up in process lists); never written to disk")
	fs.StringVar(&cfg.Model, "model", "", "model name sent in every request (required for openai; sim: the profile's model)")
	fs.StringVar(&cfg.API, "api", "chat", "request shape: chat (/chat/completions) or completions (/completions)")
	fs.BoolVar(&cfg.Stream, "stream", true, "stream responses (SSE); --stream=false measures whole responses (TTFT = E2E)")
	fs.BoolVar(&cfg.IgnoreEOS, "ignore-eos", false, "ask the server for exactly max_tokens output tokens (ignore_eos + min_tokens: vLLM, llama.cpp); default true for sim")
	fs.Var(headers, "header", "extra request header \"Name: value\" (repeatable)")
	fs.StringVar(extra, "extra-body", "", "JSON object merged into every request body, e.g. '{\"top_p\":0.9}'")
	fs.StringVar(extra, "additional-sampling-params", "", "alias of --extra-body (LLMPerf)")
	fs.Var(temp, "temperature", "sampling temperature (default: not sent)")
	// Workload.
	fs.IntVar(&cfg.MeanInputTokens, "mean-input-tokens", 550, "mean prompt length in tokens (synthetic prompts)")
	fs.IntVar(&cfg.StddevInputTokens, "stddev-input-tokens", 150, "standard deviation of prompt length in tokens")
	fs.IntVar(&cfg.MeanOutputTokens, "mean-output-tokens", 150, "mean max_tokens requested (0: none)")
	fs.IntVar(&cfg.StddevOutputTokens, "stddev-output-tokens", 80, "standard deviation of max_tokens")
	fs.StringVar(&cfg.Prompt, "prompt", "", "fixed prompt text for every request (instead of synthetic prompts)")
	fs.StringVar(&cfg.PromptFile, "prompt-file", "", "JSONL file of prompts: {\"prompt\": \"...\", \"max_tokens\": 100} per line, used in order")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives the same prompts and lengths")
	fs.StringVar(&cfg.Tokenizer, "tokenizer", workload.DefaultTokenizer, "local tokenizer (cl100k_base, o200k_base, p50k_base, r50k_base)")
	// Load.
	fs.Var(&cfg.Concurrency, "concurrency", "closed-loop concurrent requests")
	fs.Var(&cfg.Concurrency, "num-concurrent-requests", "alias of --concurrency (LLMPerf)")
	fs.IntVar(&cfg.MaxRequests, "max-requests", 100, "measured requests to send (0: until --duration)")
	fs.IntVar(&cfg.MaxRequests, "max-num-completed-requests", 100, "alias of --max-requests (LLMPerf)")
	fs.Var(&cfg.Duration, "duration", "stop sending new requests after this long (0: no limit)")
	fs.IntVar(&cfg.Warmup, "warmup", 0, "warm-up requests sent first and excluded from statistics")
	fs.Var(&cfg.Timeout, "timeout", "per-request timeout, send to last byte")
	// Output.
	fs.StringVar(&cfg.ResultsDir, "results-dir", "", "run directory to write (default results/<name>)")
	fs.StringVar(&cfg.Name, "name", "", "run name (default <time>-<model>-c<concurrency>)")
	fs.BoolVar(noProgress, "no-progress", false, "do not show live progress")
	// Simulator.
	fs.StringVar(&cfg.Sim.Profile, "sim-profile", sim.DefaultProfile, "simulated model × accelerator (provider sim): "+strings.Join(sim.ProfileNames(), ", "))
	fs.Float64Var(&cfg.Sim.TimeScale, "sim-time-scale", 1, "simulator speed: 1 = real time, 0.1 = every delay ×0.1 (provider sim)")
	fs.IntVar(&cfg.Sim.MaxConcurrentRequests, "sim-max-concurrent-requests", 128, "simulator's MAX_CONCURRENT_REQUESTS; beyond it requests fail as overloaded (provider sim)")
	return fs
}

func (c *cli) run(ctx context.Context, args []string) int {
	cfg := &config.Config{Timeout: config.Duration(90 * time.Second), Concurrency: config.IntList{10}}
	var (
		headers    stringList
		extra      string
		temp       optFloat
		noProgress bool
	)
	fs := runFlags(cfg, &headers, &extra, &temp, &noProgress)
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	set := visited(fs)

	// Resolve defaults that depend on other flags and the environment.
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
	var profile sim.Profile
	if cfg.Provider == config.ProviderSim {
		p, err := sim.LookupProfile(cfg.Sim.Profile)
		if err != nil {
			return c.usageErr("run", err)
		}
		profile = p
		if cfg.Model == "" {
			cfg.Model = p.Model.Name
		}
		if !set["ignore-eos"] {
			cfg.IgnoreEOS = true // the simulator honours it; exact lengths make runs comparable
		}
		if set["base-url"] {
			return c.usageErr("run", errors.New("--base-url and --provider sim do not go together"))
		}
		cfg.BaseURL = ""
	} else {
		cfg.Sim = config.SimConfig{}
	}
	// An explicit prompt replaces the synthetic input-length distribution.
	if (cfg.Prompt != "" || cfg.PromptFile != "") && !set["mean-input-tokens"] && !set["stddev-input-tokens"] {
		cfg.MeanInputTokens, cfg.StddevInputTokens = 0, 0
	}
	for _, h := range headers {
		k, v, err := config.ParseHeader(h)
		if err != nil {
			return c.usageErr("run", err)
		}
		if cfg.Headers == nil {
			cfg.Headers = map[string]string{}
		}
		cfg.Headers[k] = v
	}
	if extra != "" {
		m, err := config.ParseExtraBody(extra)
		if err != nil {
			return c.usageErr("run", err)
		}
		cfg.ExtraBody = m
	}
	cfg.Temperature = temp.v
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("%s-%s-c%d", time.Now().Format("20060102-150405"), sanitize(cfg.Model), cfg.Concurrency[0])
	}
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join("results", cfg.Name)
	}
	if err := cfg.Validate(); err != nil {
		return c.usageErr("run", err)
	}
	tok, err := workload.NewTokenizer(cfg.Tokenizer)
	if err != nil {
		return c.usageErr("run", err)
	}
	src, err := workload.NewSource(workload.Options{
		MeanInputTokens:    cfg.MeanInputTokens,
		StddevInputTokens:  cfg.StddevInputTokens,
		MeanOutputTokens:   cfg.MeanOutputTokens,
		StddevOutputTokens: cfg.StddevOutputTokens,
		Prompt:             cfg.Prompt,
		PromptFile:         cfg.PromptFile,
		Seed:               cfg.Seed,
		Tokenizer:          tok,
	})
	if err != nil {
		return c.usageErr("run", err)
	}

	// The endpoint: a real one, or the simulator on a loopback port, so the
	// simulated run is measured through the same HTTP path as a real one.
	baseURL := cfg.BaseURL
	target := config.RedactURL(cfg.BaseURL)
	if cfg.Provider == config.ProviderSim {
		url, stop, err := startSim(profile, cfg)
		if err != nil {
			fmt.Fprintf(c.stderr, "llmload run: starting the simulator: %v\n", err)
			return exitFailed
		}
		defer stop()
		baseURL = url
		target = fmt.Sprintf("built-in simulator %s (%s) at %s", profile.Name, profile.Description, url)
	}
	prov, err := openai.New(openai.Options{BaseURL: baseURL, APIKey: cfg.APIKey, Headers: cfg.Headers, MaxConns: cfg.Concurrency[0]})
	if err != nil {
		return c.usageErr("run", err)
	}

	if err := rundir.Create(cfg.ResultsDir); err != nil {
		return c.usageErr("run", err)
	}
	if err := rundir.WriteConfig(cfg.ResultsDir, cfg); err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	recPath := filepath.Join(cfg.ResultsDir, rundir.RecordsFile)
	w, err := record.Create(recPath)
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}

	live := &stats.Live{}
	var writeErr error
	runner := &load.Runner{
		Provider:  prov,
		Source:    src,
		Tokenizer: tok,
		Template: load.Template{
			Model:       cfg.Model,
			API:         llm.API(cfg.API),
			Stream:      cfg.Stream,
			IgnoreEOS:   cfg.IgnoreEOS,
			Temperature: cfg.Temperature,
			Extra:       cfg.ExtraBody,
			Headers:     cfg.Headers,
		},
		Plan: load.Plan{
			Concurrency: cfg.Concurrency[0],
			MaxRequests: cfg.MaxRequests,
			Duration:    cfg.Duration.D(),
			Warmup:      cfg.Warmup,
			Timeout:     cfg.Timeout.D(),
		},
		Sink: func(r *record.Record) {
			if err := w.Write(r); err != nil && writeErr == nil {
				writeErr = err
			}
			live.Add(r)
		},
	}

	fmt.Fprintf(c.stderr, "llmload: %s, model %s\n", target, cfg.Model)
	fmt.Fprintf(c.stderr, "llmload: %s; results in %s\n", runner.Plan, cfg.ResultsDir)
	// The progress bar and the interrupt notice write from their own
	// goroutines: serialize them.
	errw := &lockedWriter{w: c.stderr}
	var prog *progress
	if !noProgress {
		prog = startProgress(errw, c.tty, runner, live)
	}
	runDone := make(chan struct{})
	var notice sync.WaitGroup
	notice.Go(func() {
		select {
		case <-c.interrupted:
			fmt.Fprintf(errw, "\nllmload: interrupted: no new requests; waiting for in-flight ones (Ctrl-C again to exit now)\n")
		case <-runDone:
		}
	})
	res, err := runner.Run(ctx)
	close(runDone)
	notice.Wait()
	prog.stop()
	if cerr := w.Close(); writeErr == nil {
		writeErr = cerr
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	if writeErr != nil {
		fmt.Fprintf(c.stderr, "llmload run: writing %s: %v\n", recPath, writeErr)
		return exitFailed
	}

	// The summary is computed from the file, not from memory: the run
	// directory is the truth, and this proves it holds everything.
	recs, err := record.ReadFile(recPath)
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload run: reading back %s: %v\n", recPath, err)
		return exitFailed
	}
	sum := stats.Summarize(recs, runInfo(cfg, res, target))
	if err := report.WriteSummaryJSON(filepath.Join(cfg.ResultsDir, rundir.SummaryFile), sum); err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	if err := report.WriteLLMPerf(cfg.ResultsDir, recs, sum); err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	if err := report.Table(c.stdout, sum); err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "\nResults: %s\n", cfg.ResultsDir)

	switch {
	case res.Interrupted:
		return exitInterrupted
	case sum.Requests.Succeeded == 0:
		fmt.Fprintf(c.stderr, "llmload run: no request succeeded%s\n", firstError(recs))
		return exitFailed
	}
	return exitOK
}

// firstError describes the first failure, to make an all-failed run's
// cause visible without opening the records.
func firstError(recs []record.Record) string {
	for _, r := range recs {
		if !r.OK() {
			return fmt.Sprintf(" (first error: %s)", r.Error)
		}
	}
	return ""
}

func runInfo(cfg *config.Config, res load.Result, target string) stats.RunInfo {
	return stats.RunInfo{
		Name:               cfg.Name,
		Provider:           cfg.Provider,
		Model:              cfg.Model,
		BaseURL:            target,
		API:                cfg.API,
		Stream:             cfg.Stream,
		Mode:               "concurrency",
		Concurrency:        cfg.Concurrency[0],
		MaxRequests:        cfg.MaxRequests,
		WarmupRequests:     cfg.Warmup,
		DurationLimitS:     cfg.Duration.D().Seconds(),
		TimeoutS:           cfg.Timeout.D().Seconds(),
		MeanInputTokens:    cfg.MeanInputTokens,
		StddevInputTokens:  cfg.StddevInputTokens,
		MeanOutputTokens:   cfg.MeanOutputTokens,
		StddevOutputTokens: cfg.StddevOutputTokens,
		Tokenizer:          cfg.Tokenizer,
		Version:            versionString(),
		StartedAt:          res.Started,
		EndedAt:            res.Ended,
		StopReason:         res.StopReason,
		Interrupted:        res.Interrupted,
	}
}

// startSim serves the simulator on a loopback port.
func startSim(p sim.Profile, cfg *config.Config) (baseURL string, stop func(), err error) {
	srv, err := sim.New(sim.Options{
		Profile:               p,
		TimeScale:             cfg.Sim.TimeScale,
		MaxConcurrentRequests: cfg.Sim.MaxConcurrentRequests,
		ModelName:             cfg.Model,
		Seed:                  cfg.Seed,
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1", func() {
		srv.Close()
		hs.Close()
	}, nil
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
