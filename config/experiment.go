package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Experiment is an experiment file (`llmload run -f experiment.yaml`): a
// base configuration and a matrix of variations to run it under. See
// docs/experiments.md.
type Experiment struct {
	// Path is the file it was loaded from, as given.
	Path string
	// Base is Defaults() overlaid with the file's top-level keys. Relative
	// prompt_file paths are already resolved against the file's directory.
	Base Config
	// Matrix lists the variations; Expand multiplies them out.
	Matrix Matrix
	// APIKeyEnv is the top-level api_key_env: the name of the environment
	// variable holding the base endpoint's API key ("" if not given).
	APIKeyEnv string
	// Getenv reads environment variables for api_key_env; nil means
	// os.Getenv. Tests and the CLI may inject their own.
	Getenv func(string) string

	// lines maps the YAML path of every key in the file ("mode",
	// "sim.profile", "matrix.endpoints[1].name") to its line.
	lines map[string]int
}

// Matrix is the variations of an experiment. Expand runs the cartesian
// product of its dimensions; an empty dimension means the base
// configuration's value.
type Matrix struct {
	// PromptSets lists prompt mixes; each entry is one mix (a list of
	// weighted sets) or, in YAML, a single bare set (a mix of one).
	PromptSets [][]PromptSet `yaml:"prompt_sets"`
	// Concurrency lists closed-loop concurrency levels (mode concurrency).
	Concurrency IntList `yaml:"concurrency"`
	// Rate lists open-loop arrival rates, requests per second (mode rate).
	Rate FloatList `yaml:"rate"`
	// BatchSize lists batch sizes (modes batch-sequential and
	// batch-interval), e.g. the interval-batch study's 1, 10, 30, 50.
	BatchSize IntList `yaml:"batch_size"`
	// Endpoints lists the endpoints to compare.
	Endpoints []Endpoint `yaml:"endpoints"`
}

// Endpoint is one endpoint of a matrix. Its non-empty fields replace the
// base configuration's.
type Endpoint struct {
	// Name identifies the endpoint in case names and directories; it must
	// be unique and not empty.
	Name string `yaml:"name"`
	// Provider is the provider kind (openai, sim, …). Empty: openai if
	// BaseURL is set, else the base configuration's.
	Provider string `yaml:"provider,omitempty"`
	BaseURL  string `yaml:"base_url,omitempty"`
	Model    string `yaml:"model,omitempty"`
	// APIKeyEnv names the environment variable that holds the endpoint's
	// API key. Experiment files never hold keys: a literal api_key is an
	// error.
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	// Headers are added to (and override) the base configuration's.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Options are provider-specific settings, keyed by the YAML names of
	// ProviderOptions (region, endpoint_url, endpoint_name, bedrock_api,
	// …); each replaces the base configuration's value.
	Options map[string]string `yaml:"options,omitempty"`
	// Sim overrides the base simulator settings for a provider sim
	// endpoint; its zero fields keep the base values.
	Sim *SimConfig `yaml:"sim,omitempty"`
}

// LoadExperiment reads an experiment file: YAML whose top-level keys are
// Config's YAML keys (every flag has one), plus matrix and api_key_env.
// It starts from Defaults() and overlays the file. Decoding is strict:
// unknown keys, values of the wrong type and invalid settings are errors,
// all reported at once, one line each, each naming the file, the line and
// the key, e.g.
//
//	experiment.yaml:12: field "concurency" is not known (did you mean "concurrency"?)
//	experiment.yaml:7: timeout: duration "soon": use a number of seconds or a Go duration such as 90s or 2m
//	experiment.yaml:3: mode: "bursty" is not one of concurrency, batch-sequential, batch-interval, rate
//
// Relative prompt_file paths resolve against the file's directory. The
// settings the CLI resolves (provider, base URL, model, results_dir) are
// checked later, by Config.Validate on each expanded case.
func LoadExperiment(path string) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading experiment file: %w", err)
	}
	return parseExperiment(path, data)
}

