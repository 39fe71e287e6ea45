package workload

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Synthetic prompts under tokenizers that prepend "▁" to the text
// (Llama 2, Mistral 7B v0.1–v0.2 and other sentencepiece-style
// tokenizer.json files: a Prepend normalizer, or a Metaspace
// pre-tokenizer with prepend_scheme always or first).
//
// Such a tokenizer counts a corpus line differently alone ("▁From▁fairest"
// …) than inside a prompt, after a "\n" ("From▁fairest" …), so the sums
// of syntheticSource do not hold for counts taken alone. They hold for
// counts taken in context: when the file is lineLocal (hftokenizer.go),
// BPE never makes a token across the edge of a run of newlines, and
// nothing else looks across it, so a text made of pieces that end in
// "\n" and start with a letter counts as
//
//	alone(first piece) + Σ inContext(other pieces)
//
// where inContext(x) = Count("\n" + x) − Count("\n"): x after a newline,
// without the "▁" that only the start of the whole text gets. Each corpus
// line is counted both ways when the source is built; per prompt, only
// the tag line, the instruction and the final partial line are counted,
// each in the position it has in the prompt. newContextSource checks the
// sum on the whole corpus.

// lineContext holds what context counting adds to a syntheticSource.
type lineContext struct {
	nl    int   // Count("\n"): the anchor inContext subtracts
	alone []int // alone[j]: tokens of line j at the start of a text
	// startCover[r], for 1 <= r < len(startCover), is a text (a cut of a
	// corpus line) that counts r tokens at the start of a text.
	startCover []string
}

// inContext returns the tokens text adds after a "\n".
func (s *syntheticSource) inContext(text string) int {
	return s.tok.Count("\n"+text) - s.ctx.nl
}

// countAt returns the tokens of text at the start of the prompt (start)
// or after a "\n".
func (s *syntheticSource) countAt(text string, start bool) int {
	if start {
		return s.tok.Count(text)
	}
	return s.inContext(text)
}

// initContext fills the lines, covers and tag words of s for a lineLocal
// tokenizer: lines[j].tokens and .ends count line j after a "\n".
func (s *syntheticSource) initContext(fail func(string) error) error {
	c := &lineContext{nl: s.tok.Count("\n")}
	s.ctx = c
	base := s.tok.Encode("\n")
	var all strings.Builder
	total, longest, longestAlone := 0, 0, 0
	for line := range strings.SplitSeq(sonnets, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		text := line + "\n"
		ids := s.tok.Encode("\n" + text)
		if len(ids) < len(base) || !slices.Equal(ids[:len(base)], base) {
			return fail(fmt.Sprintf("line %q changes the tokens of the newline before it", line))
		}
		ids = ids[len(base):]
		l := corpusLine{text: text, tokens: len(ids), ends: make([]int, len(ids))}
		end := 0
		for k := range ids {
			end += len(s.tok.Decode(ids[k : k+1]))
			l.ends[k] = end
		}
		if end != len(text) || s.tok.Decode(ids) != text {
			return fail(fmt.Sprintf("line %q does not decode to itself", line))
		}
		if len(s.lines) == 0 {
			total += s.tok.Count(text)
		} else {
			total += l.tokens
		}
		a := s.tok.Count(text)
		c.alone = append(c.alone, a)
		s.lines = append(s.lines, l)
		all.WriteString(text)
		longest = max(longest, l.tokens)
		longestAlone = max(longestAlone, a)
	}
	if n := s.tok.Count(all.String()); n != total {
		return fail(fmt.Sprintf("the corpus counts %d tokens whole but %d line by line in context", n, total))
	}
	if err := s.initCover(longest, s.inContext); err != nil {
		return fail(err.Error())
	}
	if err := s.initStartCover(longestAlone); err != nil {
		return fail(err.Error())
	}
	s.bytesPerToken = all.Len()/total + 1
	s.words = tagWords(sonnets)
	for m := ^uint64(0); m > 0; m /= uint64(len(s.words)) {
		s.tagLen++
	}
	return nil
}

// initStartCover finds, for every r below longest, a cut of a corpus line
// that counts r tokens at the start of a text: the "▁" prepended there
// can add a token of its own, so some r need a cut that starts at a
// lower-case word inside a line (the start of "the" merges with it).
func (s *syntheticSource) initStartCover(longest int) error {
	c := s.ctx
	c.startCover = make([]string, longest)
	missing := longest - 1
	try := func(t string) {
		if t == "" || t[0] == ' ' || strings.HasSuffix(t, " ") {
			return
		}
		if r := s.tok.Count(t); r < longest && c.startCover[r] == "" {
			c.startCover[r] = t
			missing--
		}
	}
	// Cuts at the tokens of lines counted after a "\n", from their start,
	// then from each of their words.
	for from := 0; missing > 0 && from < 16; from++ {
		for _, l := range s.lines {
			start := 0
			if from > 0 {
				start = nthSpace(l.text, from) + 1
				if start == 0 {
					continue
				}
			}
			for _, e := range l.ends {
				if e > start && missing > 0 {
					try(l.text[start:e])
				}
			}
		}
	}
	if missing > 0 {
		for r := 1; r < longest; r++ {
			if c.startCover[r] == "" {
				return fmt.Errorf("no cut of a line counts %d tokens at the start of a prompt", r)
			}
		}
	}
	return nil
}

