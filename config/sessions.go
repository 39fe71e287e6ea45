package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Dataset sampling and output-length choices (docs/workload.md).
const (
	DatasetSampleRandom     = "random"
	DatasetSampleSequential = "sequential"
	OutputLengthsDataset    = "dataset"
	OutputLengthsFixed      = "fixed"
	OutputLengthsNormal     = "normal"
	ThinkConstant           = "constant"
	ThinkExponential        = "exponential"
)

// sessionProblems checks shared prefixes, datasets and sessions.
func (c *Config) sessionProblems(n namer) []problem {
	var ps []problem
	add := func(key, format string, a ...any) {
		ps = append(ps, problem{key: key, subject: true, msg: fmt.Sprintf(format, a...)})
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"prefix_tokens", c.PrefixTokens}, {"prefix_groups", c.PrefixGroups}, {"turns", c.Turns},
		{"dataset_min_input_tokens", c.DatasetMinInputTokens}, {"dataset_max_input_tokens", c.DatasetMaxInputTokens},
		{"dataset_min_output_tokens", c.DatasetMinOutputTokens}, {"dataset_max_output_tokens", c.DatasetMaxOutputTokens},
	} {
		if f.v < 0 {
			add(f.key, "must not be negative (got %d)", f.v)
		}
	}
	if c.PrefixGroups > 0 && c.PrefixTokens == 0 {
		add("prefix_groups", "needs %s", n("prefix_tokens"))
	}
	if c.PrefixTokens > 0 && (c.Prompt != "" || c.PromptFile != "" || c.Dataset != "" || len(c.PromptSets) > 0) {
		add("prefix_tokens", "works with synthetic prompts (%s) only, not with %s, %s, %s or %s (a prompt set takes prefix_tokens of its own)", n("mean_input_tokens"), n("prompt"), n("prompt_file"), n("dataset"), n("prompt_sets"))
	}
	if c.ThinkTime.D() < 0 {
		add("think_time", "must not be negative, got %s", c.ThinkTime.D())
	}
	switch c.ThinkTimeDist {
	case "", ThinkConstant:
	case ThinkExponential:
		if c.ThinkTime <= 0 {
			add("think_time_dist", "%s needs %s (its mean)", c.ThinkTimeDist, n("think_time"))
		}
	default:
		add("think_time_dist", "%q is not known (known: constant, exponential)", c.ThinkTimeDist)
	}
	if c.ThinkTime > 0 && c.Turns <= 1 {
		add("think_time", "needs %s of 2 or more: it is the pause between the turns of a session", n("turns"))
	}
	if c.Turns > 1 {
		if c.Prompt != "" || c.PromptFile != "" || len(c.PromptSets) > 0 {
			add("turns", "works with synthetic prompts or %s, not with %s, %s or %s", n("dataset"), n("prompt"), n("prompt_file"), n("prompt_sets"))
		}
		if m := orDefault(c.Mode, ModeConcurrency); m != ModeConcurrency && m != ModeRate {
			add("turns", "needs %s concurrency (a worker runs each session) or rate (an arrival starts a session), not %s", n("mode"), m)
		}
		if c.PrefixTokens > 0 {
			add("turns", "does not combine with %s: every turn would start a new prefix; %s is the prefix every turn of a session shares", n("prefix_tokens"), n("system_prompt"))
		}
		if c.Retries > 0 {
			add("turns", "does not combine with %s yet: a retried turn would resend the conversation", n("retries"))
		}
	}
	if c.Dataset == "" {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"dataset_format", c.DatasetFormat != ""}, {"dataset_sample", c.DatasetSample != ""}, {"dataset_replace", c.DatasetReplace},
			{"dataset_output_lengths", c.DatasetOutputLengths != ""},
			{"dataset_min_input_tokens", c.DatasetMinInputTokens > 0}, {"dataset_max_input_tokens", c.DatasetMaxInputTokens > 0},
			{"dataset_min_output_tokens", c.DatasetMinOutputTokens > 0}, {"dataset_max_output_tokens", c.DatasetMaxOutputTokens > 0},
		} {
			if f.set {
				add(f.key, "needs %s", n("dataset"))
			}
		}
		return ps
	}
	if c.Prompt != "" || c.PromptFile != "" || len(c.PromptSets) > 0 {
		add("dataset", "cannot be used with %s, %s or %s: choose one prompt source", n("prompt"), n("prompt_file"), n("prompt_sets"))
	}
	switch c.DatasetFormat {
	case "", "auto", "sharegpt", "chat", "jsonl", "csv":
	default:
		add("dataset_format", "%q is not known (known: auto, sharegpt, chat, jsonl, csv)", c.DatasetFormat)
	}
	switch c.DatasetSample {
	case "", DatasetSampleRandom, DatasetSampleSequential:
	default:
		add("dataset_sample", "%q is not known (known: random, sequential)", c.DatasetSample)
	}
	if c.DatasetReplace && c.DatasetSample == DatasetSampleSequential {
		add("dataset_replace", "applies to %s random only", n("dataset_sample"))
	}
	switch c.DatasetOutputLengths {
	case "", OutputLengthsDataset:
	case OutputLengthsFixed, OutputLengthsNormal:
		if c.MeanOutputTokens <= 0 {
			add("dataset_output_lengths", "%s needs %s", c.DatasetOutputLengths, n("mean_output_tokens"))
		}
	default:
		add("dataset_output_lengths", "%q is not known (known: dataset, fixed, normal)", c.DatasetOutputLengths)
	}
	if c.DatasetMaxInputTokens > 0 && c.DatasetMinInputTokens > c.DatasetMaxInputTokens {
		add("dataset_min_input_tokens", "(%d) is above %s (%d)", c.DatasetMinInputTokens, n("dataset_max_input_tokens"), c.DatasetMaxInputTokens)
	}
	if c.DatasetMaxOutputTokens > 0 && c.DatasetMinOutputTokens > c.DatasetMaxOutputTokens {
		add("dataset_min_output_tokens", "(%d) is above %s (%d)", c.DatasetMinOutputTokens, n("dataset_max_output_tokens"), c.DatasetMaxOutputTokens)
	}
	return ps
}