// parseExperiment implements LoadExperiment on the file's contents.
func parseExperiment(path string, data []byte) (*Experiment, error) {
	e := &Experiment{Path: path, Base: Defaults(), lines: map[string]int{}}
	d := &decoder{file: path, lines: e.lines}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return e, nil // an empty file: the defaults
		}
		return nil, d.syntaxError(err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, fmt.Errorf("%s:%d: the file holds more than one YAML document (---); an experiment is one", path, more.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, d.syntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return e, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the top level must be a mapping of keys (mode: rate, …), not %s", path, root.Line, nodeKind(root))
	}

	d.decodeMapping(root, "", reflectValue(&e.Base), func(key string, k, v *yaml.Node) bool {
		switch key {
		case "matrix":
			d.decodeMapping(v, "matrix", reflectValue(&e.Matrix), nil)
		case "api_key_env":
			d.decodeInto(v, "api_key_env", reflectValue(&e.APIKeyEnv))
		case "api_key":
			// A run directory's config.yaml holds "REDACTED"; it may be
			// re-run as an experiment, with the key from the environment.
			if v.Kind != yaml.ScalarNode || (v.Value != "" && v.Value != "REDACTED" && v.Tag != "!!null") {
				d.errorf(k.Line, "api_key: do not write API keys in experiment files; name the environment variable that holds the key with api_key_env (e.g. api_key_env: OPENAI_API_KEY)")
			}
		default:
			return false
		}
		return true
	}, "matrix", "api_key_env")

	e.resolvePaths(filepath.Dir(path))
	e.applyImplied()
	// Validate even after decoding errors (a field that failed keeps its
	// default), so one pass reports every problem.
	d.errs = append(d.errs, e.check()...)
	if err := d.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// IsSet reports whether the file gives the top-level key ("mode",
// "ignore_eos") or a nested one ("sim.profile"). The CLI uses it as it
// uses the flags a user gave: to apply defaults that depend on whether a
// setting was chosen (ignore_eos for the simulator, say).
func (e *Experiment) IsSet(key string) bool {
	_, ok := e.lines[key]
	return ok
}

// resolvePaths makes relative prompt_file paths relative to dir.
func (e *Experiment) resolvePaths(dir string) {
	fix := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	fix(&e.Base.PromptFile)
	fix(&e.Base.Dataset)
	for k := range e.Base.PromptSets {
		fix(&e.Base.PromptSets[k].PromptFile)
	}
	for _, mix := range e.Matrix.PromptSets {
		for k := range mix {
			fix(&mix[k].PromptFile)
		}
	}
}

// applyImplied applies the defaults that depend on other settings, as the
// CLI does for flags: sweep auto implies mode rate, and an explicit prompt
// or prompt file replaces the default synthetic input lengths.
func (e *Experiment) applyImplied() {
	b := &e.Base
	if b.Sweep == SweepAuto && !e.IsSet("mode") {
		b.Mode = ModeRate
	}
	if (b.Prompt != "" || b.PromptFile != "" || b.Dataset != "" || len(b.PromptSets) > 0 || len(e.Matrix.PromptSets) > 0) &&
		!e.IsSet("mean_input_tokens") && !e.IsSet("stddev_input_tokens") {
		b.MeanInputTokens, b.StddevInputTokens = 0, 0
	}
}

// check validates the decoded experiment; every problem has its line.
func (e *Experiment) check() []lineError {
	b := &e.Base
	ps := b.fieldProblems(yamlName)
	if b.BaseURL != "" {
		if p, bad := baseURLProblem(b.BaseURL); bad {
			ps = append(ps, p)
		}
	}
	// The shape as the cases will have it: matrix rates stand in for the
	// base's (their own problems are checked below).
	shape := *b
	if len(e.Matrix.Rate) > 0 && len(shape.Rate) == 0 && shape.Mode == ModeRate {
		shape.Rate = FloatList{1}
	}
	if len(e.Matrix.BatchSize) > 0 && len(shape.BatchSize) == 0 {
		shape.BatchSize = IntList{1}
	}
	ps = append(ps, shape.shapeProblems(yamlName)...)
	ps = append(ps, headerProblems(b.Headers, "headers")...)
	if e.APIKeyEnv != "" && !envName.MatchString(e.APIKeyEnv) {
		ps = append(ps, problem{key: "api_key_env", subject: true, msg: envNameMsg})
	}

	// Settings that a prompt mix would silently replace.
	if len(b.PromptSets) > 0 || len(e.Matrix.PromptSets) > 0 {
		by := "prompt_sets"
		if len(b.PromptSets) == 0 {
			by = "matrix.prompt_sets"
		}
		for _, f := range []struct {
			key string
			v   int
		}{{"mean_input_tokens", b.MeanInputTokens}, {"stddev_input_tokens", b.StddevInputTokens}} {
			if key := f.key; e.IsSet(key) && f.v != 0 { // 0 is what config.yaml of a mix holds
				ps = append(ps, problem{key: key, msg: fmt.Sprintf("has no effect with %s: give each prompt set its own", by)})
			}
		}
		if len(e.Matrix.PromptSets) > 0 {
			for _, key := range []string{"prompt", "prompt_file", "prompt_sets"} {
				if e.IsSet(key) {
					ps = append(ps, problem{key: key, msg: "has no effect with matrix.prompt_sets, which replaces the workload in every case"})
				}
			}
		}
	}

	// The matrix.
	m := &e.Matrix
	mode := orDefault(b.Mode, ModeConcurrency)
	if len(m.Concurrency) > 0 && mode != ModeConcurrency {
		ps = append(ps, problem{key: "matrix.concurrency", msg: fmt.Sprintf("concurrency levels need mode %s (mode is %s)", ModeConcurrency, mode)})
	}
	for _, v := range m.Concurrency {
		if v < 1 {
			ps = append(ps, problem{key: "matrix.concurrency", msg: fmt.Sprintf("must be at least 1, got %d", v)})
		}
	}
	batchMode := mode == ModeBatchSequential || mode == ModeBatchInterval
	if len(m.BatchSize) > 0 && !batchMode {
		ps = append(ps, problem{key: "matrix.batch_size", msg: fmt.Sprintf("batch sizes need mode %s or %s (mode is %s)", ModeBatchSequential, ModeBatchInterval, mode)})
	}
	for _, v := range m.BatchSize {
		if v < 1 {
			ps = append(ps, problem{key: "matrix.batch_size", msg: fmt.Sprintf("must be at least 1, got %d", v)})
		}
	}
	if len(m.BatchSize) > 0 && e.IsSet("batch_size") && len(b.BatchSize) > 1 {
		ps = append(ps, problem{key: "matrix.batch_size", msg: "the top-level batch_size list and matrix.batch_size cannot both sweep; keep one"})
	}
	if len(m.Rate) > 0 {
		switch {
		case mode != ModeRate:
			ps = append(ps, problem{key: "matrix.rate", msg: fmt.Sprintf("rates need mode %s (mode is %s)", ModeRate, mode)})
		case b.Sweep == SweepAuto:
			ps = append(ps, problem{key: "matrix.rate", msg: "cannot be used with sweep auto, which chooses the rates"})
		case len(b.Rate) > 0:
			ps = append(ps, problem{key: "matrix.rate", msg: "the top-level rate and matrix.rate cannot both be given; keep one"})
		}
	}
	if len(m.Concurrency) > 0 && e.IsSet("concurrency") && len(b.Concurrency) > 1 {
		ps = append(ps, problem{key: "matrix.concurrency", msg: "the top-level concurrency list and matrix.concurrency cannot both sweep; keep one"})
	}
	for _, r := range m.Rate {
		if !(r > 0) || r > 1e300 {
			ps = append(ps, problem{key: "matrix.rate", msg: fmt.Sprintf("must be a positive number of requests per second, got %g", r)})
		}
	}
	for k, mix := range m.PromptSets {
		if mix == nil {
			continue // it failed to decode, which was reported
		}
		ps = append(ps, mixProblems(mix, fmt.Sprintf("matrix.prompt_sets[%d]", k), fmt.Sprintf("matrix prompt mix %d", k+1), yamlName)...)
	}
	seen := map[string]bool{}
	for k, ep := range m.Endpoints {
		at := fmt.Sprintf("matrix.endpoints[%d]", k)
		label := fmt.Sprintf("matrix endpoint %q", ep.Name)
		add := func(field, format string, a ...any) {
			ps = append(ps, problem{key: at + "." + field, label: label, msg: fmt.Sprintf(format, a...)})
		}
		switch {
		case ep.Name == "":
			label = fmt.Sprintf("matrix endpoint %d", k+1)
			add("name", "name must not be empty")
		case seen[ep.Name]:
			add("name", "the name is used twice; names must be unique")
		}
		seen[ep.Name] = true
		if ep.BaseURL != "" {
			if p, bad := baseURLProblem(ep.BaseURL); bad {
				add("base_url", "base_url %s", p.msg)
			}
			if ep.Provider == ProviderSim {
				add("base_url", "base_url cannot be used with provider sim (the simulator runs in process)")
			}
		}
		if ep.APIKeyEnv != "" && !envName.MatchString(ep.APIKeyEnv) {
			add("api_key_env", "api_key_env %s", envNameMsg)
		}
		for _, p := range headerProblems(ep.Headers, at+".headers") {
			p.label = label
			ps = append(ps, p)
		}
		for _, name := range slices.Sorted(maps.Keys(ep.Options)) {
			var probe ProviderOptions
			if setProviderOption(&probe, name, ep.Options[name]) {
				continue
			}
			known := providerOptionKeys()
			msg := fmt.Sprintf("option %q is not known (known: %s)", name, strings.Join(known, ", "))
			if !slices.Contains(known, name) {
				if s := suggest(name, known); s != "" {
					msg = fmt.Sprintf("option %q is not known (did you mean %q?)", name, s)
				}
			} else {
				msg = fmt.Sprintf("option %q: %q is not a valid value", name, ep.Options[name])
			}
			add("options."+name, "%s", msg)
		}
		if ep.Sim != nil && ep.Sim.TimeScale < 0 {
			add("sim.time_scale", "sim.time_scale must be positive, got %g", ep.Sim.TimeScale)
		}
		if ep.Sim != nil && ep.Provider != ProviderSim && (ep.Provider != "" || ep.BaseURL != "") {
			add("sim", "sim applies only to provider sim")
		}
	}
	out := make([]lineError, len(ps))
	for k, p := range ps {
		l := e.line(p.key)
		if l == 0 && p.also != "" {
			l = e.line(p.also)
		}
		out[k] = lineError{l, p.yamlText()}
	}
	return out
}

// envName is what an environment variable's name looks like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envNameMsg never echoes the value: it may be a key pasted in the wrong
// place.
const envNameMsg = "must be the name of an environment variable (letters, digits and _), not a key"

// headerProblems rejects redacted header values: a run directory's
// config.yaml holds "REDACTED" where a credential was, and sending that
// would fail every request.
func headerProblems(h map[string]string, key string) []problem {
	var names []string
	for k, v := range h {
		if v == "REDACTED" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	ps := make([]problem, len(names))
	for k, name := range names {
		ps[k] = problem{key: key + "." + name, msg: fmt.Sprintf("header %q is REDACTED in this file; give its value with --header on the command line", name)}
	}
	return ps
}

// line returns the line of key, or of its nearest parent that the file
// gives, or 0.
func (e *Experiment) line(key string) int {
	for key != "" {
		if l, ok := e.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}
