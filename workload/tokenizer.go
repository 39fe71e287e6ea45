package workload

import (
	"fmt"
	"strings"

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
type Tokenizer struct {
	name  string
	codec tokenizer.Codec
	hf    *hfTokenizer
}

// NewTokenizer returns the named encoding: cl100k_base, o200k_base,
// p50k_base or r50k_base, or "hf:FILE" for the Hugging Face
// tokenizer.json FILE (see hfTokenizer for what it supports). An empty
// name means DefaultTokenizer.
func NewTokenizer(name string) (*Tokenizer, error) {
	if name == "" {
		name = DefaultTokenizer
	}
	if path, ok := strings.CutPrefix(name, HFPrefix); ok {
		if path == "" {
			return nil, fmt.Errorf("tokenizer %q: no file after hf:", name)
		}
		hf, err := loadHFTokenizer(path)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", name, err)
		}
		return &Tokenizer{name: name, hf: hf}, nil
	}
	c, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w (known: cl100k_base, o200k_base, p50k_base, r50k_base, hf:FILE)", name, err)
	}
	return &Tokenizer{name: name, codec: c}, nil
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
	ids, _, err := t.codec.Encode(s)
	if err != nil {
		// Encode fails only on invalid UTF-8; count what a server would
		// see after replacing it rather than report nothing.
		ids, _, _ = t.codec.Encode(string([]rune(s)))
	}
	return len(ids)
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

// Decode returns the text of ids.
func (t *Tokenizer) Decode(ids []uint) string {
	if t.hf != nil {
		return t.hf.decode(ids)
	}
	s, _ := t.codec.Decode(ids)
	return s
}
