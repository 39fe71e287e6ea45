package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Load modes (Config.Mode). An empty Mode means ModeConcurrency.
const (
	ModeConcurrency     = "concurrency"      // closed loop: N workers
	ModeBatchSequential = "batch-sequential" // a batch of N; the next when all N ended
	ModeBatchInterval   = "batch-interval"   // a batch of N every batch_interval
	ModeRate            = "rate"             // open loop: arrivals at a rate
)

// Arrival processes (Config.Arrival) of mode rate. An empty Arrival means
// ArrivalPoisson.
const (
	ArrivalConstant = "constant"
	ArrivalPoisson  = "poisson"
	ArrivalGamma    = "gamma"
)

// SweepAuto is the Sweep value that chooses a rate mode sweep's levels
// itself: it measures the synchronous baseline and the maximum throughput
// and places SweepLevels rates between them. It implies mode rate:
// LoadExperiment sets mode rate when a file gives sweep auto and no mode,
// and the CLI should do the same when --mode is not given.
const SweepAuto = "auto"

// problem is one validation finding. It is rendered for the command line
// ("--mode \"bursty\" is not one of …") or for a file, with the line of
// the key at fault ("experiment.yaml:3: mode: \"bursty\" is not one of …").
type problem struct {
	// key is the YAML path of the field at fault: "mode",
	// "sim.time_scale", "prompt_sets[1].weight". It finds the line.
	key string
	// label, if set, is the sentence's subject in both renderings
	// (`prompt set "docs"`), followed by ": ".
	label string
	// subject means msg continues the field's name: "--mode " + msg.
	subject bool
	msg     string
	// also is a key whose line to give when the file does not give key
	// (a setting missing for the mode points at the mode).
	also string
}

// namer names a field in a message: as its flag or as its YAML key.
type namer func(key string) string

// flagName is the flag that sets a YAML key: "sim.time_scale" is
// --sim-time-scale, "max_requests" is --max-requests.
func flagName(key string) string {
	if key == "prompt_sets" {
		return "--prompt-set" // repeated, one set each
	}
	return "--" + strings.NewReplacer("_", "-", ".", "-").Replace(key)
}

// yamlName is the key itself.
func yamlName(key string) string { return key }

// flagText renders p for the command line.
func (p problem) flagText() string {
	switch {
	case p.label != "":
		return p.label + ": " + p.msg
	case p.subject:
		return flagName(p.key) + " " + p.msg
	}
	return p.msg
}

// yamlText renders p for a file, without the position.
func (p problem) yamlText() string {
	if p.label != "" {
		return p.label + ": " + p.msg
	}
	return p.key + ": " + p.msg
}

// flagErrors joins the problems' command-line renderings, one line each.
func flagErrors(ps []problem) error {
	errs := make([]error, len(ps))
	for k, p := range ps {
		errs[k] = errors.New(p.flagText())
	}
	return errors.Join(errs...)
}

// ValidateShape checks the load-shape fields: the mode and the settings
// it needs (batch size and count, batch interval, rates, arrival process,
// burstiness, concurrency cap, ramp), sweeps, the stop-on-error rate, and
// that SLO and threshold expressions are not empty (package analysis
// parses them). It returns every problem, joined, one line each, naming
// the flag. Settings that the mode would ignore are errors too: llmload
// does not drop a setting silently.
func (c *Config) ValidateShape() error {
	return flagErrors(c.shapeProblems(flagName))
}

