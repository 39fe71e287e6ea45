package workload

import "testing"

// TestPretokenizedTagCounts holds the tag table to the tokenizer: every
// prefix of many requests' tags, counted from the table and by
// re-tokenizing the tag line in context.
func TestPretokenizedTagCounts(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc, func(t *testing.T) {
			s := newSynthetic(t, enc)
			if s.tags == nil {
				t.Fatal("no tag table for a tiktoken encoding")
			}
			requests := 3000
			if testing.Short() || raceEnabled {
				requests = 300
			}
			for i := range int64(requests) {
				tag := s.tag(i)
				for k := 1; k <= len(tag); k++ {
					if got, want := s.tagTokens(tag[:k]), s.tagTokensSlow(tag[:k]); got != want {
						t.Fatalf("tag %q: table says %d tokens, the tokenizer %d", tag[:k], got, want)
					}
				}
			}
			// Every word, first and later, beside a word that ends and one
			// that starts with each letter class.
			for _, w := range s.words {
				for _, tag := range [][]string{{w}, {w, "thee"}, {"thee", w}, {"the", w, "art"}} {
					if got, want := s.tagTokens(tag), s.tagTokensSlow(tag); got != want {
						t.Fatalf("tag %q: table says %d tokens, the tokenizer %d", tag, got, want)
					}
				}
			}
		})
	}
}

// TestPartialCache checks the memoized partial-line answers against the
// tokenizer, asked twice (the second answer comes from the cache).
func TestPartialCache(t *testing.T) {
	s := newSynthetic(t, DefaultTokenizer)
	yes := 0
	for range 2 {
		for j, l := range s.lines {
			for r := 1; r < l.tokens; r++ {
				want := s.tok.Count(l.text[:l.ends[r-1]]) == r
				if got := s.partialExact(j, r); got != want {
					t.Fatalf("line %d %q, %d tokens: cache says %v, the tokenizer %v", j, l.text, r, got, want)
				}
				if want {
					yes++
				}
			}
		}
	}
	if yes == 0 {
		t.Fatal("no partial line counts as its tokens")
	}
}
