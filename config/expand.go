package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Case is one run of an experiment: one endpoint, one prompt mix, one
// load level.
type Case struct {
	// Name says what the case varies, dimension by dimension, e.g.
	// "endpoint=vllm,prompts=chat+docs,c=8". Dimensions the matrix does
	// not vary are left out, except the load level, which is always there
	// (c=N, r=R, rate=auto or batch=N).
	Name string
	// Dir is a file-system-safe form of Name, unique among the cases, for
	// the case's run directory, e.g. "endpoint-vllm_prompts-chat+docs_c-8".
	Dir string
	// Group is Name without the load level: the cases of one group differ
	// only in concurrency or rate and follow each other in level order,
	// so a sweep that stops early (stop_on_error_rate, stop_on_timeout)
	// skips the rest of its group.
	Group string
	// Endpoint is the matrix endpoint's name ("" without matrix endpoints).
	Endpoint string
	// Config is the case's full configuration: exactly one concurrency
	// value (or one rate, or none with sweep auto). Its ResultsDir is the
	// base results_dir joined with Dir when the base gives one; its Name
	// is the base's.
	Config Config
}

// Expand returns the experiment's cases: the cartesian product of the
// matrix's endpoints × prompt mixes × load levels, in that nesting order
// (levels vary fastest). The levels are matrix.concurrency (mode
// concurrency) or matrix.rate (mode rate) if given, else the base
// configuration's concurrency or rate list, each value a case; batch modes
// and sweep auto have one level. An empty dimension means the base
// configuration's value.
//
// Expand reads API keys from the environment variables named by
// api_key_env (through e.Getenv) and fails if one is unset or empty. A
// matrix endpoint that sets its own base_url or provider never inherits
// the base API key: a key goes only to the endpoint it was given for.
func (e *Experiment) Expand() ([]Case, error) { return e.expand(true) }

// ExpandWithoutKeys is Expand without reading api_key_env variables, for
// --dry-run: the cases have no API key, and an unset variable is no error.
func (e *Experiment) ExpandWithoutKeys() ([]Case, error) { return e.expand(false) }

// expand implements Expand; without keys it reads no environment (for
// Plan and --dry-run).
func (e *Experiment) expand(keys bool) ([]Case, error) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	key := func(env, who string) (string, error) {
		if !keys || env == "" {
			return "", nil
		}
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s: api_key_env names %s, which is not set", who, env)
		}
		return v, nil
	}
	b := e.Base
	baseKey, err := key(e.APIKeyEnv, e.Path)
	if err != nil {
		return nil, err
	}
	if baseKey != "" {
		b.APIKey = baseKey
	}

	m := &e.Matrix
	endpoints := m.Endpoints
	if len(endpoints) == 0 {
		endpoints = []Endpoint{{}}
	}
	mixes := m.PromptSets
	labels := mixLabels(mixes)
	if len(mixes) == 0 {
		mixes = [][]PromptSet{nil}
	}
	type level struct {
		part string
		set  func(*Config)
	}
	var levels []level
	switch orDefault(b.Mode, ModeConcurrency) {
	case ModeConcurrency:
		cs := m.Concurrency
		if len(cs) == 0 {
			cs = b.Concurrency
		}
		for _, v := range cs {
			levels = append(levels, level{"c=" + strconv.Itoa(v), func(c *Config) { c.Concurrency = IntList{v} }})
		}
	case ModeRate:
		rs := m.Rate
		if len(rs) == 0 {
			rs = b.Rate
		}
		if b.Sweep == SweepAuto || len(rs) == 0 {
			levels = append(levels, level{"rate=auto", func(c *Config) { c.Rate = nil }})
			break
		}
		for _, r := range rs {
			levels = append(levels, level{"r=" + strconv.FormatFloat(r, 'g', -1, 64), func(c *Config) { c.Rate = FloatList{r} }})
		}
	default:
		bs := m.BatchSize
		if len(bs) == 0 {
			bs = b.BatchSize
		}
		for _, v := range bs {
			levels = append(levels, level{"batch=" + strconv.Itoa(v), func(c *Config) { c.BatchSize = IntList{v} }})
		}
	}

	var cases []Case
	dirs := map[string]bool{}
	for _, ep := range endpoints {
		epCfg := b.clone()
		if ep.Name != "" {
			k, err := key(ep.APIKeyEnv, fmt.Sprintf("%s: matrix endpoint %q", e.Path, ep.Name))
			if err != nil {
				return nil, err
			}
			ep.apply(&epCfg, k)
		}
		for mk, mix := range mixes {
			mixCfg := epCfg.clone()
			if mix != nil {
				mixCfg.PromptSets = slices.Clone(mix)
				mixCfg.Prompt, mixCfg.PromptFile = "", ""
				mixCfg.MeanInputTokens, mixCfg.StddevInputTokens = 0, 0
			}
			var group []string
			if ep.Name != "" {
				group = append(group, "endpoint="+ep.Name)
			}
			if mix != nil {
				group = append(group, "prompts="+labels[mk])
			}
			for _, l := range levels {
				c := mixCfg.clone()
				l.set(&c)
				parts := append(slices.Clone(group), l.part)
				dir := caseDir(parts)
				for n := 2; dirs[dir]; n++ {
					dir = caseDir(parts) + "-" + strconv.Itoa(n)
				}
				dirs[dir] = true
				if b.ResultsDir != "" {
					c.ResultsDir = filepath.Join(b.ResultsDir, dir)
				}
				cases = append(cases, Case{
					Name:     strings.Join(parts, ","),
					Dir:      dir,
					Group:    strings.Join(group, ","),
					Endpoint: ep.Name,
					Config:   c,
				})
			}
		}
	}
	return cases, nil
}

