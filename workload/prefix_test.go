package workload

import (
	"strings"
	"testing"
)

// TestSharedPrefixes: every prompt starts with one of K shared prefixes of
// exactly N tokens, its unique tag comes after the prefix, and InputTokens
// is the exact count of the whole text.
func TestSharedPrefixes(t *testing.T) {
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 3, 7, 16, 100, 513} {
		src, err := NewSource(Options{MeanInputTokens: 40, StddevInputTokens: 10, MeanOutputTokens: 8,
			PrefixTokens: n, PrefixGroups: 3, Seed: 7, PromptSeed: 9, Tokenizer: tok})
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		prefixes := map[string]int{}
		for i := range int64(60) {
			p := src.Prompt(i)
			if got := tok.Count(p.Text); got != p.InputTokens {
				t.Fatalf("n=%d request %d: InputTokens %d, text counts %d", n, i, p.InputTokens, got)
			}
			if p.PrefixTokens != n || p.PrefixGroup < 0 || p.PrefixGroup > 2 {
				t.Fatalf("n=%d: prefix tokens %d group %d", n, p.PrefixTokens, p.PrefixGroup)
			}
			// The prefix is the text up to the n-th token.
			ids := tok.Encode(p.Text)
			pre := tok.Decode(ids[:n])
			if k, ok := prefixes[pre]; ok && k != p.PrefixGroup {
				t.Fatalf("n=%d: one prefix text in groups %d and %d", n, k, p.PrefixGroup)
			}
			prefixes[pre] = p.PrefixGroup
			// The unique tag follows the prefix, so two prompts of a group
			// differ right after it.
			if !strings.HasPrefix(p.Text, pre) {
				t.Fatalf("n=%d: text does not start with its prefix", n)
			}
		}
		if len(prefixes) != 3 {
			t.Errorf("n=%d: %d distinct prefixes over 60 requests, want 3", n, len(prefixes))
		}
	}
	if _, err := NewSource(Options{MeanInputTokens: 40, PrefixTokens: 1, PrefixGroups: 2, Tokenizer: tok}); err == nil {
		t.Error("two distinct 1-token prefixes: no error")
	}
	// Prompts of one group differ after the prefix (their tags).
	src, _ := NewSource(Options{MeanInputTokens: 40, PrefixTokens: 50, Seed: 1, PromptSeed: 2, Tokenizer: tok})
	a, b := src.Prompt(0), src.Prompt(1)
	if a.PrefixGroup != b.PrefixGroup || a.Text == b.Text {
		t.Fatalf("one group: groups %d %d, equal texts %t", a.PrefixGroup, b.PrefixGroup, a.Text == b.Text)
	}
	ta, tb := tok.Encode(a.Text), tok.Encode(b.Text)
	if tok.Decode(ta[:50]) != tok.Decode(tb[:50]) || tok.Decode(ta[50:51]) == tok.Decode(tb[50:51]) && tok.Decode(ta[50:53]) == tok.Decode(tb[50:53]) {
		t.Errorf("prefix not shared, or the texts agree past it")
	}
}

// TestPrefixOptionErrors: prefixes need synthetic prompts, and groups need
// a prefix length.
func TestPrefixOptionErrors(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{MeanInputTokens: 10, PrefixGroups: 2}, "--prefix-groups needs --prefix-tokens"},
		{Options{Prompt: "hi", PrefixTokens: 10}, "--prefix-tokens works with synthetic prompts"},
		{Options{MeanInputTokens: 10, PrefixTokens: -1}, "--prefix-tokens must not be negative"},
	} {
		if err := c.o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.o, err, c.want)
		}
	}
}
