package workload

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // "" means valid
	}{
		// The LLMPerf defaults.
		{"synthetic", Options{MeanInputTokens: 550, StddevInputTokens: 150, MeanOutputTokens: 150, StddevOutputTokens: 10}, ""},
		// No max_tokens at all is allowed.
		{"no output length", Options{MeanInputTokens: 550}, ""},
		{"fixed prompt", Options{Prompt: "hi", MeanOutputTokens: 20}, ""},
		{"prompt file", Options{PromptFile: "p.jsonl"}, ""},
		{"nothing", Options{}, "no prompts: set --mean-input-tokens, --prompt or --prompt-file"},
		{"negative input mean", Options{MeanInputTokens: -1}, "--mean-input-tokens must not be negative (got -1)"},
		{"negative input stddev", Options{MeanInputTokens: 5, StddevInputTokens: -2}, "--stddev-input-tokens must not be negative (got -2)"},
		{"negative output mean", Options{MeanInputTokens: 5, MeanOutputTokens: -3}, "--mean-output-tokens must not be negative (got -3)"},
		{"negative output stddev", Options{MeanInputTokens: 5, StddevOutputTokens: -4}, "--stddev-output-tokens must not be negative (got -4)"},
		{"input stddev alone", Options{StddevInputTokens: 10}, "--stddev-input-tokens needs --mean-input-tokens"},
		{"output stddev alone", Options{MeanInputTokens: 5, StddevOutputTokens: 10}, "--stddev-output-tokens needs --mean-output-tokens"},
		{"prompt and file", Options{Prompt: "hi", PromptFile: "p.jsonl"}, "--prompt and --prompt-file cannot be used together"},
		{"prompt and mean", Options{Prompt: "hi", MeanInputTokens: 5}, "--mean-input-tokens cannot be used with --prompt: the prompt's own length is the input length"},
		{"prompt and stddev", Options{Prompt: "hi", StddevInputTokens: 5}, "--stddev-input-tokens cannot be used with --prompt: the prompt's own length is the input length"},
		{"file and mean", Options{PromptFile: "p.jsonl", MeanInputTokens: 5}, "--mean-input-tokens cannot be used with --prompt-file: the file's prompts set the input lengths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if tt.want != "" {
				if _, err := NewSource(tt.opts); err == nil || err.Error() != tt.want {
					t.Fatalf("NewSource() error = %v, want %q", err, tt.want)
				}
			}
		})
	}
}