// promptSetKeys are the keys a --prompt-set value may give, as in an
// experiment file's prompt_sets entries.
var promptSetKeys = "name, weight, prompt, prompt_file, mean_input_tokens, stddev_input_tokens, mean_output_tokens, stddev_output_tokens, system_prompt, prefix_tokens, prefix_groups"

// ParsePromptSet parses a --prompt-set value: comma-separated key=value
// pairs with the keys of an experiment file's prompt_sets entries, e.g.
// "name=chat,weight=80,mean_input_tokens=550,mean_output_tokens=150". A
// value cannot contain a comma; a prompt that does belongs in a
// prompt_file.
func ParsePromptSet(s string) (PromptSet, error) {
	var ps PromptSet
	bad := func(format string, a ...any) (PromptSet, error) {
		return PromptSet{}, fmt.Errorf("--prompt-set %q: %s", s, fmt.Sprintf(format, a...))
	}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return bad("want key=value pairs separated by commas (keys: %s)", promptSetKeys)
		}
		if seen[k] {
			return bad("%s is given twice", k)
		}
		seen[k] = true
		num := func(dst *int) error {
			x, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s=%q is not a whole number", k, v)
			}
			*dst = x
			return nil
		}
		var err error
		switch k {
		case "name":
			ps.Name = v
		case "weight":
			ps.Weight, err = strconv.ParseFloat(v, 64)
			if err != nil {
				err = fmt.Errorf("weight=%q is not a number", v)
			}
		case "prompt":
			ps.Prompt = v
		case "prompt_file":
			ps.PromptFile = v
		case "system_prompt":
			ps.SystemPrompt = v
		case "mean_input_tokens":
			err = num(&ps.MeanInputTokens)
		case "stddev_input_tokens":
			err = num(&ps.StddevInputTokens)
		case "mean_output_tokens":
			err = num(&ps.MeanOutputTokens)
		case "stddev_output_tokens":
			err = num(&ps.StddevOutputTokens)
		case "prefix_tokens":
			err = num(&ps.PrefixTokens)
		case "prefix_groups":
			err = num(&ps.PrefixGroups)
		default:
			return bad("%q is not a prompt set key (keys: %s)", k, promptSetKeys)
		}
		if err != nil {
			return bad("%v", err)
		}
	}
	if ps.Name == "" {
		return bad("needs name=")
	}
	return ps, nil
}
