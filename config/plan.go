package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// PlanString describes, in a few labelled lines, what c will do: the
// endpoint (URL redacted, the key never shown), the model, the workload
// (with each prompt set's weight), the load shape with its numbers, the
// stop conditions, the sweep, the SLOs and thresholds, and the results
// directory. It is what `llmload run --dry-run` prints.
func (c *Config) PlanString() string { return c.planString("") }

// planString implements PlanString; keyFrom, if not empty, names the
// environment variable the API key will come from.
func (c *Config) planString(keyFrom string) string {
	var b strings.Builder
	line := func(label, format string, a ...any) {
		fmt.Fprintf(&b, "%-11s %s\n", label+":", fmt.Sprintf(format, a...))
	}
	more := func(format string, a ...any) { fmt.Fprintf(&b, "%-11s %s\n", "", fmt.Sprintf(format, a...)) }

	// Endpoint.
	r := c.Redacted()
	switch c.Provider {
	case ProviderSim:
		cache := "no prefix cache"
		if c.Sim.PrefixCacheBlocks > 0 {
			cache = fmt.Sprintf("prefix cache of %d blocks", c.Sim.PrefixCacheBlocks)
		}
		if c.Sim.ReasoningTokens > 0 {
			cache += fmt.Sprintf(", %d reasoning tokens in %s", c.Sim.ReasoningTokens, orDefault(c.Sim.ReasoningField, "reasoning_content"))
		}
		prof := orDefault(c.Sim.Profile, DefaultSimProfile)
		if c.Sim.ProfileFile != "" {
			prof = "file " + c.Sim.ProfileFile
		}
		line("endpoint", "built-in simulator, profile %s (time scale %g, max %d concurrent requests per replica, %s)",
			prof, c.Sim.TimeScale, c.Sim.MaxConcurrentRequests, cache)
	case "":
		if c.BaseURL != "" {
			line("endpoint", "%s (provider resolved at run time: openai)", r.BaseURL)
		} else {
			line("endpoint", "built-in simulator (no base URL), profile %s", orDefault(c.Sim.Profile, DefaultSimProfile))
		}
	default:
		line("endpoint", "%s %s", c.Provider, orDefault(r.BaseURL, "(no base URL)"))
	}
	key := "none"
	switch {
	case keyFrom != "":
		key = "from $" + keyFrom
	case c.APIKey != "":
		key = "set (not shown)"
	}
	stream := "streaming"
	if !c.Stream {
		stream = "not streaming"
	}
	if c.API == "embeddings" {
		line("model", "%s; api embeddings, %d %s per request, not streamed, no output; API key %s", orDefault(c.Model, "(the endpoint's default)"),
			max(c.EmbeddingBatch, 1), plural(max(c.EmbeddingBatch, 1), "input", "inputs"), key)
	} else {
		line("model", "%s; api %s, %s, ignore_eos %t; API key %s", orDefault(c.Model, "(the endpoint's default)"), c.API, stream, c.IgnoreEOS, key)
	}
	if len(r.Headers) > 0 {
		var hs []string
		for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
			hs = append(hs, k+": "+r.Headers[k])
		}
		more("headers %s", strings.Join(hs, "; "))
	}
	if opts := providerOptionsText(&c.Providers); opts != "" {
		more("provider options %s", opts)
	}
	var sampling []string
	if c.Temperature != nil {
		sampling = append(sampling, "temperature "+strconv.FormatFloat(*c.Temperature, 'g', -1, 64))
	}
	for _, k := range slices.Sorted(maps.Keys(c.ExtraBody)) {
		sampling = append(sampling, fmt.Sprintf("%s=%v", k, c.ExtraBody[k]))
	}
	if len(sampling) > 0 {
		more("request body adds %s", strings.Join(sampling, ", "))
	}

	// Workload.
	if sets := c.EffectivePromptSets(); len(sets) > 0 {
		var total float64
		for _, s := range sets {
			total += s.Weight
		}
		line("workload", "a mix of %d prompt %s (tokenizer %s, seed %d%s):", len(sets), plural(len(sets), "set", "sets"), c.Tokenizer, c.Seed, c.promptSeedText())
		for _, s := range sets {
			more("  %-10s %5.1f%%  %s", s.Name, 100*s.Weight/total,
				workloadText(s.Prompt, s.PromptFile, s.MeanInputTokens, s.StddevInputTokens, s.MeanOutputTokens, s.StddevOutputTokens))
			if s.SystemPrompt != "" {
				more("  %-10s         own system prompt, %d %s", "", len(s.SystemPrompt), plural(len(s.SystemPrompt), "character", "characters"))
			}
			if s.PrefixTokens > 0 {
				more("  %-10s         starts with one of %d shared prefixes of %d tokens: prefix caching requested", "", max(1, s.PrefixGroups), s.PrefixTokens)
			}
		}
	} else if c.Dataset != "" {
		line("workload", "prompts from a dataset (tokenizer %s, seed %d)", c.Tokenizer, c.Seed)
	} else {
		line("workload", "%s (tokenizer %s, seed %d%s)",
			workloadText(c.Prompt, c.PromptFile, c.MeanInputTokens, c.StddevInputTokens, c.MeanOutputTokens, c.StddevOutputTokens), c.Tokenizer, c.Seed, c.promptSeedText())
	}
	if c.Dataset != "" {
		more("%s", c.datasetText())
	}
	if c.PrefixTokens > 0 {
		more("every prompt starts with one of %d shared %s of %d tokens (on top of its own length): prefix caching requested",
			max(1, c.PrefixGroups), plural(max(1, c.PrefixGroups), "prefix", "prefixes"), c.PrefixTokens)
	}
	if c.Turns > 1 {
		think := "no think time"
		if c.ThinkTime > 0 {
			think = fmt.Sprintf("%s think time between turns", c.ThinkTime)
			if c.ThinkTimeDist == ThinkExponential {
				think = fmt.Sprintf("think time between turns drawn from an exponential distribution of mean %s", c.ThinkTime)
			}
		}
		more("sessions of up to %d turns, each turn's prompt the conversation so far (answers included); %s; max_requests counts turns", c.Turns, think)
	}
	if c.SystemPrompt != "" {
		more("system prompt of %d %s with every request: %q", len(c.SystemPrompt), plural(len(c.SystemPrompt), "character", "characters"), abbreviate(c.SystemPrompt, 60))
	}

	// Load shape.
	mode := orDefault(c.Mode, ModeConcurrency)
	ramp := ""
	switch {
	case c.Ramp > 0 && mode == ModeConcurrency && slices.Max(append([]int{0}, c.Concurrency...)) <= 1:
		ramp = fmt.Sprintf("; the %s ramp has no effect at concurrency 1", c.Ramp)
	case c.Ramp > 0:
		ramp = fmt.Sprintf(", ramped up over %s", c.Ramp)
	}
	switch mode {
	case ModeConcurrency:
		if len(c.Concurrency) == 1 {
			line("load", "closed loop: %d concurrent %s, each sent when the previous ends%s", c.Concurrency[0], plural(c.Concurrency[0], "request", "requests"), ramp)
		} else {
			line("load", "closed loop, a sweep of %d levels, one after another: %s concurrent requests%s", len(c.Concurrency), c.Concurrency, ramp)
		}
	case ModeBatchSequential:
		n := "until a stop condition"
		if c.Batches > 0 {
			n = fmt.Sprintf("%d batches", c.Batches)
		}
		if len(c.BatchSize) > 1 {
			line("load", "a sweep of %d batch sizes, one after another: %s; batches of that many concurrent requests, each starting when the previous batch has ended; %s", len(c.BatchSize), c.BatchSize, n)
		} else {
			line("load", "batches of %d concurrent requests, each starting when the previous batch has ended; %s", c.BatchSize.First(), n)
		}
	case ModeBatchInterval:
		if len(c.BatchSize) > 1 {
			line("load", "a sweep of %d batch sizes, one after another: %s; a batch of that many requests every %s, whether or not earlier ones ended; %d batches", len(c.BatchSize), c.BatchSize, c.BatchInterval, c.Batches)
		} else {
			line("load", "a batch of %d requests every %s, whether or not earlier ones ended; %d batches", c.BatchSize.First(), c.BatchInterval, c.Batches)
		}
	case ModeRate:
		arrival := orDefault(c.Arrival, ArrivalPoisson)
		if arrival == ArrivalGamma {
			arrival = fmt.Sprintf("gamma (burstiness %g)", c.Burstiness)
		}
		limit := "no cap on requests in flight"
		if c.MaxConcurrency > 0 {
			limit = fmt.Sprintf("at most %d in flight (late requests wait and their schedule lag is recorded)", c.MaxConcurrency)
		}
		switch {
		case c.Sweep == SweepAuto:
			line("load", "open loop, %s arrivals, sweep auto: the synchronous baseline, the maximum throughput, then %d rates between them; %s%s",
				arrival, c.SweepLevels, limit, ramp)
		case len(c.Rate) == 1:
			line("load", "open loop, %s arrivals at %g requests/s; %s%s", arrival, c.Rate[0], limit, ramp)
		default:
			line("load", "open loop, %s arrivals, a sweep of %d rates, one after another: %s requests/s; %s%s", arrival, len(c.Rate), c.Rate, limit, ramp)
		}
	default:
		line("load", "mode %q (not known)", c.Mode)
	}

	// Stop conditions.
	var stops []string
	if c.MaxRequests > 0 {
		stops = append(stops, fmt.Sprintf("%d measured requests", c.MaxRequests))
	}
	if c.Duration > 0 {
		stops = append(stops, c.Duration.String())
	}
	batch := mode == ModeBatchSequential || mode == ModeBatchInterval
	if batch && c.Batches > 0 {
		if len(c.BatchSize) == 1 {
			stops = append(stops, fmt.Sprintf("%d batches (%d requests)", c.Batches, c.Batches*c.BatchSize[0]))
		} else {
			stops = append(stops, fmt.Sprintf("%d batches", c.Batches))
		}
	}
	per := "per run"
	if len(c.Concurrency) > 1 && mode == ModeConcurrency || len(c.Rate) > 1 && mode == ModeRate || c.Sweep == SweepAuto || batch && len(c.BatchSize) > 1 {
		per = "per level"
	}
	stop := "never (no max_requests or duration)"
	if len(stops) > 0 {
		stop = "after " + strings.Join(stops, " or ")
		if len(stops) > 1 {
			stop += ", whichever comes first"
		}
		stop += ", " + per
	}
	warm := "no warm-up"
	if c.Warmup > 0 {
		warm = fmt.Sprintf("%d warm-up %s first, not counted", c.Warmup, plural(c.Warmup, "request", "requests"))
	}
	line("stop", "%s; %s; per-request timeout %s", stop, warm, c.Timeout)
	var early []string
	if c.StopOnErrorRate > 0 {
		early = append(early, fmt.Sprintf("its error rate exceeds %g%%", 100*c.StopOnErrorRate))
	}
	if c.StopOnTimeout {
		early = append(early, "a request times out")
	}
	if len(early) > 0 {
		more("a sweep ends at the first level where %s", strings.Join(early, " or "))
	}
	var policy []string
	if c.Retries > 0 {
		policy = append(policy, fmt.Sprintf("up to %d %s per request of a throttled, overloaded, 5xx or connection failure, with backoff",
			c.Retries, plural(c.Retries, "retry", "retries")))
	}
	if c.RPM > 0 || c.TPM > 0 {
		var q []string
		if c.RPM > 0 {
			q = append(q, fmt.Sprintf("%d requests", c.RPM))
		}
		if c.TPM > 0 {
			q = append(q, fmt.Sprintf("%d tokens", c.TPM))
		}
		window := "minute"
		if c.QuotaWindow > 0 {
			window = c.QuotaWindow.String()
		}
		policy = append(policy, fmt.Sprintf("a client-side quota of %s per %s", strings.Join(q, " and "), window))
	}
	if len(policy) > 0 {
		line("policy", "%s", strings.Join(policy, "; "))
	}
	if len(c.SLOs) > 0 {
		line("SLOs", "%s (goodput counts requests meeting all)", strings.Join(c.SLOs, ", "))
	}
	if len(c.Thresholds) > 0 {
		line("thresholds", "%s (any failure: exit status 3)", strings.Join(c.Thresholds, ", "))
	}
	line("results", "%s", orDefault(c.ResultsDir, "(results/<name>, chosen at run time)"))
	return b.String()
}

