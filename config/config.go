// Package config holds the effective configuration of a run: what the CLI
// flags and experiment files (LoadExperiment, docs/experiments.md) resolve
// to, the shared defaults (Defaults), validation, the --dry-run plan, and
// the redacted copy written to a run directory's config.yaml.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Providers llmload can drive.
const (
	ProviderOpenAI    = "openai"    // any OpenAI-compatible endpoint
	ProviderSim       = "sim"       // the built-in simulated endpoint, in process
	ProviderBedrock   = "bedrock"   // AWS Bedrock runtime (Converse, InvokeModel)
	ProviderSageMaker = "sagemaker" // an Amazon SageMaker real-time endpoint
	ProviderTGI       = "tgi"       // Hugging Face TGI's native API
	ProviderOllama    = "ollama"    // Ollama's native API
)

// Config is a run's effective configuration. The YAML names are stable:
// config.yaml in every run directory is this struct.
type Config struct {
	Name     string `yaml:"name,omitempty"`
	Provider string `yaml:"provider"`
	// BaseURL is the endpoint's API root, e.g. http://127.0.0.1:8000/v1.
	BaseURL string `yaml:"base_url,omitempty"`
	// APIKey is sent as a bearer token; written only as "REDACTED".
	APIKey string `yaml:"api_key,omitempty"`
	Model  string `yaml:"model"`
	// API is "chat", "completions" or "embeddings".
	API string `yaml:"api"`
	// EmbeddingBatch is the number of inputs of each embeddings request
	// (API "embeddings"); 0 means 1.
	EmbeddingBatch int               `yaml:"embedding_batch,omitempty"`
	Stream         bool              `yaml:"stream"`
	IgnoreEOS      bool              `yaml:"ignore_eos"`
	Headers        map[string]string `yaml:"headers,omitempty"`
	// SecretHeaders names headers whose values are credentials beyond
	// those SecretHeader recognises by name (Authorization, *-Key,
	// *-Token, Cookie, …): their values are written as "REDACTED" and
	// scrubbed from everything llmload writes or prints.
	SecretHeaders []string `yaml:"secret_headers,omitempty"`
	// SecretValues are further values to scrub from every output, never
	// written: credentials Resolve found in the environment (AWS keys).
	SecretValues []string `yaml:"-"`
	// ExtraBody fields are merged into every request body (LLMPerf's
	// --additional-sampling-params).
	ExtraBody   map[string]any `yaml:"extra_body,omitempty"`
	Temperature *float64       `yaml:"temperature,omitempty"`

	MeanInputTokens    int    `yaml:"mean_input_tokens"`
	StddevInputTokens  int    `yaml:"stddev_input_tokens"`
	MeanOutputTokens   int    `yaml:"mean_output_tokens"`
	StddevOutputTokens int    `yaml:"stddev_output_tokens"`
	Prompt             string `yaml:"prompt,omitempty"`
	PromptFile         string `yaml:"prompt_file,omitempty"`
	Seed               uint64 `yaml:"seed"`
	// PromptSeed, with Seed, fixes the texts of synthetic prompts. 0 (the
	// default) draws one at random for each run, so that no run's prompts
	// share a cacheable prefix with another's; the run's config.yaml
	// records the one drawn, so re-running it reproduces the texts.
	PromptSeed uint64 `yaml:"prompt_seed,omitempty"`
	Tokenizer  string `yaml:"tokenizer"`

	// SystemPrompt is sent as a system message with every request (and
	// paid for on every request).
	SystemPrompt string `yaml:"system_prompt,omitempty"`
	// PromptSets mix several workloads in one run, each request drawn from
	// one set by weight and tagged with its name. Empty: the single
	// workload above.
	PromptSets []PromptSet `yaml:"prompt_sets,omitempty"`

	// PrefixTokens, if positive, starts every synthetic prompt with one of
	// PrefixGroups (0: 1) shared texts of exactly this many tokens, on top
	// of the drawn input length and before the prompt's unique tag.
	PrefixTokens int `yaml:"prefix_tokens,omitempty"`
	PrefixGroups int `yaml:"prefix_groups,omitempty"`

	// Dataset is a file of prompts or conversations (ShareGPT JSON, chat
	// JSONL, prompt JSONL, CSV), read once before the run; DatasetFormat
	// forces its format (auto: detected from the content).
	Dataset       string `yaml:"dataset,omitempty"`
	DatasetFormat string `yaml:"dataset_format,omitempty"`
	// DatasetSample is how rows are picked: random (default) or
	// sequential; DatasetReplace samples random rows with replacement.
	DatasetSample  string `yaml:"dataset_sample,omitempty"`
	DatasetReplace bool   `yaml:"dataset_replace,omitempty"`
	// DatasetOutputLengths is where max_tokens comes from: dataset (the
	// answer the row records; default), fixed (mean_output_tokens) or
	// normal (mean and stddev_output_tokens).
	DatasetOutputLengths string `yaml:"dataset_output_lengths,omitempty"`
	// Length filters on dataset rows, tokens (0: no limit).
	DatasetMinInputTokens  int `yaml:"dataset_min_input_tokens,omitempty"`
	DatasetMaxInputTokens  int `yaml:"dataset_max_input_tokens,omitempty"`
	DatasetMinOutputTokens int `yaml:"dataset_min_output_tokens,omitempty"`
	DatasetMaxOutputTokens int `yaml:"dataset_max_output_tokens,omitempty"`

	// Turns, above 1, makes every request a session of up to this many
	// turns, run in order by one worker; each turn's prompt holds the
	// conversation so far, answers included. ThinkTime is the pause
	// between a turn's answer and the next turn.
	Turns     int      `yaml:"turns,omitempty"`
	ThinkTime Duration `yaml:"think_time,omitempty"`
	// ThinkTimeDist is how pauses vary: constant (every pause ThinkTime;
	// the default) or exponential (of mean ThinkTime).
	ThinkTimeDist string `yaml:"think_time_dist,omitempty"`

	// Mode is the load shape: concurrency (closed loop), batch-sequential,
	// batch-interval or rate (open loop).
	Mode string `yaml:"mode"`
	// Concurrency is the closed-loop worker count; several values make a
	// sweep, one level after another.
	Concurrency IntList `yaml:"concurrency,omitempty"`
	// BatchSize, BatchInterval and Batches shape the batch modes; several
	// batch sizes make a sweep, one level after another.
	BatchSize     IntList  `yaml:"batch_size,omitempty"`
	BatchInterval Duration `yaml:"batch_interval,omitempty"`
	Batches       int      `yaml:"batches,omitempty"`
	// Rate is the open-loop arrival rate, requests per second; several
	// values make a sweep.
	Rate FloatList `yaml:"rate,omitempty"`
	// Arrival is the open-loop arrival process: constant, poisson or gamma.
	Arrival string `yaml:"arrival,omitempty"`
	// Burstiness is the gamma process's shape (1: Poisson; < 1: burstier).
	Burstiness float64 `yaml:"burstiness,omitempty"`
	// MaxConcurrency caps requests in flight in rate mode (0: no cap).
	MaxConcurrency int `yaml:"max_concurrency,omitempty"`
	// Ramp raises concurrency (from 1) or rate (from 0) linearly to its
	// target over this long, then holds it.
	Ramp Duration `yaml:"ramp,omitempty"`

	// Retries retries failed requests (throttling, overload, 5xx,
	// connection errors) with exponential backoff and full jitter,
	// honouring Retry-After; every attempt is recorded. 0 measures single
	// attempts.
	Retries int `yaml:"retries,omitempty"`
	// MaxRetryAfter caps how long a server's Retry-After may hold a retry
	// back (0: load.DefaultMaxRetryAfter, 60 s).
	MaxRetryAfter Duration `yaml:"max_retry_after,omitempty"`
	// RPM and TPM hold the run inside a quota of requests and tokens
	// (prompt + max_tokens) per minute, client-side; 0: no limit.
	RPM int `yaml:"rpm,omitempty"`
	TPM int `yaml:"tpm,omitempty"`
	// QuotaWindow is the sliding window RPM and TPM count over (0: one
	// minute): shorter for quotas enforced per second or per 10 s, or to
	// match a sped-up simulator.
	QuotaWindow Duration `yaml:"quota_window,omitempty"`

	MaxRequests int      `yaml:"max_requests"`
	Duration    Duration `yaml:"duration,omitempty"`
	Warmup      int      `yaml:"warmup"`
	Timeout     Duration `yaml:"timeout"`

	// Sweep "auto" measures the synchronous baseline and the maximum
	// throughput, then places SweepLevels rates between them.
	Sweep       string `yaml:"sweep,omitempty"`
	SweepLevels int    `yaml:"sweep_levels,omitempty"`
	// StopOnErrorRate ends a sweep at the first level whose error rate
	// exceeds it (0: never); StopOnTimeout at the first level with a
	// timeout.
	StopOnErrorRate float64 `yaml:"stop_on_error_rate,omitempty"`
	StopOnTimeout   bool    `yaml:"stop_on_timeout,omitempty"`
	// PricePerHour is what one instance serving the endpoint costs per
	// hour (any currency), Instances how many serve it (0: 1). With a
	// price, a sweep writes each level's cost per 1M output tokens.
	PricePerHour float64 `yaml:"price_per_hour,omitempty"`
	Instances    int     `yaml:"instances,omitempty"`
	// PriceModel (an id of the price table, Prices a file replacing the
	// built-in one), PriceInput, PriceOutput, PriceCachedInput (dollars
	// per 1M tokens, overriding the model's), PriceBatch and
	// PriceBatchDiscount ask for a token price (analysis.PriceSpec): with
	// one, every run's summary.json and every sweep row carry the
	// token-priced cost.
	PriceModel         string   `yaml:"price_model,omitempty"`
	Prices             string   `yaml:"prices,omitempty"`
	PriceInput         *float64 `yaml:"price_input,omitempty"`
	PriceOutput        *float64 `yaml:"price_output,omitempty"`
	PriceCachedInput   *float64 `yaml:"price_cached_input,omitempty"`
	PriceBatch         bool     `yaml:"price_batch,omitempty"`
	PriceBatchDiscount *float64 `yaml:"price_batch_discount,omitempty"`

	// SLOs are per-request objectives ("ttft<=500ms"); every summary
	// reports goodput against them.
	SLOs []string `yaml:"slo,omitempty"`
	// Thresholds are pass/fail checks on the summary ("ttft_p95<500ms");
	// any failure makes llmload exit with status 3.
	Thresholds []string `yaml:"threshold,omitempty"`

	ResultsDir string `yaml:"results_dir,omitempty"`

	// Providers holds settings of the non-OpenAI providers.
	Providers ProviderOptions `yaml:",inline"`

	// Sim configures the built-in simulated endpoint (provider "sim").
	Sim SimConfig `yaml:"sim,omitempty"`
}