// nthSpace returns the index of the k-th space of s (k >= 1), or -1.
func nthSpace(s string, k int) int {
	at := -1
	for range k {
		i := strings.IndexByte(s[at+1:], ' ')
		if i < 0 {
			return -1
		}
		at += i + 1
	}
	return at
}

// buildInContext is build for a lineLocal tokenizer: every part is
// counted in the position it has in the prompt, at its start (unless a
// shared prefix, which ends in "\n", comes before it) or after a "\n".
func (s *syntheticSource) buildInContext(n, maxTokens int, tag []string, r *rand.Rand) string {
	start := len(s.prefixes) == 0
	ins := instruction(maxTokens)
	var b strings.Builder
	b.Grow(len(ins) + 80 + n*s.bytesPerToken)
	rem := n
	for k := len(tag); k > 0; k-- {
		line := strings.Join(tag[:k], " ") + "\n"
		if t := s.countAt(line, start); 2*t <= n {
			b.WriteString(line)
			rem -= t
			start = false
			break
		}
	}
	var p int
	if start {
		p = s.tok.Count(ins)
	} else if v, ok := s.insTokens.Load(maxTokens); ok {
		p = v.(int)
	} else {
		p = s.inContext(ins)
		s.insTokens.Store(maxTokens, p)
	}
	if rem >= 2*p {
		b.WriteString(ins)
		rem -= p
		start = false
	}
	for rem > 0 {
		j := r.IntN(len(s.lines))
		l := &s.lines[j]
		t := l.tokens
		if start {
			t = s.ctx.alone[j]
		}
		if t <= rem {
			b.WriteString(l.text)
			rem -= t
			start = false
			continue
		}
		b.WriteString(s.partialAt(j, rem, start))
		rem = 0
	}
	return b.String()
}

// partialAt returns a cut of a line (from line j on) that counts exactly
// rem tokens at the start of the prompt (start) or after a "\n".
func (s *syntheticSource) partialAt(j, rem int, start bool) string {
	for k := range partialTries {
		l := &s.lines[(j+k)%len(s.lines)]
		if l.tokens <= rem {
			continue
		}
		if t := l.text[:l.ends[rem-1]]; s.countAt(t, start) == rem {
			return t
		}
		// At the start, the prepended "▁" may be a token of its own.
		if start && rem >= 2 {
			if t := l.text[:l.ends[rem-2]]; s.tok.Count(t) == rem {
				return t
			}
		}
	}
	if start {
		return s.ctx.startCover[rem]
	}
	l := &s.lines[s.cover[rem]]
	return l.text[:l.ends[rem-1]]
}

// prefixTextInContext is prefixText for a lineLocal tokenizer: the first
// line of a prefix is counted at the start of the text, the others after
// a "\n".
func (s *syntheticSource) prefixTextInContext(n int, r *rand.Rand) (string, error) {
	var b strings.Builder
	rem, start := n, true
	for tries := 0; rem > 0; tries++ {
		if tries > 100*len(s.lines)+n {
			break
		}
		j := r.IntN(len(s.lines))
		l := &s.lines[j]
		t := l.tokens
		if start {
			t = s.ctx.alone[j]
		}
		// Never leave exactly 1 token: a "\n" alone after a line's "\n".
		if t <= rem && rem-t != 1 {
			b.WriteString(l.text)
			rem -= t
			start = false
			continue
		}
		if t < rem || rem < 2 {
			continue
		}
		// The first rem−1 or rem−2 tokens of the line, closed by "\n".
		for _, k := range []int{rem - 2, rem - 3} {
			if k < 0 || k >= len(l.ends) {
				continue
			}
			tail := l.text[:l.ends[k]] + "\n"
			if !strings.HasSuffix(l.text[:l.ends[k]], "\n") && s.countAt(tail, start) == rem {
				b.WriteString(tail)
				rem = 0
				break
			}
		}
	}
	if rem > 0 {
		return "", fmt.Errorf("--prefix-tokens %d: no exact-length prefix with tokenizer %s", n, s.tok.Name())
	}
	return b.String(), nil
}
