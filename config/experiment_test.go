package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// writeExperiment writes content to dir/name and returns the path.
func writeExperiment(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// load parses content as "experiment.yaml" or fails the test.
func load(t *testing.T, content string) *Experiment {
	t.Helper()
	e, err := parseExperiment("experiment.yaml", []byte(content))
	if err != nil {
		t.Fatalf("parseExperiment:\n%v", err)
	}
	return e
}

// marshalLikeRundir encodes c as rundir.WriteConfig does.
func marshalLikeRundir(t *testing.T, c *Config) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("# llmload effective configuration (secrets redacted)\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	r := c.Redacted()
	if err := enc.Encode(&r); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	temp := 0.7
	closed := Defaults()
	closed.Name = "closed"
	closed.Provider = ProviderOpenAI
	closed.BaseURL = "http://127.0.0.1:8000/v1"
	closed.APIKey = "sk-secret" // written as REDACTED, read back as none
	closed.Model = "meta-llama/Llama-2-7b-chat-hf"
	closed.IgnoreEOS = true
	closed.Headers = map[string]string{"X-Team": "ml"}
	closed.ExtraBody = map[string]any{"top_p": 0.9, "stop": []any{"\n"}}
	closed.Temperature = &temp
	closed.SystemPrompt = "You are terse."
	closed.Concurrency = IntList{1, 4, 16}
	closed.Duration = Duration(10 * time.Minute)
	closed.Warmup = 5
	closed.StopOnErrorRate = 0.1
	closed.StopOnTimeout = true
	closed.SLOs = []string{"ttft<=500ms", "tpot<=50ms"}
	closed.Thresholds = []string{"ttft_p95<500ms"}
	closed.ResultsDir = "results/closed"
	closed.Providers.Region = "us-east-1" // inline provider options

	open := Defaults()
	open.Provider = ProviderSim
	open.Mode = ModeRate
	open.Rate = FloatList{0.5, 2, 8}
	open.Arrival = ArrivalGamma
	open.Burstiness = 0.5
	open.MaxConcurrency = 64
	open.Ramp = Duration(30 * time.Second)
	open.MeanInputTokens, open.StddevInputTokens = 0, 0
	open.PromptSets = []PromptSet{
		{Name: "chat", Weight: 80, MeanInputTokens: 200, StddevInputTokens: 50},
		{Name: "docs", Weight: 20, PromptFile: filepath.Join(dir, "docs.jsonl"), MeanOutputTokens: 400, SystemPrompt: "Summarise."},
	}
	open.ResultsDir = "results/open"
	open.Sim = SimConfig{Profile: "llama2-7b-a10g", TimeScale: 0.1, MaxConcurrentRequests: 256}

	batch := Defaults()
	batch.Mode = ModeBatchInterval
	batch.BatchSize = IntList{8}
	batch.BatchInterval = Duration(5 * time.Second)
	batch.Batches = 10
	batch.Prompt = "Write a haiku about load testing."
	batch.MeanInputTokens, batch.StddevInputTokens = 0, 0
	batch.API = "completions"
	batch.Stream = false

	auto := Defaults()
	auto.Mode = ModeRate
	auto.Sweep = SweepAuto
	auto.SweepLevels = 6
	auto.PromptFile = filepath.Join(dir, "prompts.jsonl")
	auto.MeanInputTokens, auto.StddevInputTokens = 0, 0

	for _, c := range []Config{closed, open, batch, auto, Defaults()} {
		path := writeExperiment(t, dir, "config.yaml", string(marshalLikeRundir(t, &c)))
		e, err := LoadExperiment(path)
		if err != nil {
			t.Fatalf("LoadExperiment of\n%s\n: %v", marshalLikeRundir(t, &c), err)
		}
		want := c
		want.APIKey = ""
		if !reflect.DeepEqual(e.Base, want) {
			t.Errorf("round trip differs:\n got %+v\nwant %+v\nfile:\n%s", e.Base, want, marshalLikeRundir(t, &c))
		}
	}
}

func TestDefaults(t *testing.T) {
	// The CLI defaults, as documented in docs/experiments.md and the
	// flags' help.
	d := Defaults()
	want := Config{
		Provider: "", API: "chat", Stream: true,
		MeanInputTokens: 550, StddevInputTokens: AutoStddev, MeanOutputTokens: 150, StddevOutputTokens: AutoStddev,
		Seed: 1, Tokenizer: "cl100k_base",
		Mode: "concurrency", Concurrency: IntList{10}, MaxRequests: 100, Timeout: Duration(90 * time.Second),
		Arrival: "poisson", Burstiness: 1, SweepLevels: 10,
		Sim: SimConfig{Profile: "llama2-7b-a10g", TimeScale: 1, MaxConcurrentRequests: 128, PrefixCacheBlocks: 1 << 16},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults() = %+v\nwant %+v", d, want)
	}
	// Each call is a fresh copy.
	d.Concurrency[0] = 99
	if Defaults().Concurrency[0] != 10 {
		t.Error("Defaults shares its Concurrency slice")
	}
	// An empty file, or one of comments, is the defaults.
	for _, content := range []string{"", "# nothing yet\n"} {
		if e := load(t, content); !reflect.DeepEqual(e.Base, want) {
			t.Errorf("%q: Base = %+v, want the defaults", content, e.Base)
		}
	}
	// With the defaults, only the resolved fields are missing.
	d = Defaults()
	d.Provider, d.ResultsDir = ProviderSim, "x"
	if err := d.Validate(); err != nil {
		t.Errorf("Defaults() with a provider and a results dir: %v", err)
	}
}

func TestExperimentErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // the whole error, with "experiment.yaml" as the file
	}{
		{"unknown key with a suggestion", "mode: concurrency\nconcurency: 8\n",
			`experiment.yaml:2: field "concurency" is not known (did you mean "concurrency"?)`},
		{"flag spelling", "max-requests: 8\n",
			`experiment.yaml:1: field "max-requests" is not known (did you mean "max_requests"?)`},
		{"nested unknown key", "sim:\n  profil: x\n",
			`experiment.yaml:2: field "sim.profil" is not known (did you mean "sim.profile"?)`},
		{"unknown matrix key", "matrix:\n  endpoint:\n    - name: a\n",
			`experiment.yaml:2: field "matrix.endpoint" is not known (did you mean "matrix.endpoints"?)`},
		{"bad duration", "name: x\n\ntimeout: soon\n",
			`experiment.yaml:3: timeout: duration "soon": use a number of seconds or a Go duration such as 90s or 2m`},
		{"bad enum", "name: x\nseed: 3\nmode: bursty\n",
			`experiment.yaml:3: mode: "bursty" is not one of concurrency, batch-sequential, batch-interval, rate`},
		{"wrong type", "max_requests: lots\n", `experiment.yaml:1: max_requests: want a whole number, got "lots"`},
		{"wrong type in a list", "concurrency:\n  - 1\n  - two\n",
			`experiment.yaml:3: concurrency: want a whole number or a list of whole numbers, got "two"`},
		{"a list for a string", "model: [a, b]\n", `experiment.yaml:1: model: want a string, got a list`},
		{"literal api_key", "base_url: http://h/v1\napi_key: sk-live-123\n",
			"experiment.yaml:2: api_key: do not write API keys in experiment files; name the environment variable that holds the key with api_key_env (e.g. api_key_env: OPENAI_API_KEY)"},
		{"literal api_key in an endpoint", "matrix:\n  endpoints:\n    - name: a\n      api_key: sk-live-123\n",
			"experiment.yaml:4: matrix.endpoints[0].api_key: do not write API keys in experiment files; name the environment variable that holds the key with api_key_env (e.g. api_key_env: OPENAI_API_KEY)"},
		{"a key in api_key_env", "matrix:\n  endpoints:\n    - name: a\n      api_key_env: sk-live-123\n",
			`experiment.yaml:4: matrix endpoint "a": api_key_env must be the name of an environment variable (letters, digits and _), not a key`},
		{"unknown endpoint option", "matrix:\n  endpoints:\n    - name: a\n      options: {regoin: us-east-1}\n",
			`experiment.yaml:4: matrix endpoint "a": option "regoin" is not known (did you mean "region"?)`},
		{"redacted header", "headers:\n  Authorization: REDACTED\n",
			`experiment.yaml:2: headers.Authorization: header "Authorization" is REDACTED in this file; give its value with --header on the command line`},
		{"duplicate key", "seed: 1\nseed: 2\n", "experiment.yaml:2: seed: the key is given twice (first at line 1)"},
		{"syntax error", "mode: rate\n  rate: 3\n", "experiment.yaml:2: mapping values are not allowed in this context"},
		{"two documents", "seed: 1\n---\nseed: 2\n", "experiment.yaml:2: the file holds more than one YAML document (---); an experiment is one"},
		{"top level a list", "- seed: 1\n", "experiment.yaml:1: the top level must be a mapping of keys (mode: rate, …), not a list"},
		{"several problems, in line order", "mode: rate\nrate: 0\nburstiness: 0.5\n", strings.Join([]string{
			"experiment.yaml:2: rate: must be a positive number of requests per second, got 0",
			"experiment.yaml:3: burstiness: applies only to arrival gamma (got 0.5 with arrival poisson)",
		}, "\n")},
		{"batch needs a size", "mode: batch-interval\nbatch_interval: 5s\n", strings.Join([]string{
			"experiment.yaml:1: batch_size: must be at least 1 with mode batch-interval",
			"experiment.yaml:1: batches: must be at least 1 with mode batch-interval (how many batches to start)",
		}, "\n")},
		{"prompt set problems", "prompt_sets:\n  - name: chat\n    weight: 1\n    mean_input_tokens: 10\n  - name: docs\n    weight: 0\n    mean_input_tokens: -1\n", strings.Join([]string{
			`experiment.yaml:6: prompt set "docs": weight must be a positive number (got 0); give every prompt set of a mix a weight, or none for equal shares`,
			`experiment.yaml:7: prompt set "docs": mean_input_tokens must not be negative (got -1)`,
		}, "\n")},
		{"input lengths with prompt sets", "mean_input_tokens: 300\nprompt_sets:\n  - {name: a, weight: 1, prompt: hi}\n",
			"experiment.yaml:1: mean_input_tokens: has no effect with prompt_sets: give each prompt set its own"},
		{"matrix rate in mode concurrency", "matrix:\n  rate: [1, 2]\n",
			"experiment.yaml:2: matrix.rate: rates need mode rate (mode is concurrency)"},
		{"matrix concurrency zero", "matrix:\n  concurrency: [0, 4]\n", "experiment.yaml:2: matrix.concurrency: must be at least 1, got 0"},
		{"matrix endpoints", "matrix:\n  endpoints:\n    - base_url: http://a/v1\n    - name: b\n      base_url: ftp://b\n    - name: b\n      provider: sim\n", strings.Join([]string{
			`experiment.yaml:3: matrix endpoint 1: name must not be empty`,
			`experiment.yaml:5: matrix endpoint "b": base_url "ftp://b" is not an http(s) URL`,
			`experiment.yaml:6: matrix endpoint "b": the name is used twice; names must be unique`,
		}, "\n")},
		{"matrix prompt mix", "matrix:\n  prompt_sets:\n    - chat\n    - - {name: a, weight: 1, mean_input_tokens: 5}\n      - {name: a, weight: 2, mean_input_tokens: 5}\n", strings.Join([]string{
			`experiment.yaml:3: matrix.prompt_sets[0]: want a prompt mix (a list of prompt sets) or one prompt set, got "chat"`,
			`experiment.yaml:5: matrix prompt mix 2, prompt set "a": the name is used twice; names must be unique`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseExperiment("experiment.yaml", []byte(tt.content))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), "sk-live-123") {
				t.Fatal("the error echoes a key")
			}
		})
	}
}

