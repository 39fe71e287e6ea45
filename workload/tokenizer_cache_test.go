package workload

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tiktoken-go/tokenizer"
)

// uncachedTokenizer builds the named tiktoken encoding afresh, outside
// NewTokenizer's cache, with its own corpus: the reference a shared one
// must match. Its name differs, so BuildCounts does not count it.
func uncachedTokenizer(t *testing.T, name string) *Tokenizer {
	t.Helper()
	c, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		t.Fatal(err)
	}
	return &Tokenizer{name: "uncached " + name, codec: c}
}

// TestTokenizerBuiltOnce: NewTokenizer returns one tokenizer per encoding,
// and every synthetic source built on it, with any options, shares one
// corpus: each is built once in the process, however many sources (runs,
// sweep levels, checks) use them.
func TestTokenizerBuiltOnce(t *testing.T) {
	for _, name := range encodings {
		a, err := NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for k := range 8 {
			wg.Go(func() {
				b, err := NewTokenizer(name)
				if err != nil {
					t.Error(err)
					return
				}
				if b != a {
					t.Errorf("%s: NewTokenizer built a second tokenizer", name)
				}
				src, err := NewSource(Options{MeanInputTokens: 40 + k, StddevInputTokens: k, MeanOutputTokens: 16,
					Seed: uint64(k), PromptSeed: uint64(k + 1), Tokenizer: b, PrefixTokens: 8 * (k % 2), SystemPrompt: "be brief"})
				if err != nil {
					t.Error(err)
					return
				}
				if p := src.Prompt(int64(k)); b.Count(p.Text) != p.InputTokens {
					t.Errorf("%s: prompt of %d tokens counts %d", name, p.InputTokens, b.Count(p.Text))
				}
			})
		}
		wg.Wait()
		if toks, corpora := BuildCounts(name); toks != 1 || corpora != 1 {
			t.Errorf("%s: built %d tokenizers and %d corpora; want 1 and 1", name, toks, corpora)
		}
	}
	def, _ := NewTokenizer("")
	if cl, _ := NewTokenizer(DefaultTokenizer); def != cl {
		t.Error(`NewTokenizer("") and NewTokenizer(DefaultTokenizer) differ`)
	}
	if toks, _ := BuildCounts(""); toks != 1 {
		t.Errorf("the default tokenizer was built %d times", toks)
	}
}

// TestSharedCorpusKeepsEachSourcesPrompts: sources that share a tokenizer
// and its corpus, drawn from in turns, each give exactly the prompts of a
// source built alone on a tokenizer and corpus of its own (each counting
// exactly its length with its own tokenizer), and sources on one
// tokenizer that differ in prompt seed, seed, lengths or shared prefix
// give different prompts.
func TestSharedCorpusKeepsEachSourcesPrompts(t *testing.T) {
	opts := []Options{
		{MeanInputTokens: 120, StddevInputTokens: 30, MeanOutputTokens: 50, Seed: 1, PromptSeed: 7},
		{MeanInputTokens: 120, StddevInputTokens: 30, MeanOutputTokens: 50, Seed: 1, PromptSeed: 8},
		{MeanInputTokens: 120, StddevInputTokens: 30, MeanOutputTokens: 50, Seed: 2, PromptSeed: 7},
		{MeanInputTokens: 300, StddevInputTokens: 0, MeanOutputTokens: 20, Seed: 1, PromptSeed: 7},
		{MeanInputTokens: 120, StddevInputTokens: 30, MeanOutputTokens: 50, Seed: 1, PromptSeed: 7, PrefixTokens: 64, PrefixGroups: 3},
	}
	type built struct {
		name       string
		tok        *Tokenizer
		src, alone Source
	}
	var all []built
	for _, name := range []string{"cl100k_base", "p50k_base", "o200k_base"} {
		tok, err := NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		for k, o := range opts {
			o.Tokenizer = tok
			src, err := NewSource(o)
			if err != nil {
				t.Fatal(err)
			}
			o.Tokenizer = uncachedTokenizer(t, name)
			alone, err := NewSource(o)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, built{fmt.Sprintf("%s, options %d", name, k), tok, src, alone})
		}
	}
	seen := map[string]string{}
	for i := range int64(40) {
		for _, b := range all {
			p, q := b.src.Prompt(i), b.alone.Prompt(i)
			if p != q {
				t.Fatalf("%s, request %d: the shared corpus gave\n%+v\nalone:\n%+v", b.name, i, p, q)
			}
			if n := b.tok.Count(p.Text); n != p.InputTokens {
				t.Fatalf("%s, request %d: %d tokens, want %d", b.name, i, n, p.InputTokens)
			}
			key := b.tok.Name() + "\x00" + p.Text
			if other, dup := seen[key]; dup {
				t.Fatalf("%s and %s sent the same prompt %q", b.name, other, p.Text)
			}
			seen[key] = b.name
		}
	}
}

// TestHFTokenizerCachedByContent: a tokenizer.json is one tokenizer while
// its content stays the same; rewritten, the same name gives a new
// tokenizer that counts with the new file.
func TestHFTokenizerCachedByContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	name := HFPrefix + path
	var first *Tokenizer
	for k, file := range []string{"bytelevel-tokenizer.json", "metaspace-tokenizer.json"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		again, err := NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		if again != tok {
			t.Errorf("%s: built twice", file)
		}
		if k == 0 {
			first = tok
		} else if tok == first {
			t.Fatalf("%s: the tokenizer of the file's former content was reused", file)
		}
		ref, err := loadHFTokenizer("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		const text = "From fairest creatures we desire increase,\nThat thereby beauty's rose might never die"
		if got, want := tok.Count(text), len(ref.encode(text)); got != want {
			t.Errorf("%s: counts %d tokens, the file says %d", file, got, want)
		}
		if _, err := NewSource(Options{MeanInputTokens: 50, Tokenizer: tok}); err != nil {
			t.Fatal(err)
		}
		if toks, corpora := BuildCounts(name); toks != k+1 || corpora != k+1 {
			t.Errorf("after %s: %d tokenizers and %d corpora built; want %d of each", file, toks, corpora, k+1)
		}
	}
}

// TestCountIsEncodeLength: Count (the codec's Count) gives the number of
// tokens Encode gives, for every tiktoken encoding, on text, code,
// whitespace, special-token text, other scripts and invalid UTF-8 (which
// Count counts after replacing, as it always did).
func TestCountIsEncodeLength(t *testing.T) {
	texts := []string{"", "hello world", "The quick brown fox jumps over the lazy dog. " + strings.Repeat("token ", 300),
		"func main() {\n\tfmt.Println(\"hi\")\n}\n", "  \n\n\t  ", "<|endoftext|> <|im_start|>", "日本語のテキスト、emoji 🎉🎉 and é\u0301",
		"bad \xff\xfe utf-8 \xe2\x82", "1234567890 3.14159 -42"}
	for _, enc := range []string{"cl100k_base", "o200k_base", "p50k_base", "r50k_base"} {
		tok, err := NewTokenizer(enc)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			ids, _, err := tok.codec.Encode(s)
			if err != nil {
				ids, _, _ = tok.codec.Encode(string([]rune(s)))
			}
			if got := tok.Count(s); got != len(ids) {
				t.Errorf("%s: Count(%q) = %d; Encode gives %d tokens", enc, s, got, len(ids))
			}
		}
	}
}
