package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"golang.org/x/text/unicode/norm"
)

// hfTokenizer is a Hugging Face tokenizer.json with a BPE model, the
// tokenizers of Llama 2 and 3, Mistral, Qwen, GPT-2 and most open models:
// added tokens matched verbatim, then the normalizers, the pre-tokenizers
// and BPE merges of the file, as the tokenizers library applies them
// (encode with add_special_tokens=False: no BOS, no template).
//
// It implements the parts of the format those models use and refuses
// the rest by name rather than count wrongly: model BPE (vocab, merges as
// "a b" or ["a","b"], byte_fallback, unk_token, ignore_merges);
// normalizers Sequence, Prepend, Replace (of a String), NFC, NFKC,
// Lowercase; pre-tokenizers Sequence, Split (a Regex or a String,
// behavior Isolated or Removed, not inverted), ByteLevel and Metaspace.
// Regular expressions are compiled with regexp2, which has the look-ahead
// the Llama 3 and Qwen patterns need.
type hfTokenizer struct {
	vocab        map[string]int
	tokens       []string // id → token
	ranks        map[[2]string]int
	byteLevel    bool // symbols are GPT-2's byte-to-unicode characters
	byteFallback bool
	unk          string
	hasUnk       bool
	ignoreMerges bool

	// nlBarrier: no merge joins a "\n" to anything but "\n" and "\n" has a
	// token of its own (or a byte-fallback one), so BPE never makes a token
	// across the edge of a run of newlines, and encodeSegment runs it on
	// each side separately: same ids, and a cache that works per line for
	// tokenizers without pre-tokenizers (Llama 2).
	nlBarrier bool
	// lineLocal: besides nlBarrier, no normalizer, pre-tokenizer or added
	// token looks across a "\n" (no Split regex, no byte-level, no Replace
	// or added token with a "\n"). The tokens between two runs of
	// newlines then depend on that text alone, except for the "▁" a
	// Prepend or Metaspace puts at the start of the whole text
	// (synthetic_context.go).
	lineLocal    bool
	notLineLocal string // why not lineLocal
	splits       bool   // a Split pre-tokenizer
	nlReplace    bool   // a Replace normalizer with a "\n" in its pattern or content

	normalizers []func(string) string
	pre         []preTokenizer

	// added are the added tokens, matched verbatim before anything else,
	// by first byte, longest first.
	added map[byte][]string

	cache  sync.Map // piece → []int, bounded by cacheSize
	cached int64
	mu     sync.Mutex
}

// preTokenizer splits each piece of a text further.
type preTokenizer func(pieces []string, first bool) []string

// hfCacheSize bounds the per-piece cache of BPE results.
const hfCacheSize = 1 << 16