// shapeProblems implements ValidateShape; n names fields inside messages.
func (c *Config) shapeProblems(n namer) []problem {
	var ps []problem
	add := func(key, format string, a ...any) {
		ps = append(ps, problem{key: key, subject: true, msg: fmt.Sprintf(format, a...), also: "mode"})
	}
	mode := c.Mode
	if mode == "" {
		mode = ModeConcurrency
	}
	switch mode {
	case ModeConcurrency, ModeBatchSequential, ModeBatchInterval, ModeRate:
	default:
		add("mode", "%q is not one of %s, %s, %s, %s", c.Mode, ModeConcurrency, ModeBatchSequential, ModeBatchInterval, ModeRate)
		mode = "" // check nothing that depends on it
	}
	batch := mode == ModeBatchSequential || mode == ModeBatchInterval

	// Closed loop.
	if len(c.Concurrency) > 1 && mode != ModeConcurrency && mode != "" {
		add("concurrency", "has several values (%s), a sweep, which needs %s %s", c.Concurrency, n("mode"), ModeConcurrency)
	}

	// Batches.
	for _, v := range c.BatchSize {
		if v < 0 {
			add("batch_size", "must not be negative, got %d", v)
		}
	}
	if c.Batches < 0 {
		add("batches", "must not be negative, got %d", c.Batches)
	}
	switch {
	case batch:
		if len(c.BatchSize) == 0 || slices.Min(c.BatchSize) < 1 {
			add("batch_size", "must be at least 1 with %s %s", n("mode"), mode)
		}
		if mode == ModeBatchInterval {
			if c.BatchInterval <= 0 {
				add("batch_interval", "must be positive with %s %s", n("mode"), mode)
			}
			if c.Batches < 1 {
				add("batches", "must be at least 1 with %s %s (how many batches to start)", n("mode"), mode)
			}
		} else {
			if c.Batches < 1 && c.MaxRequests < 1 {
				add("batches", "must be at least 1 with %s %s, unless %s is set", n("mode"), mode, n("max_requests"))
			}
			if c.BatchInterval != 0 {
				add("batch_interval", "applies only to %s %s", n("mode"), ModeBatchInterval)
			}
		}
	case mode != "":
		for _, f := range []struct {
			key string
			set bool
		}{{"batch_size", len(c.BatchSize) > 0 && slices.Max(c.BatchSize) > 0}, {"batch_interval", c.BatchInterval != 0}, {"batches", c.Batches > 0}} {
			if f.set {
				add(f.key, "applies only to %s %s or %s", n("mode"), ModeBatchSequential, ModeBatchInterval)
			}
		}
	}

	// Open loop.
	auto := c.Sweep == SweepAuto
	for _, r := range c.Rate {
		if !(r > 0) || math.IsInf(r, 0) {
			add("rate", "must be a positive number of requests per second, got %g", r)
		}
	}
	if c.MaxConcurrency < 0 {
		add("max_concurrency", "must not be negative, got %d", c.MaxConcurrency)
	}
	if math.IsNaN(c.Burstiness) || c.Burstiness < 0 {
		add("burstiness", "must be positive, got %g", c.Burstiness)
	}
	switch {
	case mode == ModeRate:
		if len(c.Rate) == 0 && !auto {
			add("rate", "needs a value with %s %s (requests per second), or use %s %s", n("mode"), ModeRate, n("sweep"), SweepAuto)
		}
		if len(c.Rate) > 0 && auto {
			add("rate", "cannot be used with %s %s, which chooses the rates", n("sweep"), SweepAuto)
		}
		switch c.Arrival {
		case "", ArrivalPoisson, ArrivalConstant:
			if c.Burstiness != 0 && c.Burstiness != 1 {
				add("burstiness", "applies only to %s %s (got %g with %s %s)", n("arrival"), ArrivalGamma, c.Burstiness, n("arrival"), orDefault(c.Arrival, ArrivalPoisson))
			}
		case ArrivalGamma:
			if c.Burstiness == 0 {
				add("burstiness", "must be positive with %s %s (1 is Poisson; below 1 is burstier)", n("arrival"), ArrivalGamma)
			}
		default:
			add("arrival", "%q is not one of %s, %s, %s", c.Arrival, ArrivalConstant, ArrivalPoisson, ArrivalGamma)
		}
	case mode != "":
		if len(c.Rate) > 0 {
			add("rate", "needs %s %s (mode is %s)", n("mode"), ModeRate, mode)
		}
		if c.Arrival != "" && c.Arrival != ArrivalPoisson {
			add("arrival", "applies only to %s %s (mode is %s)", n("mode"), ModeRate, mode)
		}
		if c.Burstiness != 0 && c.Burstiness != 1 {
			add("burstiness", "applies only to %s %s with %s %s", n("mode"), ModeRate, n("arrival"), ArrivalGamma)
		}
		if c.MaxConcurrency > 0 {
			add("max_concurrency", "applies only to %s %s; in mode %s, %s is the cap", n("mode"), ModeRate, mode, n("concurrency"))
		}
	}

	if c.Ramp < 0 {
		add("ramp", "must not be negative")
	} else if c.Ramp > 0 && batch {
		add("ramp", "applies only to %s %s or %s", n("mode"), ModeConcurrency, ModeRate)
	}

	// Sweeps and stop conditions.
	switch c.Sweep {
	case "":
	case SweepAuto:
		if mode != ModeRate && mode != "" {
			add("sweep", "%s measures rates: it needs %s %s (or leave %s unset; got %s)", SweepAuto, n("mode"), ModeRate, n("mode"), mode)
		}
		if c.SweepLevels < 1 {
			add("sweep_levels", "must be at least 1 with %s %s, got %d", n("sweep"), SweepAuto, c.SweepLevels)
		}
	default:
		add("sweep", "%q is not known: leave it empty (give several %s or %s values for a sweep) or use %s", c.Sweep, n("concurrency"), n("rate"), SweepAuto)
	}
	if c.SweepLevels < 0 {
		add("sweep_levels", "must not be negative, got %d", c.SweepLevels)
	}
	if math.IsNaN(c.StopOnErrorRate) || c.StopOnErrorRate < 0 || c.StopOnErrorRate >= 1 {
		add("stop_on_error_rate", "must be at least 0 and below 1 (a fraction: 0.1 is 10%%), got %g", c.StopOnErrorRate)
	}
	if math.IsNaN(c.PricePerHour) || math.IsInf(c.PricePerHour, 0) || c.PricePerHour < 0 {
		add("price_per_hour", "must be a number ≥ 0, got %g", c.PricePerHour)
	}
	if c.Instances < 0 {
		add("instances", "must not be negative, got %d", c.Instances)
	}
	if c.Duration < 0 {
		add("duration", "must not be negative")
	}
	for k, s := range c.SLOs {
		if strings.TrimSpace(s) == "" {
			add("slo", "%d is empty; write an objective such as ttft<=500ms", k+1)
		}
	}
	for k, s := range c.Thresholds {
		if strings.TrimSpace(s) == "" {
			add("threshold", "%d is empty; write a check such as ttft_p95<500ms", k+1)
		}
	}
	return ps
}

