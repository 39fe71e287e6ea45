package workload

import (
	"strings"
	"sync/atomic"
)

// Building a synthetic prompt without the tokenizer.
//
// The corpus lines are tokenized once, in newSyntheticSource; what was left
// to count per request was the leading tag (a line of words that is new
// for every request) and the final partial line. Counting them ran the
// encoding's regular expressions and BPE for every request (7–10% of a
// streaming run's CPU, docs/performance.md). Both are now known without
// tokenizing:
//
//   - partial lines: whether the first r tokens of line j count as r tokens
//     on their own depends on (j, r) alone, so the answer is memoized the
//     first time it is asked (partialCache); exact for every tokenizer.
//   - tags: for the tiktoken encodings, every tag word (3 to 10 lower-case
//     ASCII letters, tagWords) is a pre-tokenizer piece of its own, the
//     first one alone and each later one with the single space before it
//     (" ?\p{L}+" in r50k/p50k, "[^\r\n\p{L}\p{N}]?\p{L}+" in cl100k and
//     its o200k equivalent), and the tag's final "\n", followed by the
//     letter that starts the next part of a prompt, is a piece too. BPE
//     never merges across pieces, so a tag's count is the sum of its
//     words' counts (tagTable), counted once per word. Hugging Face
//     tokenizers (whose pre-tokenizers vary) keep counting the tag.
//
// TestPretokenizedTagCounts and the exact-length tests re-tokenize whole
// prompts to hold this to the tokenizer.

// partialCache memoizes partial-line checks: state[j][r-1] is 0 (not yet
// known), partialYes or partialNo for "the first r tokens of line j count
// as r tokens on their own". Safe for concurrent use: a race only makes
// two goroutines count the same text.
type partialCache struct {
	state [][]atomic.Uint32
}

const (
	partialYes = 1
	partialNo  = 2
)

func newPartialCache(lines []corpusLine) *partialCache {
	c := &partialCache{state: make([][]atomic.Uint32, len(lines))}
	for j, l := range lines {
		c.state[j] = make([]atomic.Uint32, l.tokens)
	}
	return c
}

// partialExact tells whether the first r tokens of line j (1 <= r <
// its token count) count as r tokens on their own.
func (s *syntheticSource) partialExact(j, r int) bool {
	l := &s.lines[j]
	if s.partials == nil {
		return s.tok.Count(l.text[:l.ends[r-1]]) == r
	}
	st := &s.partials.state[j][r-1]
	switch st.Load() {
	case partialYes:
		return true
	case partialNo:
		return false
	}
	ok := s.tok.Count(l.text[:l.ends[r-1]]) == r
	if ok {
		st.Store(partialYes)
	} else {
		st.Store(partialNo)
	}
	return ok
}

// tagTable holds, for each tag word, its token count as the first word of
// a tag and as a later one (after a space), each counted the first time a
// tag needs it, and the tokens of the tag's final "\n". Safe for
// concurrent use, like partialCache.
type tagTable struct {
	index        map[string]int // word → its position in first and later
	first, later []atomic.Int32 // 0: not counted yet, else tokens + 1
	newline      int
}

// newTagTable returns the table of words; nil for tokenizers whose pieces
// are not known to split at the words (see the top of this file).
func newTagTable(tok *Tokenizer, words []string) *tagTable {
	if tok.codec == nil {
		return nil
	}
	t := &tagTable{index: make(map[string]int, len(words)),
		first: make([]atomic.Int32, len(words)), later: make([]atomic.Int32, len(words))}
	for k, w := range words {
		t.index[w] = k
	}
	t.newline = tok.Count("\nA") - 1
	return t
}

// wordTokens returns the tokens of w as a tag word (after a space when
// later), from c, counting it the first time.
func (s *syntheticSource) wordTokens(c *atomic.Int32, w string, later bool) int {
	if n := c.Load(); n > 0 {
		return int(n) - 1
	}
	text := w
	if later {
		text = " " + w
	}
	n := s.tok.Count(text)
	c.Store(int32(n) + 1)
	return n
}

// tagTokens returns the tokens of the tag line made of words (joined by
// spaces, ending in "\n"), counted as it stands in a prompt: followed by
// a letter.
func (s *syntheticSource) tagTokens(words []string) int {
	t := s.tags
	if t == nil {
		return s.tagTokensSlow(words)
	}
	n := t.newline
	for k, w := range words {
		i, ok := t.index[w]
		if !ok {
			return s.tagTokensSlow(words)
		}
		if k == 0 {
			n += s.wordTokens(&t.first[i], w, false)
		} else {
			n += s.wordTokens(&t.later[i], w, true)
		}
	}
	return n
}

func (s *syntheticSource) tagTokensSlow(words []string) int {
	return s.tok.Count(strings.Join(words, " ")+"\nA") - 1
}