// hfFile is the part of tokenizer.json llmload reads.
type hfFile struct {
	AddedTokens []struct {
		Content string `json:"content"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         *hfModel        `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
}

type hfModel struct {
	Type         string            `json:"type"`
	Vocab        map[string]int    `json:"vocab"`
	Merges       []json.RawMessage `json:"merges"`
	UnkToken     *string           `json:"unk_token"`
	ByteFallback bool              `json:"byte_fallback"`
	IgnoreMerges bool              `json:"ignore_merges"`
}

// hfComponent is a normalizer or pre-tokenizer object.
type hfComponent struct {
	Type           string            `json:"type"`
	Normalizers    []json.RawMessage `json:"normalizers"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Prepend        string            `json:"prepend"`
	Pattern        *hfPattern        `json:"pattern"`
	Content        string            `json:"content"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Replacement    string            `json:"replacement"`
	PrependScheme  string            `json:"prepend_scheme"`
	Split          *bool             `json:"split"`
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// gpt2Split is the GPT-2 pattern of a ByteLevel pre-tokenizer with use_regex.
const gpt2Split = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// parseHFTokenizer parses the content of a tokenizer.json.
func parseHFTokenizer(b []byte) (*hfTokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	m := f.Model
	if m == nil {
		return nil, errors.New(`not a tokenizer.json: no "model"`)
	}
	if m.Type != "BPE" && !(m.Type == "" && m.Merges != nil) {
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("the model's vocab is empty")
	}
	t := &hfTokenizer{vocab: m.Vocab, ranks: make(map[[2]string]int, len(m.Merges)),
		byteFallback: m.ByteFallback, ignoreMerges: m.IgnoreMerges, added: map[byte][]string{}}
	if m.UnkToken != nil {
		t.unk, t.hasUnk = *m.UnkToken, true
	}
	for i, raw := range m.Merges {
		var pair [2]string
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d (%q) is not two tokens", i, s)
			}
			pair = [2]string{a, b}
		} else if err := json.Unmarshal(raw, &pair); err != nil {
			return nil, fmt.Errorf("merge %d is neither \"a b\" nor [\"a\", \"b\"]", i)
		}
		if _, dup := t.ranks[pair]; !dup {
			t.ranks[pair] = i
		}
	}
	for _, a := range f.AddedTokens {
		if a.Content == "" {
			continue
		}
		if _, ok := t.vocab[a.Content]; !ok {
			t.vocab[a.Content] = len(t.vocab)
		}
		t.added[a.Content[0]] = append(t.added[a.Content[0]], a.Content)
	}
	for k := range t.added {
		slices.SortFunc(t.added[k], func(a, b string) int { return len(b) - len(a) })
	}
	maxID := 0
	for _, id := range t.vocab {
		if id < 0 {
			return nil, fmt.Errorf("negative token id %d", id)
		}
		maxID = max(maxID, id)
	}
	if maxID >= 4*len(t.vocab)+1024 {
		return nil, fmt.Errorf("token ids run to %d for %d tokens", maxID, len(t.vocab))
	}
	t.tokens = make([]string, maxID+1)
	for s, id := range t.vocab {
		t.tokens[id] = s
	}
	if err := t.normalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if err := t.preTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	why := ""
	t.nlBarrier, why = t.newlineBarrier()
	switch {
	case why != "":
	case t.splits:
		why = "it has a Split pre-tokenizer"
	case t.nlReplace:
		why = `a Replace normalizer involves "\n"`
	}
	for _, as := range t.added {
		for _, a := range as {
			if why == "" && strings.Contains(a, "\n") {
				why = fmt.Sprintf(`the added token %q has a "\n"`, a)
			}
		}
	}
	t.lineLocal, t.notLineLocal = why == "", why
	return t, nil
}

// newlineBarrier reports whether BPE can never make a token that spans
// the edge of a run of "\n": the symbols are not byte-level (where "\n"
// is "Ċ"), merges join a "\n" only to another "\n", "\n" is a token or
// has a byte-fallback one (an unknown "\n" could fuse with unknown
// neighbours), and ignore_merges is off (a whole piece can be a token).
// BPE merges the pair of lowest rank anywhere in a piece; when no pair
// straddles such an edge, the merges on either side never interact, so
// running BPE on each side gives the same ids.
func (t *hfTokenizer) newlineBarrier() (bool, string) {
	if t.byteLevel {
		return false, "its symbols are byte-level"
	}
	if t.ignoreMerges {
		return false, "ignore_merges is set"
	}
	if _, ok := t.vocab["\n"]; !ok {
		if _, ok := t.vocab["<0x0A>"]; !ok || !t.byteFallback {
			return false, `"\n" has no token`
		}
	}
	for pair := range t.ranks {
		if m := pair[0] + pair[1]; strings.Contains(m, "\n") && strings.Trim(m, "\n") != "" {
			return false, fmt.Sprintf("the merge %q joins a \"\\n\" to other text", pair[0]+" "+pair[1])
		}
	}
	return true, ""
}

