package workload

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The two tokenizer.json files in testdata are small BPE vocabularies in
// the styles of real models: bytelevel-tokenizer.json as Qwen2 and Llama 3
// (NFC, a Split regex with look-ahead, byte-level BPE, added chat tokens),
// metaspace-tokenizer.json as Llama 2 and Mistral 7B (Prepend and Replace
// normalizers, no pre-tokenizer, byte fallback, unk). Their merges are in
// rank order:
//
//	bytelevel: Ġ t, h e, Ġt he, t h, th e, i n, Ġ a, e r, Ġ s, o u
//	metaspace: ▁ t, h e, ▁t he, a n, ▁ a

// TestHFTokenizerCounts checks counts worked by hand from the merges.
func TestHFTokenizerCounts(t *testing.T) {
	for _, tc := range []struct {
		file, text string
		want       int
		why        string
	}{
		{"bytelevel", "the", 2, `t,h,e: "h e" (rank 1) beats "t h" (rank 3), then "t he" has no rank: t + he`},
		{"bytelevel", " the", 1, `Ġ,t,h,e: Ġt, then he, then Ġthe`},
		{"bytelevel", "in the inn", 5, `"in" 1 + " the" 1 + " inn": Ġ,in,n 3`},
		{"bytelevel", "Hello<|im_end|>\n", 7, `H,e,l,l,o 5 + the added token 1 + Ċ 1`},
		{"bytelevel", "café", 5, `c,a,f + é's two bytes`},
		{"bytelevel", "cafe\u0301", 5, `NFC makes it café`},
		{"bytelevel", "a  b", 4, `"a", " " (\s+(?!\S) leaves the last space to the word), " b" = Ġ,b: 1+1+2`},
		{"bytelevel", "", 0, ""},
		{"metaspace", "the", 1, `▁the: ▁t, he, ▁the`},
		{"metaspace", "the cat", 5, `▁the + ▁,c,a,t (no merge applies)`},
		{"metaspace", "Hé", 4, `▁ + byte fallback: <0x48>, <0xC3>, <0xA9>`},
		{"metaspace", "the\n", 2, `▁the + <0x0A>`},
		{"metaspace", "an</s>an", 5, `▁,a,n: "a n" (rank 3) beats "▁ a" (rank 4): ▁,an; then </s>; then ▁,an again, as the normalizers run on each text between added tokens`},
	} {
		tok, err := NewTokenizer("hf:testdata/" + tc.file + "-tokenizer.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Count(tc.text); got != tc.want {
			t.Errorf("%s %q: %d tokens %v, want %d (%s)", tc.file, tc.text, got, tok.Encode(tc.text), tc.want, tc.why)
		}
	}
}

// TestHFTokenizerRoundTrip checks that byte-level ids decode to the text.
func TestHFTokenizerRoundTrip(t *testing.T) {
	tok, err := NewTokenizer("hf:testdata/bytelevel-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Shall I compare thee to a summer's day?\n", "naïve — 東京 🙂\t\r\n", "<|im_start|>user\nhi<|im_end|>"} {
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("%q decodes to %q", s, got)
		}
	}
}

// TestHFTokenizerErrors checks that bad files fail with a clear error.
func TestHFTokenizerErrors(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"hf:testdata/missing.json", "no such file"},
		{"hf:testdata/broken-tokenizer.json", "not a tokenizer.json"},
		{"hf:testdata/wordpiece-tokenizer.json", `model type "WordPiece" is not supported`},
		{"hf:", "no file after hf:"},
	} {
		_, err := NewTokenizer(tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tokenizer") {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestHFTokenizerSyntheticMetaspace checks that synthetic prompts have
// exactly the requested length, every length from 1 to 2,000, under
// tokenizers that prepend "▁" to the text (Llama 2 and Mistral style),
// where a line counts differently alone and inside a prompt.
func TestHFTokenizerSyntheticMetaspace(t *testing.T) {
	for _, file := range []string{"metaspace-tokenizer.json", "mistral-tokenizer.json"} {
		t.Run(file, func(t *testing.T) {
			tok, err := NewTokenizer("hf:testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := newSyntheticSource(tok, 1, 1, newLengthDist(1, 0), lengthDist{})
			if err != nil {
				t.Fatal(err)
			}
			if s.ctx == nil {
				t.Fatal("lines are not counted in context")
			}
			var lengths []int
			for n := 1; n <= 2000; n++ {
				if n <= 200 || n%7 == 0 || !(testing.Short() || raceEnabled) {
					lengths = append(lengths, n)
				}
			}
			checkExactAll(len(lengths), func(k int) bool {
				n := lengths[k]
				return checkExact(t, s, n, (n%3)*75, rand.New(rand.NewPCG(1, uint64(n))))
			})
			checkExactAll(10, func(k int) bool {
				r := rand.New(rand.NewPCG(2, uint64(k)))
				return checkExact(t, s, 1+r.IntN(12000), r.IntN(2000), r)
			})
		})
	}
}

// TestHFTokenizerSyntheticPrompts checks that synthetic prompts have
// exactly the requested length under a byte-level tokenizer.json.
func TestHFTokenizerSyntheticPrompts(t *testing.T) {
	tok, err := NewTokenizer("hf:testdata/bytelevel-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 7, 64, 333, 2000} {
		src, err := NewSource(Options{MeanInputTokens: n, MeanOutputTokens: 16, Seed: 3, Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		for i := range int64(5) {
			p := src.Prompt(i)
			if p.InputTokens != n {
				t.Fatalf("asked for %d, drew %d", n, p.InputTokens)
			}
			if got := tok.Count(p.Text); got != n {
				t.Errorf("prompt %d of %d tokens counts %d", i, n, got)
			}
		}
	}
}

// FuzzHFTokenizer checks that any text encodes without a panic and, under
// the byte-level tokenizer, decodes back to itself once NFC-normalized,
// and that the metaspace tokenizer never drops a byte it cannot merge
// (byte fallback: at least one token per byte that is not a vocabulary
// character).
func FuzzHFTokenizer(f *testing.F) {
	bl, err := NewTokenizer("hf:testdata/bytelevel-tokenizer.json")
	if err != nil {
		f.Fatal(err)
	}
	ms, err := NewTokenizer("hf:testdata/metaspace-tokenizer.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"the cat", "<|im_start|>x<|im_end|>", "  \n\t", "é\u0301", "\xff\xfe", "<unk></s>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := norm.NFC.String(s)
		if got := bl.Decode(bl.Encode(s)); utf8.ValidString(s) && got != want {
			t.Errorf("%q decodes to %q, want %q", s, got, want)
		}
		if n := ms.Count(s); s != "" && n == 0 {
			t.Errorf("%q counts 0 tokens", s)
		}
	})
}

// BenchmarkTokenizerCount compares counting a 4,000-token synthetic
// prompt with cl100k_base and with the byte-level tokenizer.json.
func BenchmarkTokenizerCount(b *testing.B) {
	for _, name := range []string{"cl100k_base", "hf:testdata/bytelevel-tokenizer.json"} {
		tok, err := NewTokenizer(name)
		if err != nil {
			b.Fatal(err)
		}
		src, err := NewSource(Options{MeanInputTokens: 4000, MeanOutputTokens: 16, Seed: 1, Tokenizer: tok})
		if err != nil {
			b.Fatal(err)
		}
		text := src.Prompt(0).Text
		b.Run(strings.TrimSuffix(strings.TrimPrefix(name, "hf:testdata/"), ".json"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tok.Count(text) != 4000 {
					b.Fatal("not 4000")
				}
			}
		})
	}
}