// apply overlays the endpoint on c; key is its API key ("" if none).
func (ep *Endpoint) apply(c *Config, key string) {
	moved := ep.Provider != "" || ep.BaseURL != ""
	if ep.Provider != "" {
		c.Provider = ep.Provider
	} else if ep.BaseURL != "" {
		c.Provider = ProviderOpenAI
	}
	if ep.BaseURL != "" {
		c.BaseURL = ep.BaseURL
	}
	if c.Provider == ProviderSim {
		c.BaseURL = ""
	}
	if ep.Model != "" {
		c.Model = ep.Model
	}
	if moved {
		c.APIKey = "" // never send the base key to another endpoint
	}
	if key != "" {
		c.APIKey = key
	}
	if len(ep.Headers) > 0 {
		if c.Headers == nil {
			c.Headers = map[string]string{}
		}
		maps.Copy(c.Headers, ep.Headers)
	}
	for k, v := range ep.Options {
		setProviderOption(&c.Providers, k, v) // keys were checked by LoadExperiment
	}
	if s := ep.Sim; s != nil {
		if s.Profile != "" {
			c.Sim.Profile = s.Profile
		}
		if s.ProfileFile != "" {
			c.Sim.ProfileFile = s.ProfileFile
		}
		if s.TimeScale != 0 {
			c.Sim.TimeScale = s.TimeScale
		}
		if s.MaxConcurrentRequests != 0 {
			c.Sim.MaxConcurrentRequests = s.MaxConcurrentRequests
		}
	}
}

// clone returns a copy of c that shares no maps or slices with it.
func (c Config) clone() Config {
	c.Headers = maps.Clone(c.Headers)
	c.ExtraBody = maps.Clone(c.ExtraBody)
	c.PromptSets = slices.Clone(c.PromptSets)
	c.Concurrency = slices.Clone(c.Concurrency)
	c.Rate = slices.Clone(c.Rate)
	c.SLOs = slices.Clone(c.SLOs)
	c.Thresholds = slices.Clone(c.Thresholds)
	if c.Temperature != nil {
		t := *c.Temperature
		c.Temperature = &t
	}
	return c
}

// mixLabels names each mix by its sets' names joined with "+"
// ("chat+docs"). Mixes of the same sets in different proportions add the
// weights ("chat80+docs20"); any still alike are numbered ("mix3").
func mixLabels(mixes [][]PromptSet) []string {
	label := func(mix []PromptSet, weights bool) string {
		names := make([]string, len(mix))
		for k, s := range mix {
			names[k] = s.Name
			if weights {
				names[k] += strconv.FormatFloat(s.Weight, 'g', -1, 64)
			}
		}
		return strings.Join(names, "+")
	}
	out := make([]string, len(mixes))
	count := map[string]int{}
	for k, mix := range mixes {
		out[k] = label(mix, false)
		count[out[k]]++
	}
	seen := map[string]bool{}
	for k, mix := range mixes {
		if count[out[k]] > 1 {
			out[k] = label(mix, true)
		}
		if seen[out[k]] {
			out[k] = "mix" + strconv.Itoa(k+1)
		}
		seen[out[k]] = true
	}
	return out
}

// providerOptionKeys are the YAML keys of ProviderOptions, the keys an
// endpoint's options may hold.
func providerOptionKeys() []string {
	return sortedCopy(fieldNames(yamlFields(reflect.TypeFor[ProviderOptions]())))
}

// setProviderOption sets the ProviderOptions field whose YAML key is key,
// parsing value as YAML would; it reports whether key is known and value
// fits.
func setProviderOption(p *ProviderOptions, key, value string) bool {
	idx, ok := yamlFields(reflect.TypeFor[ProviderOptions]())[key]
	if !ok {
		return false
	}
	f := reflect.ValueOf(p).Elem().FieldByIndex(idx)
	if f.Kind() == reflect.String {
		f.SetString(value)
		return true
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	return n.Decode(f.Addr().Interface()) == nil
}

var unsafeDir = regexp.MustCompile(`[^A-Za-z0-9.+_-]+`)

// caseDir makes a directory name of a case's parts: "endpoint=vllm",
// "c=8" become "endpoint-vllm_c-8".
func caseDir(parts []string) string {
	out := make([]string, len(parts))
	for k, p := range parts {
		p = strings.ReplaceAll(p, "=", "-")
		p = strings.Trim(unsafeDir.ReplaceAllString(p, "-"), "-.")
		if p == "" {
			p = "x"
		}
		out[k] = p
	}
	return strings.Join(out, "_")
}
