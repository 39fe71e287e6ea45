package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Options configures a prompt Source. Exactly one kind of prompt must be
// chosen: synthetic prompts (MeanInputTokens), a fixed prompt (Prompt) or a
// prompt file (PromptFile). The output-length fields apply to all three.
//
// The error messages of Validate and NewSource name the CLI flags that set
// each field (--mean-input-tokens and so on), so the CLI can print them as
// they are.
type Options struct {
	// MeanInputTokens and StddevInputTokens give the length of synthetic
	// prompts, in tokens of Tokenizer: each request's length is drawn from
	// Normal(mean, stddev), rounded, and raised to the floor MinLength(mean)
	// (LLMPerf's --mean-input-tokens and --stddev-input-tokens). A stddev
	// of AutoStddev means AutoStddevOf(mean), a quarter of the mean.
	// Synthetic prompts hit the drawn length exactly.
	MeanInputTokens, StddevInputTokens int

	// MeanOutputTokens and StddevOutputTokens give each request's
	// max_tokens, drawn from Normal(mean, stddev), rounded, and raised to
	// the floor MinLength(mean), so that a request asks for at least 2
	// tokens and has a TPOT; AutoStddev as above. A MeanOutputTokens of 0
	// requests no max_tokens (Prompt.MaxTokens is 0) unless a prompt-file
	// line sets its own.
	MeanOutputTokens, StddevOutputTokens int

	// Prompt is a fixed prompt text sent by every request; the input length
	// is then its token count, not a drawn one.
	Prompt string

	// PromptFile is the path of a JSONL prompt file (see docs/workload.md).
	// Request i sends line i mod n, in file order; blank lines are skipped.
	PromptFile string

	// Seed makes a run's lengths reproducible: the same Options, including
	// Seed, give the same input and output lengths (and, with a prompt
	// file, the same lines).
	Seed uint64

	// PromptSeed, with Seed, chooses the texts of synthetic prompts: the
	// same (Seed, PromptSeed) give exactly the same texts. 0 means NewSource
	// draws one at random, so that no synthetic prompt shares a cacheable
	// prefix with a prompt of another run (see syntheticSource); a caller
	// that must record how to reproduce a run draws it with NewPromptSeed
	// and records it.
	PromptSeed uint64

	// Tokenizer counts input tokens and builds synthetic prompts. Nil means
	// NewTokenizer("") (DefaultTokenizer).
	Tokenizer *Tokenizer

	// SystemPrompt, if not empty, is carried by every prompt as
	// Prompt.System (sent as a system message in chat, prepended in
	// completions; see the provider). It does not count towards the drawn
	// input length: synthetic prompts still have exactly the drawn number
	// of tokens of Text, and the system prompt's tokens come on top.
	SystemPrompt string

	// PrefixTokens, if positive, starts every synthetic prompt with one of
	// PrefixGroups shared texts of exactly this many tokens (docs/workload.md,
	// "Shared prefixes"), on top of the drawn input length and before the
	// prompt's unique tag, so a server's prefix cache can serve it.
	// PrefixGroups 0 means 1. Request i's group is drawn from (Seed, i);
	// the texts are keyed by Seed and PromptSeed, like the prompts'.
	PrefixTokens, PrefixGroups int
}

// Prompt is one request's prompt.
type Prompt struct {
	// Text is the user message (chat) or the prompt (completions).
	Text string
	// InputTokens is the local tokenizer's count of Text. Servers add
	// their own chat-template tokens and report their own counts.
	InputTokens int
	// MaxTokens is the max_tokens to request; 0 means send none.
	MaxTokens int
	// System is the system prompt text; "" means none.
	System string
	// SystemTokens is the local tokenizer's count of System, counted on
	// its own. The local input of a request is InputTokens + SystemTokens
	// (plus the server's chat-template tokens, which only it knows).
	SystemTokens int
	// Set is the name of the prompt set the prompt was drawn from in a
	// mix (NewMix); "" for a single workload.
	Set string
	// InputClipped and OutputClipped tell that the drawn input length or
	// max_tokens fell below the floor (MinLength) and was raised to it.
	InputClipped, OutputClipped bool
	// PrefixTokens is the length of the shared prefix Text starts with
	// (included in InputTokens), 0 without one; PrefixGroup is which of
	// Options.PrefixGroups it is.
	PrefixTokens, PrefixGroup int
}

// Source supplies the prompts of a run.
type Source interface {
	// Prompt returns the i-th prompt of the run. It is deterministic in
	// (Seed, i) — independent of the order or concurrency in which it is
	// called — and safe for concurrent use.
	Prompt(i int64) Prompt
}

