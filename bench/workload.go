package bench

import (
	"fmt"
	"strings"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

// resolveLengths replaces an automatic length spread (config.AutoStddev)
// with the number it stands for, so that plans, config.yaml and
// summary.json show the stddev used.
func resolveLengths(cfg *config.Config) {
	if cfg.MeanInputTokens > 0 {
		cfg.StddevInputTokens = workload.EffectiveStddev(cfg.MeanInputTokens, cfg.StddevInputTokens)
	}
	if cfg.MeanOutputTokens > 0 {
		cfg.StddevOutputTokens = workload.EffectiveStddev(cfg.MeanOutputTokens, cfg.StddevOutputTokens)
	}
}

// resolvePromptSeed draws the run's prompt seed when none was given, so
// that the run's synthetic prompts share no prefix with another run's and
// config.yaml records how to reproduce them.
func resolvePromptSeed(cfg *config.Config) {
	if cfg.PromptSeed == 0 {
		cfg.PromptSeed = workload.NewPromptSeed()
	}
}

// previewRequests bounds the requests LengthPreview draws.
const previewRequests = 1000

// LengthPreview describes, in one labelled line for --dry-run, the lengths
// the run's first requests will ask for (at most 1,000 of them): input
// tokens and max_tokens, mean, p50, min and max, and how many were raised
// to the floor. It builds the prompts as the run will (cfg as resolved).
func LengthPreview(cfg *config.Config) string {
	c := *cfg
	resolveLengths(&c)
	resolvePromptSeed(&c)
	n := c.MaxRequests + c.Warmup
	if n <= 0 || n > previewRequests {
		n = previewRequests
	}
	tok, err := workload.NewTokenizer(c.Tokenizer)
	if err == nil {
		var src workload.Source
		if src, err = Source(&c, tok); err == nil {
			pre := ""
			if ds, ok := src.(*workload.Dataset); ok {
				st := ds.Stats()
				pre = fmt.Sprintf("%-11s %s: %d rows (%s), %d kept (%s); up to %d user %s per row, mean %.1f\n",
					"dataset:", st.Path, st.Rows, st.Format, st.Kept, ds.DroppedText(), st.MaxTurns, plural(st.MaxTurns, "turn", "turns"), st.MeanTurns)
			}
			if c.Turns > 1 {
				pre += fmt.Sprintf("%-11s the lengths below are of the user messages; turn k's prompt adds the conversation so far (k−1 messages and answers)\n", "sessions:")
			}
			return pre + lengthText(src, n)
		}
	}
	return fmt.Sprintf("%-11s not available: %v\n", "lengths:", err)
}

func lengthText(src workload.Source, n int) string {
	in, out := make([]float64, 0, n), make([]float64, 0, n)
	inClipped, outClipped := 0, 0
	for i := range int64(n) {
		p := src.Prompt(i)
		in = append(in, float64(p.InputTokens))
		if p.MaxTokens > 0 {
			out = append(out, float64(p.MaxTokens))
		}
		if p.InputClipped {
			inClipped++
		}
		if p.OutputClipped {
			outClipped++
		}
	}
	desc := func(xs []float64, clipped int) string {
		d := stats.Describe(xs)
		s := fmt.Sprintf("mean %.0f, p50 %.0f, min %.0f, max %.0f", d.Mean, d.P50, d.Min, d.Max)
		if clipped > 0 {
			s += fmt.Sprintf(" (%d raised to the floor)", clipped)
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s first %d %s: input tokens %s\n", "lengths:", n, plural(n, "request", "requests"), desc(in, inClipped))
	if len(out) > 0 {
		fmt.Fprintf(&b, "%-11s max_tokens %s\n", "", desc(out, outClipped))
	} else {
		fmt.Fprintf(&b, "%-11s no max_tokens\n", "")
	}
	if pct := 100 * float64(max(inClipped, outClipped)) / float64(n); pct > 100*stats.ClipWarnShare {
		fmt.Fprintf(&b, "%-11s WARNING: %.0f%% of lengths fall below the floor and are raised to it: the stddev is large for the mean\n", "", pct)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
