package workload

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// DefaultTokenizer names the encoding used when none is chosen. It is
// embedded in the binary, so llmload counts tokens offline.
const DefaultTokenizer = "cl100k_base"

// HFPrefix starts a tokenizer name that is a Hugging Face tokenizer.json
// file: "hf:path/to/tokenizer.json".
const HFPrefix = "hf:"

// Tokenizer counts tokens with a real BPE vocabulary: a tiktoken encoding
// (embedded) or a Hugging Face tokenizer.json. It is safe for concurrent
// use.
//
// A process builds each tokenizer once: NewTokenizer returns the same
// *Tokenizer for the same encoding (or the same tokenizer.json content),
// and the synthetic-prompt corpus of a tokenizer (the sonnets tokenized
// line by line, synthetic.go) is built once, the first time a synthetic
// source needs it, and shared by every source built on the tokenizer.
// Both are immutable once built, apart from caches that only memoize
// what the tokenizer would count (safe for concurrent use), so sharing
// them changes no prompt: what differs between runs (seeds, lengths,
// prefixes) stays in each source.
type Tokenizer struct {
	name  string
	codec tokenizer.Codec
	hf    *hfTokenizer

	// corpus is the synthetic-prompt corpus, built once (syntheticCorpus).
	corpusOnce sync.Once
	corpus     *corpus
	corpusErr  error
}

// tokenizers caches the tokenizers built in this process, by key
// (tokenizerKey); builds counts constructions by tokenizer name, for
// BuildCounts.
var tokenizers struct {
	mu     sync.Mutex
	byKey  map[string]*Tokenizer
	builds map[string]*buildCount
}

// buildCount counts the constructions of one named tokenizer and of its
// synthetic corpus.
type buildCount struct{ tokenizers, corpora int }

// NewTokenizer returns the named encoding: cl100k_base, o200k_base,
// p50k_base or r50k_base, or "hf:FILE" for the Hugging Face
// tokenizer.json FILE (see hfTokenizer for what it supports). An empty
// name means DefaultTokenizer.
//
// It builds each tokenizer once per process and returns the same one
// after: a tiktoken encoding by name, a tokenizer.json by name and
// content (the file is read every time, so an edited file is a new
// tokenizer). Errors are not cached.
func NewTokenizer(name string) (*Tokenizer, error) {
	if name == "" {
		name = DefaultTokenizer
	}
	key := name
	var hfData []byte
	if path, ok := strings.CutPrefix(name, HFPrefix); ok {
		if path == "" {
			return nil, fmt.Errorf("tokenizer %q: no file after hf:", name)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		key, hfData = fmt.Sprintf("%s\x00%x", name, sum), b
	}
	tokenizers.mu.Lock()
	defer tokenizers.mu.Unlock()
	if t := tokenizers.byKey[key]; t != nil {
		return t, nil
	}
	t := &Tokenizer{name: name}
	if hfData != nil {
		hf, err := parseHFTokenizer(hfData)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", name, err)
		}
		t.hf = hf
	} else {
		c, err := tokenizer.Get(tokenizer.Encoding(name))
		if err != nil {
			return nil, fmt.Errorf("tokenizer %q: %w (known: cl100k_base, o200k_base, p50k_base, r50k_base, hf:FILE)", name, err)
		}
		t.codec = c
	}
	if tokenizers.byKey == nil {
		tokenizers.byKey, tokenizers.builds = map[string]*Tokenizer{}, map[string]*buildCount{}
	}
	tokenizers.byKey[key] = t
	countBuild(name, func(c *buildCount) { c.tokenizers++ })
	return t, nil
}

// countBuild updates the build count of the named tokenizer; the caller
// holds tokenizers.mu.
func countBuild(name string, f func(*buildCount)) {
	c := tokenizers.builds[name]
	if c == nil {
		c = &buildCount{}
		tokenizers.builds[name] = c
	}
	f(c)
}

// BuildCounts reports how many times this process has built the named
// tokenizer ("" means DefaultTokenizer) and the synthetic-prompt corpus
// of it: at most 1 each, whatever number of runs, sweep levels and
// checks used them, unless a tokenizer.json changed between uses. It is
// there for tests and diagnostics.
func BuildCounts(name string) (tokenizerBuilds, corpusBuilds int) {
	if name == "" {
		name = DefaultTokenizer
	}
	tokenizers.mu.Lock()
	defer tokenizers.mu.Unlock()
	if c := tokenizers.builds[name]; c != nil {
		return c.tokenizers, c.corpora
	}
	return 0, 0
}

// syntheticCorpus returns the corpus synthetic prompts are built from
// with t, built the first time it is asked for.
func (t *Tokenizer) syntheticCorpus() (*corpus, error) {
	t.corpusOnce.Do(func() {
		t.corpus, t.corpusErr = buildCorpus(t)
		tokenizers.mu.Lock()
		if tokenizers.builds != nil {
			countBuild(t.name, func(c *buildCount) { c.corpora++ })
		}
		tokenizers.mu.Unlock()
	})
	return t.corpus, t.corpusErr
}

// Name is the encoding's name.
func (t *Tokenizer) Name() string { return t.name }

// Count returns the number of tokens in s.
func (t *Tokenizer) Count(s string) int {
	if s == "" {
		return 0
	}
	if t.hf != nil {
		return len(t.hf.encode(s))
	}
	// The codec's Count: Encode's tokens, without building their ids and
	// strings.
	n, err := t.codec.Count(s)
	if err != nil {
		// It fails only on invalid UTF-8; count what a server would see
		// after replacing it rather than report nothing.
		n, _ = t.codec.Count(string([]rune(s)))
	}
	return n
}

// Encode returns the token ids of s.
func (t *Tokenizer) Encode(s string) []uint {
	if t.hf != nil {
		ids := t.hf.encode(s)
		out := make([]uint, len(ids))
		for i, id := range ids {
			out[i] = uint(id)
		}
		return out
	}
	ids, _, _ := t.codec.Encode(s)
	return ids
}

// tokenEnds returns, for each token k of s, the byte length of the text
// of its first k+1 tokens. A tiktoken encoding's tokens are pieces of s,
// whose lengths it hands out as it encodes: this spares building the
// reverse vocabulary (a 100k-entry table) that decoding each token needs.
func (t *Tokenizer) tokenEnds(s string) []int {
	var ends []int
	end := 0
	if t.hf != nil {
		ids := t.Encode(s)
		ends = make([]int, len(ids))
		for k := range ids {
			end += len(t.Decode(ids[k : k+1]))
			ends[k] = end
		}
		return ends
	}
	_, pieces, _ := t.codec.Encode(s)
	ends = make([]int, len(pieces))
	for k, p := range pieces {
		end += len(p)
		ends[k] = end
	}
	return ends
}

// Decode returns the text of ids.
func (t *Tokenizer) Decode(ids []uint) string {
	if t.hf != nil {
		return t.hf.decode(ids)
	}
	s, _ := t.codec.Decode(ids)
	return s
}
