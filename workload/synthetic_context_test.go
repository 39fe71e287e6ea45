package workload

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// metaspaceFiles are the test tokenizers that prepend "▁" to a text:
// Llama 2 style (Prepend and Replace normalizers) and Mistral style (a
// Metaspace pre-tokenizer, prepend_scheme first, 700 merges learned from
// the corpus by testdata/gen/mistral.py).
var metaspaceFiles = []string{"metaspace-tokenizer.json", "mistral-tokenizer.json"}

// TestContextSourcePrompts checks, through NewSource, that prompts under
// metaspace tokenizers have the drawn length, keep their unique tag line
// and are reproduced by the prompt seed; with shared prefixes too.
func TestContextSourcePrompts(t *testing.T) {
	for _, file := range metaspaceFiles {
		t.Run(file, func(t *testing.T) {
			tok, err := NewTokenizer("hf:testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{MeanInputTokens: 300, StddevInputTokens: AutoStddev, MeanOutputTokens: 100,
				Seed: 4, PromptSeed: 11, Tokenizer: tok}
			a, b := newTestSource(t, opts), newTestSource(t, opts)
			opts.PromptSeed = 12
			c := newTestSource(t, opts)
			tags := map[string]int64{}
			for i := range int64(200) {
				p := a.Prompt(i)
				if got := tok.Count(p.Text); got != p.InputTokens {
					t.Fatalf("Prompt(%d) counts %d tokens, InputTokens %d:\n%q", i, got, p.InputTokens, p.Text)
				}
				tag, _, _ := strings.Cut(p.Text, "\n")
				if len(strings.Fields(tag)) < 3 {
					t.Fatalf("Prompt(%d) of %d tokens starts with %q, not a tag line", i, p.InputTokens, tag)
				}
				if j, dup := tags[tag]; dup {
					t.Fatalf("Prompt(%d) and Prompt(%d) share the tag line %q", j, i, tag)
				}
				tags[tag] = i
				if pb := b.Prompt(i); pb != p {
					t.Fatalf("same prompt seed, Prompt(%d) differs", i)
				}
				if pc := c.Prompt(i); pc.Text == p.Text || pc.InputTokens != p.InputTokens {
					t.Fatalf("prompt seeds 11 and 12, Prompt(%d): want another text of the same length", i)
				}
			}
			// Shared prefixes: the prefix starts the text, and the tag
			// after it is counted after a newline.
			opts.PrefixTokens, opts.PrefixGroups = 120, 3
			src := newTestSource(t, opts)
			for i := range int64(30) {
				p := src.Prompt(i)
				if got := tok.Count(p.Text); got != p.InputTokens || p.PrefixTokens != 120 {
					t.Fatalf("Prompt(%d) with a prefix counts %d tokens, InputTokens %d, PrefixTokens %d", i, got, p.InputTokens, p.PrefixTokens)
				}
				if got := tok.Count(p.Text[:strings.Index(p.Text, "\n")+1]); got > 120 {
					t.Fatalf("the prefix's first line alone counts %d tokens", got)
				}
			}
		})
	}
}