// Validate reports the first problem with o, without reading any file or
// loading a tokenizer; NewSource calls it. Its errors are one-line
// sentences naming the CLI flags involved.
func (o Options) Validate() error {
	for _, f := range []struct {
		flag string
		v    int
	}{
		{"--mean-input-tokens", o.MeanInputTokens},
		{"--stddev-input-tokens", o.StddevInputTokens},
		{"--mean-output-tokens", o.MeanOutputTokens},
		{"--stddev-output-tokens", o.StddevOutputTokens},
		{"--prefix-tokens", o.PrefixTokens},
		{"--prefix-groups", o.PrefixGroups},
	} {
		if f.v == AutoStddev && strings.HasPrefix(f.flag, "--stddev") {
			continue
		}
		if f.v < 0 {
			return fmt.Errorf("%s must not be negative (got %d)", f.flag, f.v)
		}
	}
	switch {
	case o.Prompt != "" && o.PromptFile != "":
		return errors.New("--prompt and --prompt-file cannot be used together")
	case o.Prompt != "" || o.PromptFile != "":
		src, why := "--prompt", "the prompt's own length is the input length"
		if o.PromptFile != "" {
			src, why = "--prompt-file", "the file's prompts set the input lengths"
		}
		if o.MeanInputTokens > 0 {
			return fmt.Errorf("--mean-input-tokens cannot be used with %s: %s", src, why)
		}
		if o.StddevInputTokens > 0 {
			return fmt.Errorf("--stddev-input-tokens cannot be used with %s: %s", src, why)
		}
	case o.MeanInputTokens == 0 && o.StddevInputTokens > 0:
		return errors.New("--stddev-input-tokens needs --mean-input-tokens")
	case o.MeanInputTokens == 0:
		return errors.New("no prompts: set --mean-input-tokens, --prompt or --prompt-file")
	}
	switch {
	case o.PrefixGroups > 0 && o.PrefixTokens == 0:
		return errors.New("--prefix-groups needs --prefix-tokens")
	case o.PrefixTokens > 0 && (o.Prompt != "" || o.PromptFile != ""):
		return errors.New("--prefix-tokens works with synthetic prompts (--mean-input-tokens), not with --prompt or --prompt-file, whose texts are their own")
	}
	if o.MeanOutputTokens == 0 && o.StddevOutputTokens > 0 {
		return errors.New("--stddev-output-tokens needs --mean-output-tokens")
	}
	return nil
}

// NewSource validates opts and returns the Source it describes: a prompt
// file if PromptFile is set, a fixed prompt if Prompt is set, synthetic
// prompts otherwise. A prompt file is read and tokenized here, once; its
// errors name the file and line.
func NewSource(opts Options) (Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	// Read the prompt file before loading a tokenizer: its errors come
	// sooner.
	var entries []fileEntry
	if opts.PromptFile != "" {
		var err error
		if entries, err = loadPromptFile(opts.PromptFile); err != nil {
			return nil, err
		}
	}
	tok := opts.Tokenizer
	if tok == nil {
		var err error
		if tok, err = NewTokenizer(""); err != nil {
			return nil, err
		}
	}
	out := newLengthDist(opts.MeanOutputTokens, opts.StddevOutputTokens)
	var src Source
	switch {
	case opts.PromptFile != "":
		countTokens(tok, entries)
		src = &fileSource{entries: entries, seed: opts.Seed, out: out}
	case opts.Prompt != "":
		src = &fixedSource{text: opts.Prompt, tokens: tok.Count(opts.Prompt), seed: opts.Seed, out: out}
	default:
		in := newLengthDist(opts.MeanInputTokens, opts.StddevInputTokens)
		ps := opts.PromptSeed
		if ps == 0 {
			ps = NewPromptSeed()
		}
		s, err := newSyntheticSource(tok, opts.Seed, ps, in, out)
		if err != nil {
			return nil, err
		}
		if opts.PrefixTokens > 0 {
			if s.prefixes, err = s.buildPrefixes(opts.PrefixTokens, max(1, opts.PrefixGroups)); err != nil {
				return nil, err
			}
			s.prefixTokens = opts.PrefixTokens
		}
		src = s
	}
	if opts.SystemPrompt != "" {
		src = &systemSource{src: src, text: opts.SystemPrompt, tokens: tok.Count(opts.SystemPrompt)}
	}
	return src, nil
}

// systemSource adds a system prompt, counted once, to every prompt of src.
type systemSource struct {
	src    Source
	text   string
	tokens int
}

var _ Source = (*systemSource)(nil)

func (s *systemSource) Prompt(i int64) Prompt {
	p := s.src.Prompt(i)
	p.System, p.SystemTokens = s.text, s.tokens
	return p
}

// fixedSource sends the same text with every request.
type fixedSource struct {
	text   string
	tokens int
	seed   uint64
	out    lengthDist
}

var _ Source = (*fixedSource)(nil)

func (s *fixedSource) Prompt(i int64) Prompt {
	maxTokens, clipped := s.out.forRequest(s.seed, i)
	return Prompt{Text: s.text, InputTokens: s.tokens, MaxTokens: maxTokens, OutputClipped: clipped}
}

// Random streams. Each request draws from generators seeded by (Seed,
// stream, i) alone, which is what makes Prompt(i) independent of call order
// and concurrency. The stream constants keep the output-length draws
// independent of the input-length and text draws.
const (
	streamOutput uint64 = 0x6f75747075742d31 // "output-1"
	streamInput  uint64 = 0x696e7075742d2d31 // "input--1"
	streamText   uint64 = 0x746578742d2d2d31 // "text---1"
	streamTag    uint64 = 0x7461672d2d2d2d31 // "tag----1"
)

// requestRand returns the generator of request i in the given stream.
// Seed and i pass through a 64-bit mixer first: PCG streams whose seeds
// differ only in a low bit start out correlated.
func requestRand(seed, stream uint64, i int64) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed^stream), mix64(uint64(i)^stream)))
}

// mix64 is the SplitMix64 finalizer, a bijection that scatters nearby
// inputs across all 64 bits.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
