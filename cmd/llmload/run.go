package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/reportgen"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
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
  llmload run --dataset examples/datasets/sharegpt-sample.json --turns 3 --think-time 2s
  llmload run --prefix-tokens 1024 --prefix-groups 4 --mean-input-tokens 256   # prefix caching
  llmload run --prompt-set name=chat,weight=80,mean_input_tokens=550 \
    --prompt-set name=docs,weight=20,mean_input_tokens=3000

Environment: OPENAI_API_KEY (bearer token), OPENAI_BASE_URL (default --base-url).
Durations take Go syntax (90s, 2m) or a number of seconds.

Flags:
`

// runFlags holds what flags set beyond the Config itself.
type runFlags struct {
	file    string
	dryRun  bool
	headers stringList
	// secretHeaders are --secret-header values: a name, or "Name: value".
	secretHeaders stringList
	extra         string
	temp          optFloat
	noProgress    bool
	noReport      bool
	slos          stringList
	thresholds    stringList
	promptSets    stringList
}

// bindRunFlags binds the run flags to cfg; cfg's current values are the
// defaults, so flags override an experiment file field by field.
func bindRunFlags(cfg *config.Config, rf *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&rf.file, "f", "", "experiment file (YAML): every flag as a key, plus a matrix; flags given here override it")
	fs.BoolVar(&rf.dryRun, "dry-run", false, "print the resolved plan and exit without sending anything")
	// Endpoint.
	fs.StringVar(&cfg.Provider, "provider", cfg.Provider, "endpoint kind: openai (any OpenAI-compatible server), sim (built-in simulator), bedrock, sagemaker, tgi (native API), ollama (native API); default: openai when a base URL is given, else sim")
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "API root of an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)")
	fs.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "bearer token (prefer $OPENAI_API_KEY: flags show up in process lists); never written to disk")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "model name sent in every request (openai, tgi, ollama: default the one model the server lists; sim: the profile's model)")
	fs.StringVar(&cfg.API, "api", cfg.API, "request shape: chat (/chat/completions), completions (/completions) or embeddings (/embeddings; never streamed)")
	fs.IntVar(&cfg.EmbeddingBatch, "embedding-batch", cfg.EmbeddingBatch, "inputs per embeddings request (--api embeddings; default 1)")
	fs.BoolVar(&cfg.Stream, "stream", cfg.Stream, "stream responses (SSE); --stream=false measures whole responses (TTFT = E2E)")
	fs.BoolVar(&cfg.IgnoreEOS, "ignore-eos", cfg.IgnoreEOS, "ask the server for exactly max_tokens output tokens (ignore_eos + min_tokens: vLLM, llama.cpp); default true for sim")
	fs.Var(&rf.headers, "header", "extra request header \"Name: value\" (repeatable); values of credential headers (Authorization, *-Key, *-Token, Cookie, …) are scrubbed from every output")
	fs.Var(&rf.secretHeaders, "secret-header", "mark a header secret: NAME (given with --header) or \"Name: value\" (sent too); its value is scrubbed from every output (repeatable)")
	fs.StringVar(&rf.extra, "extra-body", "", "JSON object merged into every request body, e.g. '{\"top_p\":0.9}'")
	fs.StringVar(&rf.extra, "additional-sampling-params", "", "alias of --extra-body (LLMPerf)")
	fs.Var(&rf.temp, "temperature", "sampling temperature (default: not sent)")
	// Provider options.
	po := &cfg.Providers
	fs.StringVar(&po.Region, "region", po.Region, "AWS region (bedrock, sagemaker); default: the SDK's chain (AWS_REGION, profile)")
	fs.StringVar(&po.EndpointURL, "endpoint-url", po.EndpointURL, "override the AWS service endpoint (bedrock, sagemaker), e.g. a VPC endpoint or http://127.0.0.1:8000 for llmload sim")
	fs.StringVar(&po.AWSProfile, "aws-profile", po.AWSProfile, "AWS shared-config profile (bedrock, sagemaker)")
	fs.StringVar(&po.BedrockAPI, "bedrock-api", po.BedrockAPI, "bedrock operation: converse-stream, converse, invoke-stream, invoke (default: converse-stream, or converse with --stream=false)")
	fs.StringVar(&po.Performance, "performance", po.Performance, "bedrock performance config: standard or latency-optimized")
	fs.StringVar(&po.EndpointName, "endpoint-name", po.EndpointName, "SageMaker endpoint name (sagemaker)")
	fs.StringVar(&po.SageMakerFormat, "sagemaker-format", po.SageMakerFormat, "SageMaker payload: tgi (default), messages (OpenAI-style, LMI/vLLM) or template")
	fs.StringVar(&po.Template, "template", po.Template, "SageMaker body template (JSON with {{prompt}}, {{max_tokens}}, {{stream}}) for --sagemaker-format template")
	fs.StringVar(&po.InferenceComponent, "inference-component", po.InferenceComponent, "SageMaker inference component name")
	fs.StringVar(&po.CustomAttributes, "custom-attributes", po.CustomAttributes, "SageMaker custom attributes header")
	fs.StringVar(&po.OllamaAPI, "ollama-api", po.OllamaAPI, "ollama API: chat (/api/chat, default) or generate (/api/generate)")
	fs.StringVar(&po.HTTPClient, "http-client", po.HTTPClient, "HTTP client of openai, sim, tgi, ollama: auto (default: a lean HTTP/1.1 client for plain http:// without a proxy, net/http otherwise) or std (net/http always)")
	// Workload.
	fs.IntVar(&cfg.MeanInputTokens, "mean-input-tokens", cfg.MeanInputTokens, "mean prompt length in tokens (synthetic prompts)")
	fs.IntVar(&cfg.StddevInputTokens, "stddev-input-tokens", cfg.StddevInputTokens, "standard deviation of prompt length in tokens (-1: a quarter of the mean)")
	fs.IntVar(&cfg.MeanOutputTokens, "mean-output-tokens", cfg.MeanOutputTokens, "mean max_tokens requested (0: none)")
	fs.IntVar(&cfg.StddevOutputTokens, "stddev-output-tokens", cfg.StddevOutputTokens, "standard deviation of max_tokens (-1: a quarter of the mean)")
	fs.StringVar(&cfg.Prompt, "prompt", cfg.Prompt, "fixed prompt text for every request (instead of synthetic prompts)")
	fs.StringVar(&cfg.PromptFile, "prompt-file", cfg.PromptFile, "JSONL file of prompts: {\"prompt\": \"...\", \"max_tokens\": 100} per line, used in order")
	fs.Var(&rf.promptSets, "prompt-set", "a prompt set of a mix, as comma-separated key=value pairs with the keys of an experiment file's prompt_sets, e.g. name=chat,weight=80,mean_input_tokens=550 (repeatable; replaces the file's prompt_sets)")
	fs.IntVar(&cfg.PrefixTokens, "prefix-tokens", cfg.PrefixTokens, "start every synthetic prompt with a shared prefix of exactly this many tokens, on top of its length, to measure prefix caching (0: none)")
	fs.IntVar(&cfg.PrefixGroups, "prefix-groups", cfg.PrefixGroups, "number of distinct shared prefixes for --prefix-tokens; each request uses one at random (0: 1)")
	fs.StringVar(&cfg.Dataset, "dataset", cfg.Dataset, "file of prompts or conversations: ShareGPT JSON, chat JSONL ({\"messages\": [...]}), prompt JSONL or CSV; read before the run, never fetched")
	fs.StringVar(&cfg.DatasetFormat, "dataset-format", cfg.DatasetFormat, "format of --dataset: auto (from the content), sharegpt, chat, jsonl or csv")
	fs.StringVar(&cfg.DatasetSample, "dataset-sample", cfg.DatasetSample, "how dataset rows are picked: random (default; seeded by --seed) or sequential (file order)")
	fs.BoolVar(&cfg.DatasetReplace, "dataset-replace", cfg.DatasetReplace, "sample random rows with replacement (default: without, reshuffling once every row was used)")
	fs.StringVar(&cfg.DatasetOutputLengths, "dataset-output-lengths", cfg.DatasetOutputLengths, "max_tokens of dataset prompts: dataset (the token count of the row's recorded answer; default), fixed (--mean-output-tokens) or normal (--mean/--stddev-output-tokens)")
	fs.IntVar(&cfg.DatasetMinInputTokens, "dataset-min-input-tokens", cfg.DatasetMinInputTokens, "drop dataset rows whose prompt has fewer tokens (0: no limit)")
	fs.IntVar(&cfg.DatasetMaxInputTokens, "dataset-max-input-tokens", cfg.DatasetMaxInputTokens, "drop dataset rows whose prompt has more tokens (0: no limit)")
	fs.IntVar(&cfg.DatasetMinOutputTokens, "dataset-min-output-tokens", cfg.DatasetMinOutputTokens, "drop dataset rows whose recorded answer has fewer tokens (0: no limit)")
	fs.IntVar(&cfg.DatasetMaxOutputTokens, "dataset-max-output-tokens", cfg.DatasetMaxOutputTokens, "drop dataset rows whose recorded answer has more tokens (0: no limit)")
	fs.IntVar(&cfg.Turns, "turns", cfg.Turns, "multi-turn sessions of up to this many turns, each turn's prompt the conversation so far with the answers received (0, 1: single requests)")
	fs.Var(&cfg.ThinkTime, "think-time", "pause between a turn's answer and the session's next turn (--turns)")
	fs.StringVar(&cfg.ThinkTimeDist, "think-time-dist", cfg.ThinkTimeDist, "how --think-time varies: constant (default) or exponential (of mean --think-time, drawn from --seed)")
	fs.StringVar(&cfg.SystemPrompt, "system-prompt", cfg.SystemPrompt, "system message sent with every request (and paid for on every request)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed gives the same lengths, prompt-set choices and arrivals")
	fs.Uint64Var(&cfg.PromptSeed, "prompt-seed", cfg.PromptSeed, "seed of synthetic prompt texts: the same --seed and --prompt-seed give the same texts (0: random per run, so no two runs share a prompt prefix; config.yaml records the one used)")
	fs.StringVar(&cfg.Tokenizer, "tokenizer", cfg.Tokenizer, "local tokenizer: cl100k_base, o200k_base, p50k_base, r50k_base, or hf:FILE for a Hugging Face tokenizer.json (BPE: Llama, Mistral, Qwen, …)")
	// Load shape.
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "load shape: concurrency (closed loop), batch-sequential, batch-interval, rate (open loop)")
	fs.Var(&cfg.Concurrency, "concurrency", "closed-loop concurrent requests; a list (1,5,10) runs a sweep")
	fs.Var(&cfg.Concurrency, "num-concurrent-requests", "alias of --concurrency (LLMPerf)")
	fs.Var(&cfg.BatchSize, "batch-size", "requests per batch (batch modes); a list (1,10,30,50) runs a sweep over batch sizes")
	fs.Var(&cfg.BatchInterval, "batch-interval", "time between batch starts (batch-interval mode)")
	fs.IntVar(&cfg.Batches, "batches", cfg.Batches, "number of batches (batch modes; 0: until --max-requests or --duration)")
	fs.Var(&cfg.Rate, "rate", "open-loop arrival rate, requests per second (rate mode); a list (1,2,4) runs a sweep")
	fs.StringVar(&cfg.Arrival, "arrival", cfg.Arrival, "arrival process in rate mode: constant, poisson or gamma")
	fs.Float64Var(&cfg.Burstiness, "burstiness", cfg.Burstiness, "gamma arrival shape: 1 is Poisson, below 1 burstier, above 1 smoother")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", cfg.MaxConcurrency, "cap on requests in flight in rate mode; arrivals beyond it wait and the wait shows as schedule lag (0: none)")
	fs.Var(&cfg.Ramp, "ramp", "raise concurrency from 1 (or the rate from 0) linearly to the target over this long")
	fs.IntVar(&cfg.MaxRequests, "max-requests", cfg.MaxRequests, "measured requests to send per level (0: until --duration or, in the batch modes, the last of --batches; with --batches, 0 unless given)")
	fs.IntVar(&cfg.MaxRequests, "max-num-completed-requests", cfg.MaxRequests, "alias of --max-requests (LLMPerf)")
	fs.Var(&cfg.Duration, "duration", "stop sending new requests after this long (0: no limit)")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up requests sent first and excluded from statistics")
	fs.Var(&cfg.Timeout, "timeout", "per-request timeout, send to last byte")
	fs.IntVar(&cfg.Retries, "retries", cfg.Retries, "retry throttled, overloaded, 5xx and connection failures this many times (exponential backoff, full jitter, Retry-After honoured); every attempt is recorded")
	fs.Var(&cfg.MaxRetryAfter, "max-retry-after", "longest wait a server's Retry-After may impose before a retry; longer ones are cut to this and counted (default 60s)")
	fs.IntVar(&cfg.RPM, "rpm", cfg.RPM, "client-side quota: at most this many requests per minute (0: none)")
	fs.IntVar(&cfg.TPM, "tpm", cfg.TPM, "client-side quota: at most this many tokens (prompt + max_tokens) per minute (0: none)")
	fs.Var(&cfg.QuotaWindow, "quota-window", "the sliding window --rpm and --tpm count over (default 1m; shorter for per-second quotas or a sped-up simulator)")
	// Sweeps, SLOs, thresholds.
	fs.StringVar(&cfg.Sweep, "sweep", cfg.Sweep, "auto: measure the synchronous and maximum throughput, then sweep rates between them")
	fs.IntVar(&cfg.SweepLevels, "sweep-levels", cfg.SweepLevels, "rate levels of --sweep auto, between its probes (GuideLLM's sweep count includes its 2 probes: its 10 is --sweep-levels 8)")
	fs.Float64Var(&cfg.StopOnErrorRate, "stop-on-error-rate", cfg.StopOnErrorRate, "end a sweep at the first level whose error rate exceeds this (0: never)")
	fs.BoolVar(&cfg.StopOnTimeout, "stop-on-timeout", cfg.StopOnTimeout, "end a sweep at the first level with a timeout")
	fs.Float64Var(&cfg.PricePerHour, "price-per-hour", cfg.PricePerHour, "price of one instance serving the endpoint per hour: a sweep writes each level's cost per 1M output tokens (0: none)")
	fs.IntVar(&cfg.Instances, "instances", cfg.Instances, "instances serving the endpoint, for --price-per-hour (0: 1)")
	fs.StringVar(&cfg.PriceModel, "price-model", cfg.PriceModel, "price by the token with this model's prices (llmload plan --print-prices lists them): summary.json and every sweep row carry the token cost")
	fs.StringVar(&cfg.Prices, "prices", cfg.Prices, "YAML price table to use instead of the built-in one")
	fs.Var(ptrFloat{&cfg.PriceInput}, "price-input", "price per 1M input tokens (instead of, or overriding, --price-model's)")
	fs.Var(ptrFloat{&cfg.PriceOutput}, "price-output", "price per 1M output tokens (instead of, or overriding, --price-model's)")
	fs.Var(ptrFloat{&cfg.PriceCachedInput}, "price-cached-input", "price per 1M input tokens read from the prompt cache (default: the input price)")
	fs.BoolVar(&cfg.PriceBatch, "price-batch", cfg.PriceBatch, "price as batch inference: take the batch discount off every token price")
	fs.Var(ptrFloat{&cfg.PriceBatchDiscount}, "price-batch-discount", "share batch inference takes off, e.g. 0.5 (default: the table's)")
	fs.Var(&rf.slos, "slo", "per-request objective for goodput, e.g. ttft<=500ms (repeatable)")
	fs.Var(&rf.thresholds, "threshold", "pass/fail check on the summary, e.g. 'ttft_p95<500ms' (repeatable); a failure exits 3")
	// Output.
	fs.StringVar(&cfg.ResultsDir, "results-dir", cfg.ResultsDir, "run directory to write (default results/<name>)")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "run name (default <time>-<model>-c<concurrency>)")
	fs.BoolVar(&rf.noProgress, "no-progress", false, "do not show live progress")
	fs.BoolVar(&rf.noReport, "no-report", false, "do not write report.html, plots/ and summary.md/csv at the end (llmload report DIR writes them later from the files)")
	// Simulator.
	fs.StringVar(&cfg.Sim.Profile, "sim-profile", cfg.Sim.Profile, "simulated model × accelerator (provider sim): MODEL@NxACCEL[:tpT][:rR] from the theory catalog, e.g. llama-2-13b@4xa10g, or "+strings.Join(sim.ProfileNames(), ", "))
	fs.StringVar(&cfg.Sim.ProfileFile, "sim-profile-file", cfg.Sim.ProfileFile, "simulator profile YAML file (spec plus engine overrides; docs/simulator.md), instead of --sim-profile (provider sim)")
	fs.Float64Var(&cfg.Sim.TimeScale, "sim-time-scale", cfg.Sim.TimeScale, "simulator speed: 1 = real time, 0.1 = every delay ×0.1 (provider sim)")
	fs.Var(&cfg.Sim.CloseAfterResponse, "sim-close-after-response", "simulator closes each keep-alive connection this long after a response, without Connection: close, like llama-server (provider sim; 0: never)")
	fs.IntVar(&cfg.Sim.PrefixCacheBlocks, "sim-prefix-cache-blocks", cfg.Sim.PrefixCacheBlocks, "simulator's prefix cache, in 64-byte blocks of prompt text: repeated prompt prefixes are served from it and reported as cached tokens (provider sim; 0: none)")
	fs.IntVar(&cfg.Sim.ReasoningTokens, "sim-reasoning-tokens", cfg.Sim.ReasoningTokens, "simulator answers like a reasoning model: the first N output tokens of each response are reasoning (provider sim; 0: none)")
	fs.StringVar(&cfg.Sim.ReasoningField, "sim-reasoning-field", cfg.Sim.ReasoningField, "how the simulator sends reasoning: reasoning_content (vLLM, DeepSeek), reasoning (newer vLLM, gateways) or think (<think>…</think> in the content) (provider sim; default reasoning_content)")
	fs.IntVar(&cfg.Sim.MaxConcurrentRequests, "sim-max-concurrent-requests", cfg.Sim.MaxConcurrentRequests, "simulator's MAX_CONCURRENT_REQUESTS per replica; beyond it requests fail as overloaded (provider sim)")
	return fs
}

func (c *cli) run(ctx context.Context, args []string) int {
	// An experiment file gives the defaults; flags typed override it.
	base := config.Defaults()
	var exp *config.Experiment
	if path, ok := fileFlag(args); ok {
		e, err := config.LoadExperiment(path)
		if err != nil {
			return c.usageErr("run", err)
		}
		e.Getenv = c.getenv
		exp, base = e, e.Base
	}
	cfg := &base
	var rf runFlags
	fs := bindRunFlags(cfg, &rf)
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	typed := visited(fs)
	isSet := func(key string) bool {
		return typed[strings.ReplaceAll(key, "_", "-")] || exp != nil && exp.IsSet(key)
	}
	if err := applyFlagExtras(cfg, &rf); err != nil {
		return c.usageErr("run", err)
	}
	models := map[string]string{}
	if exp == nil || !hasMatrix(exp) {
		err := c.resolve(ctx, cfg, isSet, models)
		// From here on, nothing printed shows a secret of cfg.
		c = c.scrubbed(cfg.Redactor())
		if err != nil {
			return c.usageErr("run", unwrapInvalid(err))
		}
		// The run's own checks, so --dry-run approves only what runs.
		if err := bench.Check(cfg); err != nil {
			return c.usageErr("run", unwrapInvalid(err))
		}
		of, err := bench.CheckOpenFiles(cfg)
		if rf.dryRun {
			fmt.Fprint(c.stdout, cfg.PlanString())
			fmt.Fprint(c.stdout, bench.LengthPreview(cfg))
			if !bench.IsSweep(cfg) {
				fmt.Fprintln(c.stdout, of)
			}
		}
		if err != nil && !bench.IsSweep(cfg) {
			return c.usageErr("run", unwrapInvalid(err))
		}
		if rf.dryRun {
			return exitOK
		}
		if of.Warning != "" {
			fmt.Fprintf(c.stderr, "llmload run: warning: %s\n", of.Warning)
		}
		if bench.IsSweep(cfg) {
			return c.runSweep(ctx, cfg, &rf)
		}
		return c.runOne(ctx, cfg, &rf)
	}

	// An experiment matrix: every case into one sweep directory.
	exp.Base = *cfg
	if typed["concurrency"] || typed["num-concurrent-requests"] {
		exp.Matrix.Concurrency = nil
	}
	if typed["rate"] {
		exp.Matrix.Rate = nil
	}
	expand := exp.Expand
	if rf.dryRun {
		expand = exp.ExpandWithoutKeys // a plan needs no keys
	}
	cases, err := expand()
	if err != nil {
		return c.usageErr("run", err)
	}
	if cfg.Name == "" {
		cfg.Name = time.Now().Format("20060102-150405") + "-" + bench.Sanitize(strings.TrimSuffix(filepath.Base(exp.Path), filepath.Ext(exp.Path)))
	}
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join("results", cfg.Name)
	}
	levels := make([]bench.Level, len(cases))
	plain, red := c, cfg.Redactor()
	for i, cs := range cases {
		cc := cs.Config
		if cc.Sweep == config.SweepAuto {
			return c.usageErr("run", fmt.Errorf("case %s: sweep: auto does not combine with a matrix; run one experiment per endpoint with sweep: auto and no matrix", cs.Name))
		}
		cc.ResultsDir = filepath.Join(cfg.ResultsDir, cs.Dir)
		cc.Name = cs.Name
		err := c.resolve(ctx, &cc, isSet, models)
		red = red.Merge(cc.Redactor())
		c = plain.scrubbed(red)
		if err != nil {
			return c.usageErr("run", fmt.Errorf("case %s: %w", cs.Name, unwrapInvalid(err)))
		}
		if err := bench.Check(&cc); err != nil {
			return c.usageErr("run", fmt.Errorf("case %s: %w", cs.Name, unwrapInvalid(err)))
		}
		levels[i] = bench.Level{Value: levelValue(&cc), Dir: cs.Dir, Group: cs.Group, Config: &cc}
	}
	if rf.dryRun {
		fmt.Fprint(c.stdout, exp.Plan())
		return exitOK
	}
	so, err := bench.NewSweep(cfg.ResultsDir, bench.SweepKind(cfg))
	if err != nil {
		return c.usageErr("run", unwrapInvalid(err))
	}
	so.Summary.Name = cfg.Name // the experiment's name:, or its file's
	err = so.RunLevels(ctx, levels, cfg.StopOnErrorRate, cfg.StopOnTimeout, c.sweepHooks(&rf))
	return c.finishSweep(so, err, rf.noReport)
}

// resolve resolves cfg as bench.Resolve does; when no model is given and
// the server can name its model, it asks the server first (models caches
// the answers by endpoint, for the cases of an experiment) and says so.
func (c *cli) resolve(ctx context.Context, cfg *config.Config, isSet func(string) bool, models map[string]string) error {
	bench.ResolveEndpoint(cfg, c.getenv)
	if bench.CanDiscoverModel(cfg) {
		key := cfg.Provider + " " + cfg.BaseURL
		m, ok := models[key]
		if !ok {
			var err error
			m, err = bench.DiscoverModel(ctx, cfg)
			switch {
			case err != nil && cfg.Provider == config.ProviderTGI:
				m = "" // TGI serves one model and needs no name
			case err != nil:
				return err
			}
			models[key] = m
			if m != "" {
				fmt.Fprintf(cfg.Redactor().Writer(c.stderr), "llmload: no --model given; using %s, the one model the server at %s serves\n", m, config.RedactURL(cfg.BaseURL))
			}
		}
		cfg.Model = m
	}
	return bench.Resolve(cfg, c.getenv, isSet)
}

// scrubbed returns a copy of c whose stdout and stderr scrub r's secrets.
func (c *cli) scrubbed(r *config.Redactor) *cli {
	cc := *c
	cc.stdout, cc.stderr = r.Writer(c.stdout), r.Writer(c.stderr)
	return &cc
}

// fileFlag finds -f/--file before flags are parsed, since the file gives
// the flags' defaults.
func fileFlag(args []string) (string, bool) {
	for i, a := range args {
		switch {
		case a == "--":
			return "", false
		case a == "-f" || a == "--f":
			if i+1 < len(args) {
				return args[i+1], true
			}
		case strings.HasPrefix(a, "-f=") || strings.HasPrefix(a, "--f="):
			return a[strings.Index(a, "=")+1:], true
		}
	}
	return "", false
}

func hasMatrix(e *config.Experiment) bool {
	m := e.Matrix
	return len(m.PromptSets) > 0 || len(m.Concurrency) > 0 || len(m.Rate) > 0 || len(m.Endpoints) > 0
}

// levelValue is a config's load level for sweep rows.
func levelValue(cfg *config.Config) float64 {
	switch {
	case cfg.Mode == load.ModeRate && len(cfg.Rate) > 0:
		return cfg.Rate[0]
	case cfg.Mode == load.ModeBatchSequential || cfg.Mode == load.ModeBatchInterval:
		return float64(cfg.BatchSize.First())
	case len(cfg.Concurrency) > 0:
		return float64(cfg.Concurrency[0])
	}
	return 0
}

// applyFlagExtras applies the flags that are not plain Config fields.
func applyFlagExtras(cfg *config.Config, rf *runFlags) error {
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
	// --secret-header NAME marks a header secret; --secret-header
	// 'NAME: value' also sends it.
	for _, h := range rf.secretHeaders {
		name := strings.TrimSpace(h)
		if strings.Contains(h, ":") {
			k, v, err := config.ParseHeader(h)
			if err != nil {
				return errors.New("--secret-header wants a header name, or \"Name: value\"")
			}
			if cfg.Headers == nil {
				cfg.Headers = map[string]string{}
			}
			cfg.Headers[k], name = v, k
		}
		if name == "" {
			return errors.New("--secret-header wants a header name, or \"Name: value\"")
		}
		if !slices.ContainsFunc(cfg.SecretHeaders, func(s string) bool { return strings.EqualFold(s, name) }) {
			cfg.SecretHeaders = append(cfg.SecretHeaders, name)
		}
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
	if len(rf.promptSets) > 0 {
		cfg.PromptSets = nil
		for _, v := range rf.promptSets {
			ps, err := config.ParsePromptSet(v)
			if err != nil {
				return err
			}
			cfg.PromptSets = append(cfg.PromptSets, ps)
		}
	}
	cfg.SLOs = append(cfg.SLOs, rf.slos...)
	cfg.Thresholds = append(cfg.Thresholds, rf.thresholds...)
	return nil
}

// exitThresholds is the exit status when a --threshold failed.
const exitThresholds = 3

// runHooks shows one run's progress: a header, a progress bar and the
// interrupt notice. label prefixes the header in sweeps ("level 2/5: ").
func (c *cli) runHooks(cfg *config.Config, rf *runFlags, label string) bench.Hooks {
	// The progress bar and the interrupt notice write from their own
	// goroutines: serialize them.
	errw := &lockedWriter{w: c.stderr}
	var prog *progress
	runDone := make(chan struct{})
	var notice sync.WaitGroup
	return bench.Hooks{
		Version:  versionString(),
		NoReport: rf.noReport,
		Started: func(target string, r *load.Runner, live *stats.Live) {
			model := ""
			if cfg.Model != "" {
				model = ", model " + cfg.Model
			}
			fmt.Fprintf(errw, "llmload: %s%s%s\n", label, target, model)
			fmt.Fprintf(errw, "llmload: %s; results in %s\n", r.Plan, cfg.ResultsDir)
			if !rf.noProgress {
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
}

// runOne runs one level and prints its summary.
func (c *cli) runOne(ctx context.Context, cfg *config.Config, rf *runFlags) int {
	out, err := bench.Run(ctx, cfg, c.runHooks(cfg, rf, ""))
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
	pass := c.printThresholds(cfg, out)
	fmt.Fprintf(c.stdout, "\nResults: %s\n", out.Dir)
	if !rf.noReport {
		c.printReport(out.Dir, out.ReportErr)
	}
	switch {
	case out.Result.Interrupted:
		return exitInterrupted
	case out.Summary.Requests.Succeeded == 0:
		fmt.Fprintf(c.stderr, "llmload run: no request succeeded%s\n", firstError(out))
		return exitFailed
	case !pass:
		return exitThresholds
	}
	return exitOK
}

// printThresholds evaluates and prints cfg's thresholds for one run;
// false when any failed.
func (c *cli) printThresholds(cfg *config.Config, out *bench.Outcome) bool {
	res, ok, err := bench.Thresholds(cfg, out.Summary)
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return false
	}
	if len(res) > 0 {
		fmt.Fprintln(c.stdout)
		report.Thresholds(c.stdout, res)
	}
	return ok
}

// runSweep runs every level of cfg and prints the sweep table.
func (c *cli) runSweep(ctx context.Context, cfg *config.Config, rf *runFlags) int {
	so, err := bench.Sweep(ctx, cfg, c.sweepHooks(rf))
	return c.finishSweep(so, err, rf.noReport)
}

// sweepHooks show each level's progress and a one-line result.
func (c *cli) sweepHooks(rf *runFlags) bench.SweepHooks {
	return bench.SweepHooks{
		Level: func(i, n int, l bench.Level) bench.Hooks {
			count := fmt.Sprintf("level %d/%d", i+1, n)
			if n == 0 { // an auto sweep's probes: the count is not known yet
				count = fmt.Sprintf("level %d", i+1)
			}
			return c.runHooks(l.Config, rf, fmt.Sprintf("%s (%s): ", count, cmp.Or(l.Label, l.Dir)))
		},
		Done: func(row analysis.SweepRow, out *bench.Outcome) {
			fmt.Fprintf(c.stderr, "llmload: %s: %d/%d ok, %.1f output tok/s, TTFT p50 %s\n",
				row.Dir, row.Succeeded, row.Requests, row.OutputTokensPerS, ms(row.TTFTP50))
			if h := out.Summary.ClientHealth; h != nil && h.ClientLimited {
				fmt.Fprintf(c.stderr, "llmload: %s: WARNING %s\n", row.Dir, h.Warning)
			}
			if row.StoppedEarly != "" {
				fmt.Fprintf(c.stderr, "llmload: stopping the sweep: %s\n", row.StoppedEarly)
			}
		},
	}
}

// finishSweep prints a sweep's table and thresholds and picks the exit
// status.
func (c *cli) finishSweep(so *bench.SweepOutcome, err error, noReport bool) int {
	if so == nil {
		if errors.Is(err, bench.ErrInvalid) {
			return c.usageErr("run", unwrapInvalid(err))
		}
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	}
	if len(so.Summary.Rows) > 0 {
		report.SweepTable(c.stdout, &so.Summary)
		c.warnScaledCosts(so)
	}
	pass, anyOK := true, false
	for _, out := range so.Outcomes {
		anyOK = anyOK || out.Summary.Requests.Succeeded > 0
		res, ok, terr := bench.Thresholds(out.Config, out.Summary)
		if terr != nil || !ok {
			pass = false
			fmt.Fprintf(c.stdout, "\n%s:\n", out.Dir)
			report.Thresholds(c.stdout, res)
		}
	}
	fmt.Fprintf(c.stdout, "\nResults: %s (sweep.json, sweep.csv, one directory per level)\n", so.Dir)
	if len(so.Summary.Rows) > 0 && !noReport {
		c.printReport(so.Dir, so.ReportErr)
	}
	for _, out := range so.Outcomes {
		if out.ReportErr != nil {
			c.printReport(out.Dir, out.ReportErr)
		}
	}
	switch {
	case err != nil && errors.Is(err, bench.ErrInvalid):
		return c.usageErr("run", unwrapInvalid(err))
	case err != nil:
		fmt.Fprintf(c.stderr, "llmload run: %v\n", err)
		return exitFailed
	case so.Interrupted:
		return exitInterrupted
	case !anyOK:
		fmt.Fprintln(c.stderr, "llmload run: no request succeeded at any level")
		return exitFailed
	case !pass:
		return exitThresholds
	}
	return exitOK
}

// warnScaledCosts says when a sweep's instance costs and break-even
// follow a sped-up simulator's clock rather than the modelled hardware's
// (each level's summary.json and the report carry the same warning).
func (c *cli) warnScaledCosts(so *bench.SweepOutcome) {
	priced := so.Summary.BreakEven != nil
	for _, r := range so.Summary.Rows {
		priced = priced || r.CostPer1MOutputTokens != nil
	}
	if !priced || len(so.Outcomes) == 0 {
		return
	}
	si := so.Outcomes[0].Summary.Run.Sim
	if si == nil || si.TimeScale == 1 || si.TimeScale <= 0 {
		return
	}
	fmt.Fprintf(c.stdout, "WARNING: the simulator ran at time scale %g: the instance costs per 1M output tokens and the break-even above follow its sped-up throughput, %g× the modelled hardware's, so they read %g× too low; run at --sim-time-scale 1 to price the modelled hardware\n",
		si.TimeScale, 1/si.TimeScale, 1/si.TimeScale)
}

// printReport names a run's or sweep's report, or says why it could not be
// written (the run itself is complete; `llmload report` rebuilds it).
func (c *cli) printReport(dir string, err error) {
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload run: the report of %s could not be written: %v (llmload report %s rebuilds it)\n", dir, err, dir)
		return
	}
	fmt.Fprintf(c.stdout, "Report:  %s\n", filepath.Join(dir, reportgen.HTMLFile))
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