// splitNewlines splits p into maximal runs of "\n" and of other text.
func splitNewlines(out []string, p string) []string {
	for p != "" {
		nl := p[0] == '\n'
		j := 1
		for j < len(p) && (p[j] == '\n') == nl {
			j++
		}
		out = append(out, p[:j])
		p = p[j:]
	}
	return out
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func (t *hfTokenizer) normalizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	switch c.Type {
	case "Sequence":
		for _, n := range c.Normalizers {
			if err := t.normalizer(n); err != nil {
				return err
			}
		}
	case "Prepend":
		p := c.Prepend
		t.normalizers = append(t.normalizers, func(s string) string {
			if s == "" {
				return s
			}
			return p + s
		})
	case "Replace":
		if c.Pattern == nil || c.Pattern.String == nil {
			return errors.New("Replace: only a String pattern is supported")
		}
		from, to := *c.Pattern.String, c.Content
		t.nlReplace = t.nlReplace || strings.Contains(from+to, "\n")
		t.normalizers = append(t.normalizers, func(s string) string { return strings.ReplaceAll(s, from, to) })
	case "NFC":
		t.normalizers = append(t.normalizers, norm.NFC.String)
	case "NFKC":
		t.normalizers = append(t.normalizers, norm.NFKC.String)
	case "Lowercase":
		t.normalizers = append(t.normalizers, strings.ToLower)
	default:
		return fmt.Errorf("type %q is not supported (supported: Sequence, Prepend, Replace, NFC, NFKC, Lowercase)", c.Type)
	}
	return nil
}

func (t *hfTokenizer) preTokenizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	switch c.Type {
	case "Sequence":
		for _, p := range c.Pretokenizers {
			if err := t.preTokenizer(p); err != nil {
				return err
			}
		}
	case "Split":
		if c.Invert {
			return errors.New("Split: invert is not supported")
		}
		var re *regexp2.Regexp
		switch {
		case c.Pattern != nil && c.Pattern.Regex != nil:
			var err error
			if re, err = regexp2.Compile(*c.Pattern.Regex, regexp2.None); err != nil {
				return fmt.Errorf("Split: %w", err)
			}
		case c.Pattern != nil && c.Pattern.String != nil && *c.Pattern.String != "":
			re = regexp2.MustCompile(regexp2.Escape(*c.Pattern.String), regexp2.None)
		default:
			return errors.New("Split: no pattern")
		}
		var keep bool
		switch c.Behavior {
		case "Isolated":
			keep = true
		case "Removed":
		default:
			return fmt.Errorf("Split: behavior %q is not supported (supported: Isolated, Removed)", c.Behavior)
		}
		t.splits = true
		t.pre = append(t.pre, func(pieces []string, _ bool) []string { return splitEach(pieces, re, keep) })
	case "ByteLevel":
		t.byteLevel = true
		useRegex := c.UseRegex == nil || *c.UseRegex
		re := regexp2.MustCompile(gpt2Split, regexp2.None)
		prefix := c.AddPrefixSpace
		t.pre = append(t.pre, func(pieces []string, _ bool) []string {
			if prefix {
				for i, p := range pieces {
					if !strings.HasPrefix(p, " ") {
						pieces[i] = " " + p
					}
				}
			}
			if useRegex {
				pieces = splitEach(pieces, re, true)
			}
			for i, p := range pieces {
				pieces[i] = byteLevelString(p)
			}
			return pieces
		})
	case "Metaspace":
		repl := c.Replacement
		if repl == "" {
			repl = "▁"
		}
		scheme := c.PrependScheme
		if scheme == "" {
			scheme = "always"
			if !c.AddPrefixSpace && strings.Contains(string(raw), `"add_prefix_space"`) {
				scheme = "never" // the older form: add_prefix_space false
			}
		}
		if scheme != "always" && scheme != "first" && scheme != "never" {
			return fmt.Errorf("Metaspace: prepend_scheme %q is not supported", scheme)
		}
		split := c.Split == nil || *c.Split
		t.pre = append(t.pre, func(pieces []string, first bool) []string {
			var out []string
			for i, p := range pieces {
				p = strings.ReplaceAll(p, " ", repl)
				if (scheme == "always" || scheme == "first" && first && i == 0) && !strings.HasPrefix(p, repl) {
					p = repl + p
				}
				if !split {
					out = append(out, p)
					continue
				}
				// Split before each replacement character (MergedWithNext).
				for p != "" {
					j := strings.Index(p[len(repl):], repl)
					if !strings.HasPrefix(p, repl) {
						j = strings.Index(p, repl)
						if j < 0 {
							j = len(p)
						}
						out = append(out, p[:j])
						p = p[j:]
						continue
					}
					if j < 0 {
						out = append(out, p)
						break
					}
					out = append(out, p[:len(repl)+j])
					p = p[len(repl)+j:]
				}
			}
			return out
		})
	default:
		return fmt.Errorf("type %q is not supported (supported: Sequence, Split, ByteLevel, Metaspace)", c.Type)
	}
	return nil
}

