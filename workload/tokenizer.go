package workload

import (
	"fmt"

	"github.com/tiktoken-go/tokenizer"
)

// DefaultTokenizer names the encoding used when none is chosen. It is
// embedded in the binary, so llmload counts tokens offline.
const DefaultTokenizer = "cl100k_base"

// Tokenizer counts tokens with a real BPE vocabulary (tiktoken encodings,
// embedded). It is safe for concurrent use.
type Tokenizer struct {
	name  string
	codec tokenizer.Codec
}

// NewTokenizer returns the named encoding: cl100k_base, o200k_base,
// p50k_base or r50k_base. An empty name means DefaultTokenizer.
func NewTokenizer(name string) (*Tokenizer, error) {
	if name == "" {
		name = DefaultTokenizer
	}
	c, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w (known: cl100k_base, o200k_base, p50k_base, r50k_base)", name, err)
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
	ids, _, _ := t.codec.Encode(s)
	return ids
}

// Decode returns the text of ids.
func (t *Tokenizer) Decode(ids []uint) string {
	s, _ := t.codec.Decode(ids)
	return s
}