// promptSeedText tells how synthetic prompt texts are chosen, when the
// workload has synthetic prompts.
func (c *Config) promptSeedText() string {
	synthetic := c.Prompt == "" && c.PromptFile == "" && c.MeanInputTokens > 0
	for _, s := range c.EffectivePromptSets() {
		synthetic = synthetic || s.Prompt == "" && s.PromptFile == "" && s.MeanInputTokens > 0
	}
	switch {
	case !synthetic:
		return ""
	case c.PromptSeed != 0:
		return fmt.Sprintf(", prompt seed %d", c.PromptSeed)
	}
	return ", new prompt texts each run"
}

// providerOptionsText lists the set provider options, "key=value, …".
func providerOptionsText(p *ProviderOptions) string {
	v := reflect.ValueOf(p).Elem()
	var out []string
	for _, k := range providerOptionKeys() {
		f := v.FieldByIndex(yamlFields(v.Type())[k])
		if !f.IsZero() {
			out = append(out, fmt.Sprintf("%s=%v", k, f.Interface()))
		}
	}
	return strings.Join(out, ", ")
}

// workloadText describes one workload.
// datasetText describes the dataset options in one line.
func (c *Config) datasetText() string {
	sample := orDefault(c.DatasetSample, DatasetSampleRandom)
	switch {
	case sample == DatasetSampleRandom && c.DatasetReplace:
		sample += " with replacement"
	case sample == DatasetSampleRandom:
		sample += " without replacement (a new shuffle after every row was used)"
	}
	out := orDefault(c.DatasetOutputLengths, OutputLengthsDataset)
	switch out {
	case OutputLengthsDataset:
		out = "max_tokens from each row's answer"
	case OutputLengthsFixed:
		out = fmt.Sprintf("max_tokens fixed at %d", c.MeanOutputTokens)
	default:
		out = "max_tokens " + meanSD(c.MeanOutputTokens, c.StddevOutputTokens)
	}
	var filters []string
	rng := func(what string, lo, hi int) {
		switch {
		case lo > 0 && hi > 0:
			filters = append(filters, fmt.Sprintf("%s %d–%d", what, lo, hi))
		case lo > 0:
			filters = append(filters, fmt.Sprintf("%s ≥ %d", what, lo))
		case hi > 0:
			filters = append(filters, fmt.Sprintf("%s ≤ %d", what, hi))
		}
	}
	rng("input tokens", c.DatasetMinInputTokens, c.DatasetMaxInputTokens)
	rng("output tokens", c.DatasetMinOutputTokens, c.DatasetMaxOutputTokens)
	filter := ""
	if len(filters) > 0 {
		filter = "; keeps rows with " + strings.Join(filters, ", ")
	}
	return fmt.Sprintf("dataset %s (format %s), rows sampled %s; %s%s", c.Dataset, orDefault(c.DatasetFormat, "auto"), sample, out, filter)
}

