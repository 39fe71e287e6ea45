package workload

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
// as exactly r tokens on its own. newSyntheticSource checks the additivity
// on the whole corpus, and that every partial length has a line that works.
type syntheticSource struct {
	tok     *Tokenizer
	seed    uint64
	in, out lengthDist
	lines   []corpusLine
	// cover[r], for 1 <= r < the longest line's count, is a line whose first
	// r tokens count as r tokens on their own.
	cover         []int
	bytesPerToken int // an upper estimate, to size the builder
}

var _ Source = (*syntheticSource)(nil)

func newSyntheticSource(tok *Tokenizer, seed uint64, in, out lengthDist) (*syntheticSource, error) {
	s := &syntheticSource{tok: tok, seed: seed, in: in, out: out}
	fail := func(why string) error {
		return fmt.Errorf("tokenizer %s cannot build exact-length synthetic prompts: %s", tok.Name(), why)
	}
	var all strings.Builder
	total, longest := 0, 0
	for line := range strings.SplitSeq(sonnets, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		text := line + "\n"
		ids := tok.Encode(text)
		l := corpusLine{text: text, tokens: len(ids), ends: make([]int, len(ids))}
		end := 0
		for k := range ids {
			end += len(tok.Decode(ids[k : k+1]))
			l.ends[k] = end
		}
		if end != len(text) {
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
	s.cover = make([]int, longest)
	for r := 1; r < longest; r++ {
		s.cover[r] = -1
		for j, l := range s.lines {
			if l.tokens > r && tok.Count(l.text[:l.ends[r-1]]) == r {
				s.cover[r] = j
				break
			}
		}
		if s.cover[r] < 0 {
			return nil, fail(fmt.Sprintf("no line starts with %d tokens that count as %d", r, r))
		}
	}
	s.bytesPerToken = all.Len()/total + 1
	return s, nil
}

// Prompt returns request i's prompt: its length is drawn from the input
// distribution and its lines from the corpus, both with request i's own
// generator, so prompts differ from request to request.
func (s *syntheticSource) Prompt(i int64) Prompt {
	maxTokens := s.out.forRequest(s.seed, i)
	r := requestRand(s.seed, streamInput, i)
	n := s.in.sample(r)
	return Prompt{Text: s.build(n, maxTokens, r), InputTokens: n, MaxTokens: maxTokens}
}

// build returns a prompt of exactly n tokens (n >= 1) whose instruction
// asks for maxTokens output tokens, drawing lines with r.
func (s *syntheticSource) build(n, maxTokens int, r *rand.Rand) string {
	ins := instruction(maxTokens)
	// Count the instruction as it stands in a prompt: followed by a letter.
	// Alone, its trailing "\n\n" can tokenize differently (p50k_base).
	p := s.tok.Count(ins+"A") - 1
	var b strings.Builder
	rem := n
	if n >= 2*p {
		b.Grow(len(ins) + n*s.bytesPerToken)
		b.WriteString(ins)
		rem -= p
	} else {
		b.Grow(n * s.bytesPerToken)
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

// partial returns the first rem tokens of a line (from line j on) whose
// text counts as exactly rem tokens on its own.
func (s *syntheticSource) partial(j, rem int) string {
	for k := range partialTries {
		l := &s.lines[(j+k)%len(s.lines)]
		if l.tokens > rem {
			if t := l.text[:l.ends[rem-1]]; s.tok.Count(t) == rem {
				return t
			}
		}
	}
	l := &s.lines[s.cover[rem]]
	return l.text[:l.ends[rem-1]]
}