// PromptSet is one workload of a mix.
type PromptSet struct {
	Name               string  `yaml:"name"`
	Weight             float64 `yaml:"weight"`
	Prompt             string  `yaml:"prompt,omitempty"`
	PromptFile         string  `yaml:"prompt_file,omitempty"`
	MeanInputTokens    int     `yaml:"mean_input_tokens,omitempty"`
	StddevInputTokens  int     `yaml:"stddev_input_tokens,omitempty"`
	MeanOutputTokens   int     `yaml:"mean_output_tokens,omitempty"`
	StddevOutputTokens int     `yaml:"stddev_output_tokens,omitempty"`
	// SystemPrompt, if set, replaces the run's system_prompt for this set.
	SystemPrompt string `yaml:"system_prompt,omitempty"`
	// PrefixTokens and PrefixGroups give the set's synthetic prompts
	// shared prefixes, as the run-level keys do.
	PrefixTokens int `yaml:"prefix_tokens,omitempty"`
	PrefixGroups int `yaml:"prefix_groups,omitempty"`
}

// SimConfig configures the in-process simulated endpoint.
type SimConfig struct {
	Profile string `yaml:"profile,omitempty"`
	// ProfileFile is a simulator profile file (sim.ProfileFile's YAML),
	// instead of Profile.
	ProfileFile           string  `yaml:"profile_file,omitempty"`
	TimeScale             float64 `yaml:"time_scale,omitempty"`
	MaxConcurrentRequests int     `yaml:"max_concurrent_requests,omitempty"`
	// CloseAfterResponse makes the simulator close each keep-alive
	// connection this long after a response, without "Connection: close",
	// as llama-server does (0: keep connections open).
	CloseAfterResponse Duration `yaml:"close_after_response,omitempty"`
	// PrefixCacheBlocks enables the simulator's prefix cache, that many
	// 64-byte blocks of prompt text (0: none).
	PrefixCacheBlocks int `yaml:"prefix_cache_blocks"`
	// ReasoningTokens makes the simulator a reasoning model: the first
	// that many output tokens of each response are reasoning, sent in
	// ReasoningField ("reasoning_content", "reasoning" or "think"; see
	// sim.Options).
	ReasoningTokens int    `yaml:"reasoning_tokens,omitempty"`
	ReasoningField  string `yaml:"reasoning_field,omitempty"`
}