// splitEach splits every piece at the matches of re; keep keeps the
// matches as pieces of their own (Isolated), else they are dropped.
func splitEach(pieces []string, re *regexp2.Regexp, keep bool) []string {
	var out []string
	for _, p := range pieces {
		rs := []rune(p)
		last := 0
		m, _ := re.FindRunesMatch(rs)
		for m != nil {
			if m.RuneIndex > last {
				out = append(out, string(rs[last:m.RuneIndex]))
			}
			if keep && m.RuneLength > 0 {
				out = append(out, string(rs[m.RuneIndex:m.RuneIndex+m.RuneLength]))
			}
			last = m.RuneIndex + m.RuneLength
			m, _ = re.FindNextMatch(m)
		}
		if last < len(rs) {
			out = append(out, string(rs[last:]))
		}
	}
	return out
}

// byteToRune and runeToByte are GPT-2's bytes_to_unicode table: printable
// bytes stand for themselves, the others for code points from 256 up.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	n := 0
	for b := range 256 {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

func byteLevelString(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// encode returns the token ids of s.
func (t *hfTokenizer) encode(s string) []int {
	var ids []int
	first := true
	for s != "" {
		// The next added token, matched verbatim.
		at, tok := -1, ""
		for i := 0; i < len(s) && at < 0; i++ {
			for _, a := range t.added[s[i]] {
				if strings.HasPrefix(s[i:], a) {
					at, tok = i, a
					break
				}
			}
		}
		seg := s
		if at >= 0 {
			seg = s[:at]
		}
		if seg != "" {
			ids = t.encodeSegment(ids, seg, first)
		}
		if at < 0 {
			break
		}
		ids = append(ids, t.vocab[tok])
		s = s[at+len(tok):]
		first = false
	}
	return ids
}

// encodeSegment appends the ids of text without added tokens.
func (t *hfTokenizer) encodeSegment(ids []int, s string, first bool) []int {
	for _, n := range t.normalizers {
		s = n(s)
	}
	pieces := []string{s}
	for _, p := range t.pre {
		pieces = p(pieces, first)
	}
	for _, p := range pieces {
		if p == "" {
			continue
		}
		if t.nlBarrier && strings.IndexByte(p, '\n') >= 0 {
			for _, q := range splitNewlines(nil, p) {
				ids = append(ids, t.bpe(q)...)
			}
			continue
		}
		ids = append(ids, t.bpe(p)...)
	}
	return ids
}

// bpe returns the ids of one pre-tokenized piece, cached.
func (t *hfTokenizer) bpe(piece string) []int {
	if v, ok := t.cache.Load(piece); ok {
		return v.([]int)
	}
	ids := t.merge(piece)
	t.mu.Lock()
	if t.cached < hfCacheSize {
		t.cached++
		t.cache.Store(piece, ids)
	}
	t.mu.Unlock()
	return ids
}

// merge runs the BPE merges over the characters of piece: the pair of
// adjacent symbols with the lowest merge rank (the leftmost of equal
// ranks) is merged until none has one. The candidate pairs wait in a
// heap, so a piece of n characters takes O(n log n), not O(n²): a
// tokenizer without pre-tokenizer (Llama 2's) makes a whole line one
// piece, and a long answer without a newline took seconds to count.
func (t *hfTokenizer) merge(piece string) []int {
	if t.ignoreMerges {
		if id, ok := t.vocab[piece]; ok {
			return []int{id}
		}
	}
	syms := t.mergeSymbols(piece)
	ids := make([]int, 0, len(syms))
	unk := false
	for _, s := range syms {
		if id, ok := t.vocab[s]; ok {
			ids, unk = append(ids, id), false
			continue
		}
		if t.byteFallback {
			okAll := true
			var bs []int
			for i := 0; i < len(s); i++ {
				id, ok := t.vocab[fmt.Sprintf("<0x%02X>", s[i])]
				if !ok {
					okAll = false
					break
				}
				bs = append(bs, id)
			}
			if okAll {
				ids, unk = append(ids, bs...), false
				continue
			}
		}
		if t.hasUnk && !unk {
			if id, ok := t.vocab[t.unk]; ok {
				ids, unk = append(ids, id), true // consecutive unknowns fuse
			}
		}
	}
	return ids
}

// mergeSymbols returns the symbols of piece after the merges.
func (t *hfTokenizer) mergeSymbols(piece string) []string {
	if !utf8.ValidString(piece) {
		piece = string([]rune(piece)) // an invalid byte is one U+FFFD, as ranging over it gives
	}
	// Symbols are byte ranges of piece, keyed by their start: end[i] is
	// the end of the symbol at i, prev[i] the start of the one before
	// (-1: none), and end[i] == 0 marks a start that was merged away.
	n := len(piece)
	end := make([]int32, n)
	prev := make([]int32, n)
	last := int32(-1)
	for i, r := range piece {
		end[i], prev[i] = int32(i+utf8.RuneLen(r)), last
		last = int32(i)
	}
	var h pairHeap
	push := func(a int32) {
		b := end[a]
		if int(b) >= n {
			return
		}
		if r, ok := t.ranks[[2]string{piece[a:b], piece[b:end[b]]}]; ok {
			h.push(pairCand{rank: int32(r), left: a, mid: b, right: end[b]})
		}
	}
	for i := int32(0); i < int32(n); i = end[i] {
		push(i)
	}
	for len(h) > 0 {
		c := h.pop()
		if end[c.left] != c.mid || end[c.mid] != c.right {
			continue // stale: one of the two symbols was merged since
		}
		end[c.left], end[c.mid] = c.right, 0
		if int(c.right) < n {
			prev[c.right] = c.left
		}
		if p := prev[c.left]; p >= 0 {
			push(p)
		}
		push(c.left)
	}
	syms := make([]string, 0, n)
	for i := int32(0); i < int32(n); i = end[i] {
		syms = append(syms, piece[i:end[i]])
	}
	return syms
}

// pairCand is a candidate merge of the symbols [left, mid) and
// [mid, right) of a piece.
type pairCand struct{ rank, left, mid, right int32 }

// pairHeap is a binary min-heap of candidates by rank, then position.
type pairHeap []pairCand

func (h pairHeap) less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].left < h[j].left
}

func (h *pairHeap) push(c pairCand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() pairCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if l+1 < len(s) && s.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// decode returns the text of ids: the tokens' strings joined, byte-level
// characters and byte-fallback tokens turned back into bytes, and a
// Metaspace replacement character into a space. It does not strip the
// space a Metaspace pre-tokenizer prepended.
func (t *hfTokenizer) decode(ids []uint) string {
	var b strings.Builder
	for _, id := range ids {
		if int(id) >= len(t.tokens) {
			continue
		}
		s := t.tokens[id]
		if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' && t.byteFallback {
			var v byte
			if _, err := fmt.Sscanf(s, "<0x%02X>", &v); err == nil {
				b.WriteByte(v)
				continue
			}
		}
		if t.byteLevel {
			for _, r := range s {
				if c, ok := runeToByte[r]; ok {
					b.WriteByte(c)
				} else {
					b.WriteRune(r)
				}
			}
			continue
		}
		b.WriteString(strings.ReplaceAll(s, "▁", " "))
	}
	return b.String()
}
