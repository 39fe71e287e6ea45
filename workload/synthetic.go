package workload

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// sonnets is the text synthetic prompts are drawn from: Shakespeare's
// sonnets (public domain), one verse line per line, ASCII only.
//
//go:embed corpus/sonnets.txt
var sonnets string

// Synthetic prompts follow LLMPerf: an instruction, then lines of the
// sonnets in random order. The instruction is used only when it takes at
// most half of the requested length; shorter prompts are text alone.
const (
	instructionHead = "Randomly stream lines from the following text"
	instructionTail = ". Don't generate eos tokens:\n\n"
	// partialTries is how many corpus lines are tried, from the drawn one
	// on, for a prompt's final partial line before the precomputed cover
	// line is used.
	partialTries = 8
)

// instruction is the instruction prefix of a synthetic prompt asking for
// maxTokens output tokens (0: no number given).
func instruction(maxTokens int) string {
	if maxTokens <= 0 {
		return instructionHead + instructionTail
	}
	return instructionHead + " with " + strconv.Itoa(maxTokens) + " output tokens" + instructionTail
}

// corpusLine is one line of the corpus, tokenized on its own.
type corpusLine struct {
	text   string // the line, ending in "\n"
	tokens int    // token count of text
	ends   []int  // ends[k] is the byte length of the text of the first k+1 tokens
}

// syntheticSource builds token-exact prompts from the corpus.
//
// Why lengths come out exact without tokenizing each whole prompt: the
// tiktoken encodings split text into pieces with a regular expression that
// has no look-behind, then run BPE inside each piece. A piece never spans a
// "\n" that is followed by a non-space character, so a text made of whole
// corpus lines (each ending in "\n", none starting with a space) has
// exactly the sum of the lines' token counts, whatever their order. Only
// two parts of a prompt are counted when it is built: the instruction (in
// context, followed by a letter) and the final partial line, whose text is
// the first r tokens of a corpus line and which is used only when it counts
// as exactly r tokens on its own. buildCorpus checks the additivity
// on the whole corpus, and that every partial length has a line that works.
//
// What depends on the tokenizer alone (the corpus: lines, covers, tag
// words and the memoized counts) is built once per tokenizer and shared
// (Tokenizer.syntheticCorpus); what a run chooses (seeds, lengths, shared
// prefixes) is each source's own.
type syntheticSource struct {
	*corpus
	seed    uint64
	text    uint64 // the key of the text streams, from (seed, prompt seed)
	in, out lengthDist
	// prefixes are the shared prefix texts (Options.PrefixGroups of them),
	// each of prefixTokens tokens; nil: none (prefix.go).
	prefixes     []string
	prefixTokens int
}

// corpus is the part of a synthetic source that depends on the tokenizer
// alone. It is immutable once built, apart from the caches (insTokens,
// partials, tags) that memoize counts of the tokenizer and are safe for
// concurrent use, so every source built on one tokenizer shares it.
type corpus struct {
	tok   *Tokenizer
	lines []corpusLine
	// words are the distinct lower-case words of the corpus, the digits of
	// each prompt's leading tag.
	words  []string
	tagLen int // words in a full tag
	// cover[r], for 1 <= r < the longest line's count, is a line whose first
	// r tokens count as r tokens on their own.
	cover         []int
	bytesPerToken int // an upper estimate, to size the builder
	// insTokens caches, by max_tokens, the tokens of the instruction as it
	// stands in a prompt: counting it was half of building a prompt.
	insTokens sync.Map // int → int
	// partials and tags spare the tokenizer per request (pretokenized.go);
	// nil when lines are counted in context (ctx).
	partials *partialCache
	tags     *tagTable
	// ctx is set when lines are counted in context, for tokenizers that
	// prepend "▁" to a text (synthetic_context.go); nil: counted alone.
	ctx *lineContext
}

var _ Source = (*syntheticSource)(nil)

func newSyntheticSource(tok *Tokenizer, seed, promptSeed uint64, in, out lengthDist) (*syntheticSource, error) {
	c, err := tok.syntheticCorpus()
	if err != nil {
		return nil, err
	}
	return &syntheticSource{corpus: c, seed: seed, text: mix64(seed ^ mix64(promptSeed^streamText)), in: in, out: out}, nil
}

// buildCorpus tokenizes the corpus with tok and checks that exact-length
// prompts can be built from it (see syntheticSource); it runs once per
// tokenizer (Tokenizer.syntheticCorpus).
func buildCorpus(tok *Tokenizer) (*corpus, error) {
	// The checks below are methods of a source; they read only its corpus.
	s := &syntheticSource{corpus: &corpus{tok: tok}}
	fail := func(why string) error {
		if tok.hf != nil && !tok.hf.byteLevel && !tok.hf.lineLocal {
			why += "; nor can its lines be counted in context: " + tok.hf.notLineLocal
		}
		return fmt.Errorf("tokenizer %s cannot build exact-length synthetic prompts: %s", tok.Name(), why)
	}
	if tok.hf != nil && tok.hf.lineLocal {
		if err := s.initContext(fail); err != nil {
			return nil, err
		}
		return s.corpus, nil
	}
	var all strings.Builder
	total, longest := 0, 0
	for line := range strings.SplitSeq(sonnets, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		text := line + "\n"
		l := corpusLine{text: text, ends: tok.tokenEnds(text)}
		l.tokens = len(l.ends)
		if end := l.ends[len(l.ends)-1]; end != len(text) {
			return nil, fail(fmt.Sprintf("line %q does not decode to itself", line))
		}
		s.lines = append(s.lines, l)
		all.WriteString(text)
		total += l.tokens
		longest = max(longest, l.tokens)
	}
	if n := tok.Count(all.String()); n != total {
		return nil, fail(fmt.Sprintf("the corpus counts %d tokens whole but %d line by line", n, total))
	}
	if err := s.initCover(longest, tok.Count); err != nil {
		return nil, fail(err.Error())
	}
	s.bytesPerToken = all.Len()/total + 1
	s.words = tagWords(sonnets)
	// Enough digits for 64 bits: about 6 with the sonnets' 2,500 words.
	for m := uint64(math.MaxUint64); m > 0; m /= uint64(len(s.words)) {
		s.tagLen++
	}
	s.partials, s.tags = newPartialCache(s.lines), newTagTable(tok, s.words)
	return s.corpus, nil
}