// Validate returns every problem found, joined, one line each; each is
// one sentence naming the flag. It includes ValidateShape's checks.
func (c *Config) Validate() error {
	ps := c.endpointProblems(flagName)
	ps = append(ps, c.fieldProblems(flagName)...)
	if c.ResultsDir == "" {
		ps = append(ps, problem{key: "results_dir", subject: true, msg: "must not be empty"})
	}
	ps = append(ps, c.shapeProblems(flagName)...)
	return flagErrors(ps)
}

// endpointProblems checks the fields that the CLI resolves from the
// environment and other flags (provider, base URL, model) before
// validating.
func (c *Config) endpointProblems(n namer) []problem {
	var ps []problem
	switch c.Provider {
	case ProviderOpenAI:
		if c.BaseURL == "" {
			ps = append(ps, problem{key: "base_url", subject: true, msg: "is required for provider openai (or set OPENAI_BASE_URL)"})
		} else if p, bad := baseURLProblem(c.BaseURL); bad {
			ps = append(ps, p)
		}
		if c.Model == "" {
			ps = append(ps, problem{key: "model", subject: true, msg: "is required for provider openai"})
		}
	case ProviderSim:
		if c.Sim.TimeScale <= 0 {
			ps = append(ps, problem{key: "sim.time_scale", subject: true, msg: fmt.Sprintf("must be positive, got %g", c.Sim.TimeScale)})
		}
	case ProviderTGI, ProviderOllama:
		if c.BaseURL == "" {
			ps = append(ps, problem{key: "base_url", subject: true, msg: "is required for provider " + c.Provider})
		} else if p, bad := baseURLProblem(c.BaseURL); bad {
			ps = append(ps, p)
		}
		if c.Provider == ProviderOllama && c.Model == "" {
			ps = append(ps, problem{key: "model", subject: true, msg: "is required for provider ollama"})
		}
		if api := c.Providers.OllamaAPI; api != "" && api != "chat" && api != "generate" {
			ps = append(ps, problem{key: "ollama_api", subject: true, msg: fmt.Sprintf("%q is not known (known: chat, generate)", api)})
		}
	case ProviderBedrock:
		if c.Model == "" {
			ps = append(ps, problem{key: "model", subject: true, msg: "is required for provider bedrock (a model id or inference profile, e.g. meta.llama3-3-70b-instruct-v1:0)"})
		}
	case ProviderSageMaker:
		if c.Providers.EndpointName == "" {
			ps = append(ps, problem{key: "endpoint_name", subject: true, msg: "is required for provider sagemaker"})
		}
	default:
		ps = append(ps, problem{key: "provider", subject: true, msg: fmt.Sprintf("%q is not known (known: openai, sim, bedrock, sagemaker, tgi, ollama)", c.Provider)})
	}
	if hc := c.Providers.HTTPClient; hc != "" && hc != "auto" && hc != "std" {
		ps = append(ps, problem{key: "http_client", subject: true, msg: fmt.Sprintf("%q is not known (known: auto, std)", hc)})
	}
	if u := c.Providers.EndpointURL; u != "" && (c.Provider == ProviderBedrock || c.Provider == ProviderSageMaker) {
		if p, bad := baseURLProblem(u); bad {
			p.key, p.msg = "endpoint_url", fmt.Sprintf("%q is not an http(s) URL", RedactURL(u))
			ps = append(ps, p)
		}
	}
	if c.RPM < 0 || c.TPM < 0 {
		ps = append(ps, problem{key: "rpm", subject: true, msg: "and --tpm must not be negative"})
	}
	if c.Sim.ReasoningTokens < 0 {
		ps = append(ps, problem{key: "sim.reasoning_tokens", subject: true, msg: fmt.Sprintf("must not be negative, got %d", c.Sim.ReasoningTokens)})
	}
	switch c.Sim.ReasoningField {
	case "", "reasoning_content", "reasoning", "think":
	default:
		ps = append(ps, problem{key: "sim.reasoning_field", subject: true, msg: fmt.Sprintf("%q is not known (known: reasoning_content, reasoning, think)", c.Sim.ReasoningField)})
	}
	if c.Sim.CloseAfterResponse.D() < 0 {
		ps = append(ps, problem{key: "sim.close_after_response", subject: true, msg: fmt.Sprintf("must not be negative, got %s", c.Sim.CloseAfterResponse.D())})
	}
	if c.MaxRetryAfter.D() < 0 {
		ps = append(ps, problem{key: "max_retry_after", subject: true, msg: fmt.Sprintf("must not be negative, got %s", c.MaxRetryAfter.D())})
	}
	if c.Retries < 0 {
		ps = append(ps, problem{key: "retries", subject: true, msg: fmt.Sprintf("must not be negative, got %d", c.Retries)})
	}
	return ps
}