// TestNewlineBarrierSameIDs checks that running BPE on each side of the
// runs of newlines (hfTokenizer.nlBarrier) gives the ids of running it on
// the whole piece.
func TestNewlineBarrierSameIDs(t *testing.T) {
	// A part of the corpus: BPE on a whole piece takes time quadratic in
	// its length, and the Llama 2 style file has no pre-tokenizer.
	texts := []string{sonnets[:3000], "\n", "\n\n", "a\n\nb", " \n the\n  an \n", "the\nthe", "Hé\n\n\ncafé\n", "x\n"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("the an\n\n ▁é東")
	for range 300 {
		rs := make([]rune, 1+r.IntN(30))
		for k := range rs {
			rs[k] = alphabet[r.IntN(len(alphabet))]
		}
		texts = append(texts, string(rs))
	}
	for _, file := range metaspaceFiles {
		split, err := loadHFTokenizer("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := loadHFTokenizer("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if !split.nlBarrier || !split.lineLocal {
			t.Fatalf("%s: nlBarrier %v, lineLocal %v", file, split.nlBarrier, split.lineLocal)
		}
		whole.nlBarrier = false
		for _, s := range texts {
			if a, b := split.encode(s), whole.encode(s); !slices.Equal(a, b) {
				t.Fatalf("%s %q: %v split at newlines, %v whole", file, s, a, b)
			}
		}
	}
}

// TestContextRefused checks that a metaspace tokenizer whose tokens can
// span a newline is still refused for synthetic prompts, with the error
// that names the reason, rather than used for prompts of a wrong length.
func TestContextRefused(t *testing.T) {
	raw, err := os.ReadFile("testdata/metaspace-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, why string
		edit      func(m map[string]any)
	}{
		{"a merge across a newline", `the merge "e \n" joins`, func(m map[string]any) {
			model := m["model"].(map[string]any)
			model["merges"] = append(model["merges"].([]any), []any{"e", "\n"})
			model["vocab"].(map[string]any)["e\n"] = 300
		}},
		{"a Replace of the newline", "a Replace normalizer", func(m map[string]any) {
			n := m["normalizer"].(map[string]any)
			n["normalizers"] = append(n["normalizers"].([]any),
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "\n"}, "content": "▁"})
		}},
	} {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		tc.edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := NewTokenizer("hf:" + path)
		if err != nil {
			t.Fatal(err)
		}
		if tok.hf.lineLocal {
			t.Errorf("%s: lineLocal", tc.name)
		}
		_, err = NewSource(Options{MeanInputTokens: 100, MeanOutputTokens: 16, Seed: 3, Tokenizer: tok})
		if err == nil || !strings.Contains(err.Error(), "cannot build exact-length synthetic prompts") || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
}

// BenchmarkSyntheticPromptHF measures building prompts under the
// Mistral-style tokenizer (lines counted in context) and the byte-level
// one, for comparison with BenchmarkSyntheticPrompt (cl100k_base).
func BenchmarkSyntheticPromptHF(b *testing.B) {
	for _, file := range []string{"mistral-tokenizer.json", "bytelevel-tokenizer.json"} {
		tok, err := NewTokenizer("hf:testdata/" + file)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{550, 4000} {
			b.Run(strings.TrimSuffix(file, "-tokenizer.json")+"/tokens="+strconv.Itoa(n), func(b *testing.B) {
				src := newTestSource(b, Options{MeanInputTokens: n, MeanOutputTokens: 150, Seed: 1, Tokenizer: tok})
				b.ReportAllocs()
				var i int64
				for b.Loop() {
					src.Prompt(i)
					i++
				}
			})
		}
	}
}

// mergeReference is BPE as the definition reads, in O(n²): merge the
// leftmost adjacent pair of lowest rank until no pair has a rank. It
// returns the symbols.
func mergeReference(t *hfTokenizer, piece string) []string {
	var syms []string
	for _, r := range piece {
		syms = append(syms, string(r))
	}
	for len(syms) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] += syms[at+1]
		syms = slices.Delete(syms, at+1, at+2)
	}
	return syms
}

// TestMergeMatchesReference checks the heap-based merge against the
// definition on corpus text and random strings, for every test file.
func TestMergeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields(sonnets)
	var pieces []string
	for range 400 {
		var b strings.Builder
		for k := range 1 + r.IntN(40) {
			if k > 0 {
				b.WriteString([]string{" ", "▁", "Ġ", ""}[r.IntN(4)])
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		pieces = append(pieces, b.String())
	}
	alphabet := []rune("theanĠ▁ sé\xff")
	for range 400 {
		rs := make([]rune, 1+r.IntN(60))
		for k := range rs {
			rs[k] = alphabet[r.IntN(len(alphabet))]
		}
		pieces = append(pieces, string(rs), "\xff"+string(rs)+"\xfe")
	}
	for _, file := range []string{"bytelevel-tokenizer.json", "metaspace-tokenizer.json", "mistral-tokenizer.json"} {
		tok, err := loadHFTokenizer("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pieces {
			if got, want := tok.mergeSymbols(p), mergeReference(tok, p); !slices.Equal(got, want) {
				t.Fatalf("%s %q: merged to %q, want %q", file, p, got, want)
			}
		}
	}
}

// loadHFTokenizer reads and parses a tokenizer.json afresh, bypassing
// NewTokenizer's cache: these tests change the tokenizer they get.
func loadHFTokenizer(path string) (*hfTokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseHFTokenizer(b)
}