// Prompt returns request i's prompt: its length is drawn from the input
// distribution with request i's own generator keyed by Seed alone, so
// lengths are reproducible; its text (leading tag and lines) with a
// generator keyed by Seed and the prompt seed, so texts differ from run to
// run unless the prompt seed is given.
func (s *syntheticSource) Prompt(i int64) Prompt {
	maxTokens, outClipped := s.out.forRequest(s.seed, i)
	n, inClipped := s.in.sample(requestRand(s.seed, streamInput, i))
	r := requestRand(s.text, streamText, i)
	text := s.build(n, maxTokens, s.tag(i), r)
	p := Prompt{Text: text, InputTokens: n, MaxTokens: maxTokens, InputClipped: inClipped, OutputClipped: outClipped}
	if len(s.prefixes) > 0 {
		g := prefixGroup(s.seed, i, len(s.prefixes))
		p.Text, p.InputTokens = s.prefixes[g]+text, s.prefixTokens+n
		p.PrefixTokens, p.PrefixGroup = s.prefixTokens, g
	}
	return p
}

// build returns a prompt of exactly n tokens (n >= 1) that starts with as
// much of tag as fits in half of it, then the instruction asking for
// maxTokens output tokens (when it fits), then lines drawn with r.
func (s *syntheticSource) build(n, maxTokens int, tag []string, r *rand.Rand) string {
	if s.ctx != nil {
		return s.buildInContext(n, maxTokens, tag, r)
	}
	ins := instruction(maxTokens)
	p := s.instructionTokens(maxTokens, ins)
	var b strings.Builder
	b.Grow(len(ins) + 80 + n*s.bytesPerToken)
	rem := n
	// The tag is a line of its own, so it adds its tokens to the rest (see
	// syntheticSource); drop words from its end until it fits.
	for k := len(tag); k > 0; k-- {
		if t := s.tagTokens(tag[:k]); 2*t <= n {
			for w, word := range tag[:k] {
				if w > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(word)
			}
			b.WriteByte('\n')
			rem -= t
			break
		}
	}
	if rem >= 2*p {
		b.WriteString(ins)
		rem -= p
	}
	for rem > 0 {
		j := r.IntN(len(s.lines))
		if l := &s.lines[j]; l.tokens <= rem {
			b.WriteString(l.text)
			rem -= l.tokens
			continue
		}
		b.WriteString(s.partial(j, rem))
		rem = 0
	}
	return b.String()
}

// instructionTokens returns the tokens of ins, the instruction for
// maxTokens, counted as it stands in a prompt: followed by a letter.
// Alone, its trailing "\n\n" can tokenize differently (p50k_base).
func (s *syntheticSource) instructionTokens(maxTokens int, ins string) int {
	if p, ok := s.insTokens.Load(maxTokens); ok {
		return p.(int)
	}
	p := s.tok.Count(ins+"A") - 1
	s.insTokens.Store(maxTokens, p)
	return p
}

// tag returns request i's leading tag: the base-len(words) digits of a
// 64-bit value, as words. The value is a bijection of i under the text
// key, so no two requests of a run share a tag, and its first word is
// uniform over the words, so prompts differ from their first token on:
// prefix caches, which match from the start of a prompt (in blocks of
// tokens), find nothing to reuse beyond the system prompt and the chat
// template.
func (s *syntheticSource) tag(i int64) []string {
	v := mix64(s.text ^ streamTag + uint64(i))
	n := uint64(len(s.words))
	tag := make([]string, 0, s.tagLen)
	for range s.tagLen {
		tag = append(tag, s.words[v%n])
		v /= n
	}
	return tag
}

// tagWords returns the distinct all-lower-case words of 3 to 10 ASCII
// letters in text, in order of first appearance.
func tagWords(text string) []string {
	seen := map[string]bool{}
	var words []string
	letter := func(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
	for w := range strings.FieldsFuncSeq(text, func(r rune) bool { return !letter(r) }) {
		if w != strings.ToLower(w) {
			continue
		}
		if len(w) >= 3 && len(w) <= 10 && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

// partial returns the first rem tokens of a line (from line j on) whose
// text counts as exactly rem tokens on its own.
func (s *syntheticSource) partial(j, rem int) string {
	for k := range partialTries {
		jk := (j + k) % len(s.lines)
		if l := &s.lines[jk]; l.tokens > rem && s.partialExact(jk, rem) {
			return l.text[:l.ends[rem-1]]
		}
	}
	l := &s.lines[s.cover[rem]]
	return l.text[:l.ends[rem-1]]
}

// initCover fills s.cover for 1 <= r < longest: the first line whose
// first r tokens, cut out, count as r tokens by count (the tokenizer
// alone, or in context).
func (s *corpus) initCover(longest int, count func(string) int) error {
	s.cover = make([]int, longest)
	for r := 1; r < longest; r++ {
		s.cover[r] = -1
		for j, l := range s.lines {
			if l.tokens > r && count(l.text[:l.ends[r-1]]) == r {
				s.cover[r] = j
				break
			}
		}
		if s.cover[r] < 0 {
			return fmt.Errorf("no line starts with %d tokens that count as %d", r, r)
		}
	}
	return nil
}