// newTestSource returns NewSource(opts) or fails the test.
func newTestSource(t testing.TB, opts Options) Source {
	t.Helper()
	s, err := NewSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeterminism(t *testing.T) {
	base := Options{MeanInputTokens: 300, StddevInputTokens: 100, MeanOutputTokens: 100, StddevOutputTokens: 30, Seed: 42, PromptSeed: 5}
	a, b := newTestSource(t, base), newTestSource(t, base)
	other := base
	other.Seed = 43
	c := newTestSource(t, other)

	// Prompt(5) asked first of b equals Prompt(5) asked last of a.
	p5 := b.Prompt(5)
	for i := range int64(20) {
		if i != 5 {
			a.Prompt(i)
		}
	}
	if got := a.Prompt(5); got != p5 {
		t.Fatalf("Prompt(5) depends on call order:\n%+v\n%+v", got, p5)
	}

	same := 0
	for i := range int64(50) {
		pa, pb, pc := a.Prompt(i), b.Prompt(i), c.Prompt(i)
		if pa != pb {
			t.Fatalf("same seed, Prompt(%d) differs", i)
		}
		if pa.Text == pc.Text {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("seeds 42 and 43 gave %d identical prompts out of 50", same)
	}
}

func TestConcurrentPrompts(t *testing.T) {
	opts := Options{MeanInputTokens: 200, StddevInputTokens: 50, MeanOutputTokens: 64, StddevOutputTokens: 8, Seed: 7, PromptSeed: 7}
	src := newTestSource(t, opts)
	const n = 200
	ref := newTestSource(t, opts)
	want := make([]Prompt, n)
	for i := range want {
		want[i] = ref.Prompt(int64(i))
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for _, i := range r.Perm(n) {
				if got := src.Prompt(int64(i)); got != want[i] {
					t.Errorf("goroutine %d: Prompt(%d) differs from the sequential one", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// meanStddev returns the sample mean and standard deviation of xs.
func meanStddev(xs []int) (mean, sd float64) {
	for _, x := range xs {
		mean += float64(x)
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (float64(x) - mean) * (float64(x) - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func TestLengthDistributions(t *testing.T) {
	const draws = 5000
	src := newTestSource(t, Options{MeanInputTokens: 200, StddevInputTokens: 40, MeanOutputTokens: 150, StddevOutputTokens: 20, Seed: 1})
	in, out := make([]int, draws), make([]int, draws)
	for i := range draws {
		p := src.Prompt(int64(i))
		in[i], out[i] = p.InputTokens, p.MaxTokens
	}
	// The standard error of the mean is sd/sqrt(5000), about 0.6 and 0.3
	// tokens; allow 5 of them, and 5% on the standard deviations.
	for _, c := range []struct {
		name     string
		xs       []int
		mean, sd float64
	}{
		{"input", in, 200, 40},
		{"output", out, 150, 20},
	} {
		m, sd := meanStddev(c.xs)
		if math.Abs(m-c.mean) > 5*c.sd/math.Sqrt(draws) || math.Abs(sd-c.sd) > 0.05*c.sd {
			t.Errorf("%s lengths: mean %.2f stddev %.2f, want %.0f and %.0f", c.name, m, sd, c.mean, c.sd)
		}
	}
}

func TestLengthClampAndZero(t *testing.T) {
	// A stddev far above the mean: every draw is still at least the
	// floor, 2 (a request that asks for 1 token has no TPOT), and the
	// raised draws are marked clipped.
	src := newTestSource(t, Options{Prompt: "Hello there", MeanOutputTokens: 2, StddevOutputTokens: 100, Seed: 3})
	clipped := 0
	for i := range int64(1000) {
		p := src.Prompt(i)
		if p.MaxTokens < 2 {
			t.Fatalf("Prompt(%d).MaxTokens = %d, want >= 2", i, p.MaxTokens)
		}
		if p.OutputClipped {
			clipped++
			if p.MaxTokens != 2 {
				t.Fatalf("Prompt(%d) clipped to %d, want the floor 2", i, p.MaxTokens)
			}
		}
	}
	if clipped < 400 {
		t.Errorf("%d of 1000 draws clipped to 2, want about half", clipped)
	}
	// No output mean: no max_tokens.
	src = newTestSource(t, Options{MeanInputTokens: 10, Seed: 3})
	for i := range int64(20) {
		if p := src.Prompt(i); p.MaxTokens != 0 || p.InputTokens != 10 {
			t.Fatalf("Prompt(%d) = %+v, want 10 input tokens and no max_tokens", i, p)
		}
	}
}

// TestDefaultOutputLengths: a mean of 64 output tokens with the default
// (auto) spread asks for lengths around 64 — never max_tokens=1, which has
// no TPOT, and with nothing clipped. (With the old default stddev of 80,
// 21% of requests asked for max_tokens=1.)
func TestDefaultOutputLengths(t *testing.T) {
	src := newTestSource(t, Options{MeanInputTokens: 100, StddevInputTokens: AutoStddev,
		MeanOutputTokens: 64, StddevOutputTokens: AutoStddev, Seed: 1})
	lo, hi, clipped := 1<<30, 0, 0
	var out []int
	for i := range int64(5000) {
		p := src.Prompt(i)
		lo, hi = min(lo, p.MaxTokens), max(hi, p.MaxTokens)
		out = append(out, p.MaxTokens)
		if p.OutputClipped || p.InputClipped {
			clipped++
		}
	}
	m, sd := meanStddev(out)
	if lo < 6 || hi > 140 || clipped > 5 || math.Abs(m-64) > 1 || math.Abs(sd-16) > 1 {
		t.Errorf("max_tokens over 5000 draws: min %d max %d mean %.1f stddev %.1f, %d clipped; want around 64±16", lo, hi, m, sd, clipped)
	}
	if got := MinLength(64); got != 6 {
		t.Errorf("MinLength(64) = %d, want 6", got)
	}
	if got := MinLength(1); got != 1 {
		t.Errorf("MinLength(1) = %d, want 1", got)
	}
}

func TestFixedPrompt(t *testing.T) {
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	const text = "Write a haiku about load testing."
	src := newTestSource(t, Options{Prompt: text, MeanOutputTokens: 100, StddevOutputTokens: 10, Seed: 9, Tokenizer: tok})
	distinct := map[int]bool{}
	for i := range int64(100) {
		p := src.Prompt(i)
		if p.Text != text || p.InputTokens != tok.Count(text) {
			t.Fatalf("Prompt(%d) = %+v, want the fixed text with %d tokens", i, p, tok.Count(text))
		}
		distinct[p.MaxTokens] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct max_tokens values in 100 draws", len(distinct))
	}
}

// The output lengths of a seed do not depend on where prompts come from.
func TestOutputLengthsIndependentOfPrompts(t *testing.T) {
	out := Options{MeanOutputTokens: 100, StddevOutputTokens: 25, Seed: 11}
	synth, fixed := out, out
	synth.MeanInputTokens = 50
	fixed.Prompt = "x"
	a, b := newTestSource(t, synth), newTestSource(t, fixed)
	for i := range int64(50) {
		if x, y := a.Prompt(i).MaxTokens, b.Prompt(i).MaxTokens; x != y {
			t.Fatalf("Prompt(%d).MaxTokens: synthetic %d, fixed %d", i, x, y)
		}
	}
}