func workloadText(prompt, file string, meanIn, sdIn, meanOut, sdOut int) string {
	var in string
	switch {
	case file != "":
		in = "prompts from " + file + " in file order"
	case prompt != "":
		in = fmt.Sprintf("a fixed prompt of %d %s", len(prompt), plural(len(prompt), "character", "characters"))
	default:
		in = fmt.Sprintf("synthetic prompts of %s input tokens", meanSD(meanIn, sdIn))
	}
	out := "no max_tokens"
	if meanOut > 0 {
		out = "max_tokens " + meanSD(meanOut, sdOut)
	}
	return in + ", " + out
}

// meanSD writes "550±150", or "550" without spread.
func meanSD(mean, sd int) string {
	sd = EffectiveStddev(mean, sd)
	if sd == 0 {
		return strconv.Itoa(mean)
	}
	return fmt.Sprintf("%d±%d", mean, sd)
}

// abbreviate cuts s to about n characters.
func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// Plan describes every case of the experiment, in the order they run:
// a header with the matrix's dimensions, then each case's name, directory
// and PlanString. It reads no API keys (it shows which variable each
// comes from).
func (e *Experiment) Plan() string {
	cases, _ := e.expand(false) // without keys, expand cannot fail
	var b strings.Builder
	fmt.Fprintf(&b, "experiment %s: %d %s", e.Path, len(cases), plural(len(cases), "case", "cases"))
	var dims []string
	if n := len(e.Matrix.Endpoints); n > 0 {
		dims = append(dims, fmt.Sprintf("%d %s", n, plural(n, "endpoint", "endpoints")))
	}
	if n := len(e.Matrix.PromptSets); n > 0 {
		dims = append(dims, fmt.Sprintf("%d prompt %s", n, plural(n, "mix", "mixes")))
	}
	groups := map[string]bool{}
	for _, c := range cases {
		groups[c.Group] = true
	}
	if n := len(cases) / max(1, len(groups)); n > 1 || len(dims) > 0 {
		dims = append(dims, fmt.Sprintf("%d load %s", n, plural(n, "level", "levels")))
	}
	if len(dims) > 1 {
		fmt.Fprintf(&b, " = %s", strings.Join(dims, " × "))
	}
	b.WriteString("\n")
	for k, c := range cases {
		fmt.Fprintf(&b, "\ncase %d/%d: %s\n", k+1, len(cases), c.Name)
		fmt.Fprintf(&b, "%-11s %s\n", "directory:", c.Dir)
		b.WriteString(c.Config.planString(e.keyEnv(c.Endpoint)))
	}
	return b.String()
}

// keyEnv names the environment variable that a case's API key comes
// from, or "".
func (e *Experiment) keyEnv(endpoint string) string {
	for _, ep := range e.Matrix.Endpoints {
		if ep.Name == endpoint && endpoint != "" {
			if ep.APIKeyEnv != "" || ep.Provider != "" || ep.BaseURL != "" {
				return ep.APIKeyEnv // a moved endpoint never inherits the base key
			}
		}
	}
	return e.APIKeyEnv
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
