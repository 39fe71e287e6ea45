package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Shared prefixes (Options.PrefixTokens, PrefixGroups) model a common
// document or system text at the start of many prompts, as in RAG or an
// application's fixed instructions: each synthetic prompt starts with one
// of PrefixGroups distinct texts of exactly PrefixTokens tokens, then its
// own unique tag and lines. A server's prefix cache can serve the shared
// part; the unique tag after it keeps the rest uncacheable.

// streamPrefix keys the prefix texts and each request's group.
const streamPrefix uint64 = 0x7072656669782d31 // "prefix-1"

// buildPrefixes returns the k prefix texts of exactly n tokens each,
// deterministic in the text key. Each ends in "\n", so the prompt text
// that follows (it starts with a letter) adds its own tokens to the
// prefix's: a tokenizer piece never spans a "\n" followed by a non-space.
func (s *syntheticSource) buildPrefixes(n, k int) ([]string, error) {
	out := make([]string, k)
	seen := make(map[string]bool, k)
	for g := range k {
		p, err := s.prefixText(n, requestRand(s.text, streamPrefix, int64(g)))
		if err != nil {
			return nil, err
		}
		// The whole text is counted once, here, in context (followed by
		// a letter), so InputTokens is exact, not a sum of estimates.
		if got := s.tok.Count(p+"A") - 1; got != n {
			return nil, fmt.Errorf("--prefix-tokens %d: the shared prefix came out at %d tokens with tokenizer %s", n, got, s.tok.Name())
		}
		if seen[p] {
			return nil, fmt.Errorf("--prefix-tokens %d is too short for %d distinct prefixes (--prefix-groups)", n, k)
		}
		seen[p] = true
		out[g] = p
	}
	return out, nil
}

// prefixText draws corpus lines with r until n tokens are filled, ending
// in a line cut short and closed by "\n" when a whole line does not fit.
func (s *syntheticSource) prefixText(n int, r *rand.Rand) (string, error) {
	if s.ctx != nil {
		return s.prefixTextInContext(n, r)
	}
	if n == 1 {
		return "\n", nil
	}
	var b strings.Builder
	rem := n
	for tries := 0; rem > 0; tries++ {
		if tries > 100*len(s.lines)+n {
			break
		}
		j := r.IntN(len(s.lines))
		l := &s.lines[j]
		// Never leave exactly 1 token: "\n" after a line's "\n" would
		// merge with it.
		if l.tokens <= rem && rem-l.tokens != 1 {
			b.WriteString(l.text)
			rem -= l.tokens
			continue
		}
		if l.tokens < rem {
			continue
		}
		if tail, ok := s.prefixTail(j, rem); ok {
			b.WriteString(tail)
			rem = 0
		}
	}
	if rem > 0 {
		return "", fmt.Errorf("--prefix-tokens %d: no exact-length prefix with tokenizer %s", n, s.tok.Name())
	}
	return b.String(), nil
}

// prefixTail returns the first rem−1 tokens of a line (from line j on)
// followed by "\n", when that text counts as exactly rem tokens.
func (s *syntheticSource) prefixTail(j, rem int) (string, bool) {
	if rem < 2 {
		return "", false
	}
	for k := range len(s.lines) {
		l := &s.lines[(j+k)%len(s.lines)]
		if l.tokens < rem {
			continue
		}
		t := l.text[:l.ends[rem-2]] + "\n"
		if strings.HasSuffix(l.text[:l.ends[rem-2]], "\n") {
			continue
		}
		if s.tok.Count(t+"A")-1 == rem {
			return t, true
		}
	}
	return "", false
}

// prefixGroup is request i's prefix group, uniform over k groups and a
// function of (seed, i) alone.
func prefixGroup(seed uint64, i int64, k int) int {
	if k <= 1 {
		return 0
	}
	return int(mix64(mix64(seed^streamPrefix)^uint64(i)) % uint64(k))
}