func TestExperimentAccepts(t *testing.T) {
	// A run directory's config.yaml holds api_key: REDACTED; it loads,
	// without a key.
	e := load(t, "api_key: REDACTED\nbase_url: http://h/v1\n")
	if e.Base.APIKey != "" {
		t.Errorf("APIKey = %q", e.Base.APIKey)
	}
	// sweep auto implies mode rate; an explicit prompt replaces the
	// default input lengths; durations take bare seconds.
	e = load(t, "sweep: auto\nprompt: hello\ntimeout: 30\n")
	if e.Base.Mode != ModeRate || e.Base.MeanInputTokens != 0 || e.Base.StddevInputTokens != 0 || e.Base.Timeout.D() != 30*time.Second {
		t.Errorf("Base = %+v", e.Base)
	}
	if !e.IsSet("sweep") || e.IsSet("mode") {
		t.Error("IsSet is wrong")
	}
	// An explicit mode with sweep auto is an error, not overridden.
	if _, err := parseExperiment("x.yaml", []byte("mode: concurrency\nsweep: auto\n")); err == nil ||
		!strings.Contains(err.Error(), "x.yaml:2: sweep: auto measures rates: it needs mode rate") {
		t.Errorf("err = %v", err)
	}
	// Endpoint options set the inline provider options of their cases.
	e = load(t, "region: eu-west-1\nmatrix:\n  endpoints:\n    - {name: a, provider: sagemaker, options: {endpoint_name: ep-1}}\n")
	cases, err := e.Expand()
	if err != nil {
		t.Fatal(err)
	}
	if p := cases[0].Config.Providers; p.Region != "eu-west-1" || p.EndpointName != "ep-1" || cases[0].Config.Provider != "sagemaker" {
		t.Errorf("provider options = %+v", p)
	}
	// YAML anchors and merge keys work.
	e = load(t, "matrix:\n  endpoints:\n    - &a {name: a, base_url: 'http://a/v1', headers: {X-Team: ml}}\n    - {<<: *a, name: b, model: m}\n")
	if eps := e.Matrix.Endpoints; len(eps) != 2 || eps[1].BaseURL != "http://a/v1" || eps[1].Headers["X-Team"] != "ml" || eps[1].Model != "m" {
		t.Errorf("endpoints = %+v", eps)
	}
}

func TestRelativePromptFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "exp")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := writeExperiment(t, dir, "experiment.yaml", `
prompt_file: prompts/a.jsonl
matrix:
  prompt_sets:
    - {name: docs, weight: 1, prompt_file: ../docs.jsonl}
    - - {name: abs, weight: 1, prompt_file: /data/abs.jsonl}
`)
	if _, err := LoadExperiment(path); err == nil {
		t.Fatal("prompt_file with matrix.prompt_sets: want an error")
	}
	path = writeExperiment(t, dir, "experiment.yaml", `
prompt_file: prompts/a.jsonl
`)
	e, err := LoadExperiment(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "prompts", "a.jsonl"); e.Base.PromptFile != want {
		t.Errorf("PromptFile = %q, want %q", e.Base.PromptFile, want)
	}
	path = writeExperiment(t, dir, "experiment.yaml", `
prompt_sets:
  - {name: chat, weight: 3, mean_input_tokens: 100}
  - {name: local, weight: 1, prompt_file: local.jsonl}
matrix:
  prompt_sets:
    - {name: docs, weight: 1, prompt_file: ../docs.jsonl}
    - - {name: abs, weight: 1, prompt_file: /data/abs.jsonl}
`)
	if _, err = LoadExperiment(path); err == nil || !strings.Contains(err.Error(), "experiment.yaml:2: prompt_sets: has no effect with matrix.prompt_sets") {
		t.Fatalf("err = %v", err)
	}
	path = writeExperiment(t, dir, "experiment.yaml", `
matrix:
  prompt_sets:
    - {name: docs, weight: 1, prompt_file: ../docs.jsonl}
    - - {name: abs, weight: 1, prompt_file: /data/abs.jsonl}
      - {name: local, weight: 1, prompt_file: local.jsonl}
`)
	if e, err = LoadExperiment(path); err != nil {
		t.Fatal(err)
	}
	got := []string{e.Matrix.PromptSets[0][0].PromptFile, e.Matrix.PromptSets[1][0].PromptFile, e.Matrix.PromptSets[1][1].PromptFile}
	want := []string{filepath.Join(filepath.Dir(dir), "docs.jsonl"), "/data/abs.jsonl", filepath.Join(dir, "local.jsonl")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prompt files = %q, want %q", got, want)
	}
	if _, err := LoadExperiment(filepath.Join(dir, "missing.yaml")); err == nil || !strings.HasPrefix(err.Error(), "reading experiment file: ") {
		t.Errorf("missing file: %v", err)
	}
}

// TestPromptSetsWithoutWeights: a single prompt set needs no weight (as
// docs/experiments.md shows), and a mix without weights shares equally.
func TestPromptSetsWithoutWeights(t *testing.T) {
	tests := []struct {
		name, content string
		sets          int
	}{
		// The documented single bare set of a matrix, no weight.
		{"matrix single set", "matrix:\n  prompt_sets:\n    - name: chat\n      mean_input_tokens: 550\n", 1},
		// A top-level mix of one.
		{"top-level single set", "prompt_sets:\n  - {name: chat, mean_input_tokens: 10}\n", 1},
		// Two sets, no weights: equal shares.
		{"equal shares", "prompt_sets:\n  - {name: a, mean_input_tokens: 10}\n  - {name: b, mean_input_tokens: 20}\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseExperiment("experiment.yaml", []byte(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			cases, err := e.Expand()
			if err != nil {
				t.Fatal(err)
			}
			sets := cases[0].Config.EffectivePromptSets()
			if len(sets) != tt.sets {
				t.Fatalf("%d sets, want %d", len(sets), tt.sets)
			}
			for _, s := range sets {
				if s.Weight != 1 {
					t.Errorf("set %q: weight %g, want 1", s.Name, s.Weight)
				}
			}
		})
	}
}