// orDefault returns s, or def if s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// workloadProblems checks the single workload's lengths and the prompt
// sets (their names, weights and each set's own workload), with the rules
// of workload.Options.Validate.
func (c *Config) workloadProblems(n namer) []problem {
	var ps []problem
	for _, f := range []struct {
		key string
		v   int
	}{
		{"mean_input_tokens", c.MeanInputTokens},
		{"stddev_input_tokens", c.StddevInputTokens},
		{"mean_output_tokens", c.MeanOutputTokens},
		{"stddev_output_tokens", c.StddevOutputTokens},
	} {
		if f.v < 0 && !(f.v == AutoStddev && strings.HasPrefix(f.key, "stddev")) {
			ps = append(ps, problem{key: f.key, subject: true, msg: fmt.Sprintf("must not be negative (got %d)", f.v)})
		}
	}
	ps = append(ps, c.sessionProblems(n)...)
	if len(c.PromptSets) > 0 {
		for _, key := range []string{"prompt", "prompt_file"} {
			if (key == "prompt" && c.Prompt != "") || (key == "prompt_file" && c.PromptFile != "") {
				ps = append(ps, problem{key: key, msg: fmt.Sprintf("cannot be used with %s, which replaces the single workload: give the prompt set its own %s", n("prompt_sets"), n(key))})
			}
		}
		ps = append(ps, mixProblems(c.PromptSets, "prompt_sets", "", n)...)
	}
	return ps
}

