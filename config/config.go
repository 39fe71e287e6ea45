// Package config holds the effective configuration of a run: what the CLI
// flags (and, later, experiment files) resolve to, its validation, and the
// redacted copy written to a run directory's config.yaml.
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
	ProviderOpenAI = "openai" // any OpenAI-compatible endpoint
	ProviderSim    = "sim"    // the built-in simulated endpoint, in process
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
	// API is "chat" or "completions".
	API       string            `yaml:"api"`
	Stream    bool              `yaml:"stream"`
	IgnoreEOS bool              `yaml:"ignore_eos"`
	Headers   map[string]string `yaml:"headers,omitempty"`
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
	Tokenizer          string `yaml:"tokenizer"`

	Concurrency int      `yaml:"concurrency"`
	MaxRequests int      `yaml:"max_requests"`
	Duration    Duration `yaml:"duration,omitempty"`
	Warmup      int      `yaml:"warmup"`
	Timeout     Duration `yaml:"timeout"`

	ResultsDir string `yaml:"results_dir"`

	// Sim configures the built-in simulated endpoint (provider "sim").
	Sim SimConfig `yaml:"sim,omitempty"`
}

// SimConfig configures the in-process simulated endpoint.
type SimConfig struct {
	Profile               string  `yaml:"profile,omitempty"`
	TimeScale             float64 `yaml:"time_scale,omitempty"`
	MaxConcurrentRequests int     `yaml:"max_concurrent_requests,omitempty"`
}

// Validate returns every problem found, joined; each is one sentence
// naming the flag.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Provider {
	case ProviderOpenAI:
		if c.BaseURL == "" {
			add("--base-url is required for provider openai (or set OPENAI_BASE_URL)")
		} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("--base-url %q is not an http(s) URL", RedactURL(c.BaseURL))
		}
		if c.Model == "" {
			add("--model is required for provider openai")
		}
	case ProviderSim:
		if c.Sim.TimeScale <= 0 {
			add("--sim-time-scale must be positive, got %g", c.Sim.TimeScale)
		}
	default:
		add("--provider %q is not known (known: openai, sim)", c.Provider)
	}
	if c.API != "chat" && c.API != "completions" {
		add("--api %q is not known (known: chat, completions)", c.API)
	}
	if c.Concurrency < 1 {
		add("--concurrency must be at least 1, got %d", c.Concurrency)
	}
	if c.MaxRequests < 0 {
		add("--max-requests must not be negative, got %d", c.MaxRequests)
	}
	if c.MaxRequests == 0 && c.Duration == 0 {
		add("set --max-requests or --duration, or the run never ends")
	}
	if c.Warmup < 0 {
		add("--warmup must not be negative, got %d", c.Warmup)
	}
	if c.Timeout <= 0 {
		add("--timeout must be positive")
	}
	if c.ResultsDir == "" {
		add("--results-dir must not be empty")
	}
	return errors.Join(errs...)
}

// Redacted returns a copy safe to write to disk or print: the API key,
// secret-looking headers and URL passwords are replaced.
func (c *Config) Redacted() Config {
	out := *c
	if out.APIKey != "" {
		out.APIKey = "REDACTED"
	}
	out.BaseURL = RedactURL(c.BaseURL)
	if c.Headers != nil {
		out.Headers = make(map[string]string, len(c.Headers))
		for k, v := range c.Headers {
			if SecretHeader(k) {
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

// RedactURL hides a password in a URL's user info and secret-looking query
// parameters.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	changed := false
	for k := range q {
		if SecretHeader(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
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