// baseURLProblem reports a base URL that is not an http(s) URL.
func baseURLProblem(raw string) (problem, bool) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return problem{key: "base_url", subject: true, msg: fmt.Sprintf("%q is not an http(s) URL", RedactURL(raw))}, true
	}
	return problem{}, false
}

// fieldProblems checks the values that need no resolution: the API, the
// concurrency list, the stop conditions and the workload.
func (c *Config) fieldProblems(n namer) []problem {
	var ps []problem
	add := func(key, format string, a ...any) {
		ps = append(ps, problem{key: key, subject: true, msg: fmt.Sprintf(format, a...)})
	}
	switch c.API {
	case "chat", "completions":
	case "embeddings":
		if p := c.Provider; p != "" && p != ProviderOpenAI && p != ProviderSim {
			add("api", "embeddings needs provider openai or sim, not %s", p)
		}
	default:
		add("api", "%q is not known (known: chat, completions, embeddings)", c.API)
	}
	if c.EmbeddingBatch < 0 {
		add("embedding_batch", "must be at least 1, got %d", c.EmbeddingBatch)
	}
	if len(c.Concurrency) == 0 && (orDefault(c.Mode, ModeConcurrency) == ModeConcurrency || c.Sweep == SweepAuto) {
		add("concurrency", "needs a value")
	}
	for _, v := range c.Concurrency {
		if v < 1 {
			add("concurrency", "must be at least 1, got %d", v)
		}
	}
	if c.MaxRequests < 0 {
		add("max_requests", "must not be negative, got %d", c.MaxRequests)
	}
	batchesEnd := (c.Mode == ModeBatchSequential || c.Mode == ModeBatchInterval) && c.Batches > 0
	if c.MaxRequests == 0 && c.Duration == 0 && !batchesEnd {
		ps = append(ps, problem{key: "max_requests", msg: fmt.Sprintf("set %s or %s, or the run never ends", n("max_requests"), n("duration"))})
	}
	if c.Warmup < 0 {
		add("warmup", "must not be negative, got %d", c.Warmup)
	}
	if c.Timeout <= 0 {
		add("timeout", "must be positive")
	}
	ps = append(ps, c.workloadProblems(n)...)
	return ps
}