// mixProblems checks one mix of prompt sets. key is the YAML path of the
// list; where, if not empty, says which mix in a message ("matrix prompt
// mix 2").
func mixProblems(sets []PromptSet, key, where string, n namer) []problem {
	var ps []problem
	if where != "" {
		where += ", "
	}
	if len(sets) == 0 {
		return []problem{{key: key, label: strings.TrimSuffix(where, ", "), msg: "a prompt mix needs at least one prompt set"}}
	}
	seen := map[string]bool{}
	// A mix gives every set a weight, or none (equal shares); a missing
	// weight decodes as 0.
	weighted := 0
	for _, s := range sets {
		if s.Weight != 0 {
			weighted++
		}
	}
	for k, s := range sets {
		at := fmt.Sprintf("%s[%d]", key, k)
		label := fmt.Sprintf("%sprompt set %q", where, s.Name)
		add := func(field, format string, a ...any) {
			ps = append(ps, problem{key: at + "." + field, label: label, msg: fmt.Sprintf(format, a...)})
		}
		switch {
		case s.Name == "":
			label = fmt.Sprintf("%sprompt set %d", where, k+1)
			add("name", "name must not be empty")
		case seen[s.Name]:
			add("name", "the name is used twice; names must be unique")
		}
		seen[s.Name] = true
		switch {
		case s.Weight == 0 && weighted == 0: // no weights: equal shares
		case s.Weight == 0:
			add("weight", "weight must be a positive number (got 0); give every prompt set of a mix a weight, or none for equal shares")
		case !(s.Weight > 0) || math.IsInf(s.Weight, 0):
			add("weight", "weight must be a positive number (got %g)", s.Weight)
		}
		for _, f := range []struct {
			key string
			v   int
		}{
			{"mean_input_tokens", s.MeanInputTokens},
			{"stddev_input_tokens", s.StddevInputTokens},
			{"mean_output_tokens", s.MeanOutputTokens},
			{"stddev_output_tokens", s.StddevOutputTokens},
			{"prefix_tokens", s.PrefixTokens},
			{"prefix_groups", s.PrefixGroups},
		} {
			if f.v < 0 && !(f.v == AutoStddev && strings.HasPrefix(f.key, "stddev")) {
				add(f.key, "%s must not be negative (got %d)", n(f.key), f.v)
			}
		}
		switch {
		case s.PrefixGroups > 0 && s.PrefixTokens == 0:
			add("prefix_groups", "%s needs %s", n("prefix_groups"), n("prefix_tokens"))
		case s.PrefixTokens > 0 && (s.Prompt != "" || s.PromptFile != ""):
			add("prefix_tokens", "%s works with synthetic prompts (%s), not with %s or %s", n("prefix_tokens"), n("mean_input_tokens"), n("prompt"), n("prompt_file"))
		}
		switch {
		case s.Prompt != "" && s.PromptFile != "":
			add("prompt_file", "%s and %s cannot be used together", n("prompt"), n("prompt_file"))
		case s.Prompt != "" || s.PromptFile != "":
			src, why := n("prompt"), "the prompt's own length is the input length"
			if s.PromptFile != "" {
				src, why = n("prompt_file"), "the file's prompts set the input lengths"
			}
			if s.MeanInputTokens > 0 {
				add("mean_input_tokens", "%s cannot be used with %s: %s", n("mean_input_tokens"), src, why)
			}
			if s.StddevInputTokens > 0 {
				add("stddev_input_tokens", "%s cannot be used with %s: %s", n("stddev_input_tokens"), src, why)
			}
		case s.MeanInputTokens == 0 && s.StddevInputTokens > 0:
			add("stddev_input_tokens", "%s needs %s", n("stddev_input_tokens"), n("mean_input_tokens"))
		case s.MeanInputTokens == 0:
			add("name", "no prompts: set %s, %s or %s", n("mean_input_tokens"), n("prompt"), n("prompt_file"))
		}
		if s.MeanOutputTokens == 0 && s.StddevOutputTokens > 0 {
			add("stddev_output_tokens", "%s needs %s", n("stddev_output_tokens"), n("mean_output_tokens"))
		}
	}
	return ps
}

// EffectivePromptSets returns the prompt sets with the run's output
// lengths filled in: a set that gives neither mean_output_tokens nor
// stddev_output_tokens uses the run's. A mix whose sets give no weight
// has equal weights (1 each). It returns nil for a single workload.
func (c *Config) EffectivePromptSets() []PromptSet {
	if len(c.PromptSets) == 0 {
		return nil
	}
	unweighted := true
	for _, s := range c.PromptSets {
		unweighted = unweighted && s.Weight == 0
	}
	out := make([]PromptSet, len(c.PromptSets))
	for k, s := range c.PromptSets {
		if unweighted {
			s.Weight = 1
		}
		if s.MeanOutputTokens == 0 && s.StddevOutputTokens == 0 {
			s.MeanOutputTokens, s.StddevOutputTokens = c.MeanOutputTokens, c.StddevOutputTokens
		}
		out[k] = s
	}
	return out
}