// Redacted returns a copy safe to write to disk or print: the API key,
// secret-looking headers and URL passwords are replaced.
func (c *Config) Redacted() Config {
	out := *c
	if out.APIKey != "" {
		out.APIKey = "REDACTED"
	}
	out.BaseURL = RedactURL(c.BaseURL)
	out.Providers.EndpointURL = RedactURL(c.Providers.EndpointURL)
	out.SecretValues = nil
	if c.Headers != nil {
		out.Headers = make(map[string]string, len(c.Headers))
		for k, v := range c.Headers {
			if c.IsSecretHeader(k) {
				v = "REDACTED"
			}
			out.Headers[k] = v
		}
	}
	return out
}

// SecretHeader reports whether a header's value may be a credential.
func SecretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"auth", "key", "token", "secret", "cookie", "signature", "credential", "password"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// RedactURL hides the credentials of a URL: a password in its user info
// (a user name alone, which is then a token, too) and the values of
// secret-looking query parameters (key, token, …). The rest is kept as
// the user typed it, unescaped or not; a URL that does not parse loses
// whatever looks like user info.
func RedactURL(raw string) string {
	if raw == "" {
		return raw
	}
	out := raw
	// User info: between "//" and the first "@" before any "/", "?", "#".
	if i := strings.Index(out, "//"); i >= 0 {
		rest := out[i+2:]
		if j := strings.IndexByte(rest, '@'); j >= 0 && !strings.ContainsAny(rest[:j], "/?#") {
			repl := "REDACTED"
			if user, _, hasPass := strings.Cut(rest[:j], ":"); hasPass {
				repl = user + ":REDACTED"
			}
			out = out[:i+2] + repl + rest[j:]
		}
	}
	if q := strings.IndexByte(out, '?'); q >= 0 {
		query, frag := out[q+1:], ""
		if h := strings.IndexByte(query, '#'); h >= 0 {
			query, frag = query[:h], query[h:]
		}
		parts := strings.Split(query, "&")
		for k, p := range parts {
			key, _, ok := strings.Cut(p, "=")
			name, err := url.QueryUnescape(key)
			if err != nil {
				name = key
			}
			if ok && SecretHeader(name) {
				parts[k] = key + "=REDACTED"
			}
		}
		out = out[:q+1] + strings.Join(parts, "&") + frag
	}
	return out
}

// ParseHeader parses "Name: value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		// Never echo the value: it may be a credential.
		return "", "", errors.New("--header wants \"Name: value\"; this one has no colon after its name")
	}
	return name, strings.TrimSpace(value), nil
}

// ParseExtraBody parses a JSON object of body fields.
func ParseExtraBody(s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("extra body %q: want a JSON object, e.g. '{\"top_p\":0.9}'", s)
	}
	return m, nil
}
