package openai

import (
	"hash/maphash"
	"unicode/utf8"
)

// The chunks of one stream are nearly all alike: vLLM, SGLang, TGI,
// llama.cpp, Ollama and OpenAI repeat the same id, object, created, model
// and choice fields around each token's text, e.g.
//
//	{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":"
//	 word
//	"},"logprobs":null,"finish_reason":null}]}
//
// So the decoder remembers the last chunk's shape: the lengths of the
// bytes before and after the one text string it carried (the head and the
// tail), a hash of those bytes, and what the rest of the chunk decoded to.
// A chunk with the same head and tail and, between them, a string body
// without quotes, escapes or control characters decodes to the same result
// with that text in place of the old: the decoder reads left to right and
// nothing it decides depends on the text's value, so it takes the same
// path through the head, reads the new text as one string (it holds no
// quote to end it early, no escape to unquote, and it is ASCII or valid
// UTF-8, so the result aliases the input as the old text did), and then
// takes the same path through the tail. Such a chunk costs a hash of its
// head and tail and one string scan instead of a full decode. Anything
// else takes the full decoder, the reference for every input, which then
// remembers the new shape. FuzzChunkDecodeAfter holds the two paths to
// encoding/json.
//
// The head and tail are compared by a 64-bit hash (hash/maphash, seeded
// at random per process) rather than byte by byte against a copy: with
// 1,000 streams in flight a stream's memo is out of the CPU's caches by
// its next chunk, and reading a copy cost more than the rest of the
// chunk's decode (docs/performance.md, "Cold stream state"). The chunk's
// own bytes were just read and are in cache. Two different heads and
// tails of the same lengths share a hash with probability about 2⁻⁶⁴ per
// chunk.

// memoSeed seeds the memo's hashes.
var memoSeed = maphash.MakeSeed()

// memo is the shape of the last chunk fully decoded. Its first fields are
// all a chunk served from it reads: one cache line.
type memo struct {
	ok bool
	// plain: the chunk carried its text and nothing else a stream acts
	// on (no finish reason, usage, timings or tool call), so a chunk of
	// its shape is only its text (sseStream.handle's fast path).
	plain bool
	text  uint8 // which field holds the text: an index into chunk.strs
	// misses counts full decodes since the memo last served a chunk; a
	// stream whose chunks differ elsewhere (a timestamp or padding that
	// changes with each chunk) stops remembering after maxMisses.
	misses uint8
	// head and tail are the lengths of the bytes before and after the
	// text, sum their hash (memoSum).
	head, tail uint16
	sum        uint64
	spans      [nStrs]span
	// The rest of the result.
	tools      tools
	usage      usage
	timings    timings
	hasUsage   bool
	hasTimings bool
}

const maxMisses = 8

// maxMemoBytes bounds the chunks remembered (a chunk of a usual stream is
// 150–300 bytes); offsets and lengths in a memo fit in a uint16.
const maxMemoBytes = 1024

// memoSum is the hash of a chunk's head and tail.
func memoSum(head, tail []byte) uint64 {
	return maphash.Bytes(memoSeed, head)*0x9e3779b97f4a7c15 ^ maphash.Bytes(memoSeed, tail)
}

// The byte-slice fields of chunk.strs, in its order; strContent to strText
// are the text fields.
const (
	strID = iota
	strContent
	strReasoning
	strReasoning2
	strText
	strFinish
	nStrs
)

// strs returns pointers to c's byte-slice fields, except the raw error
// (a memo is made only of chunks without one) and the tool-call text (in
// the decoder's own buffer, kept as it is).
func (c *chunk) strs() [nStrs]*[]byte {
	return [nStrs]*[]byte{strID: &c.id, strContent: &c.content, strReasoning: &c.reasoning,
		strReasoning2: &c.reasoning2, strText: &c.text, strFinish: &c.finish}
}

// A span locates a byte-slice field of a remembered chunk in the chunk's
// data: nil, empty, or n bytes from off counted from the start of the
// data (in the head) or back from its end (in the tail).
type span struct {
	where  uint8
	off, n uint16 // chunks of at most maxMemoBytes
}

const (
	spanNil = iota
	spanEmpty
	spanHead
	spanTail
)

// of returns the field the span locates in data.
func (s span) of(data []byte) []byte {
	switch s.where {
	case spanEmpty:
		return []byte{}
	case spanHead:
		return data[s.off : int(s.off)+int(s.n)]
	case spanTail:
		at := len(data) - int(s.off)
		return data[at : at+int(s.n)]
	}
	return nil
}

// memoText returns the text of data, when data has the memo's shape: the
// same head and tail around a string body that decodes to itself.
func (d *decoder) memoText(data []byte) ([]byte, bool) {
	m := &d.memo
	head, tail := int(m.head), int(m.tail)
	n := len(data) - head - tail
	if n < 0 || memoSum(data[:head], data[len(data)-tail:]) != m.sum {
		return nil, false
	}
	text := data[head : head+n]
	if i := scanASCII(text, 0); i != n {
		// Not plain ASCII: the string must hold no quote, escape or
		// control character, and be valid UTF-8, to alias the input.
		if text[i] < utf8.RuneSelf || scanText(text, i) != n || !utf8.Valid(text[i:]) {
			return nil, false
		}
	}
	m.misses = 0
	return text, true
}

// fromMemo decodes data, whose text memoText found, into c from the memo.
func (d *decoder) fromMemo(data, text []byte, c *chunk) {
	m := &d.memo
	// Every field of c, assigned one by one (a chunk literal would be built
	// and copied whole, the costliest line here).
	sp := &m.spans
	c.id, c.content, c.reasoning = sp[strID].of(data), sp[strContent].of(data), sp[strReasoning].of(data)
	c.reasoning2, c.text, c.finish = sp[strReasoning2].of(data), sp[strText].of(data), sp[strFinish].of(data)
	switch m.text {
	case strContent:
		c.content = text
	case strReasoning:
		c.reasoning = text
	case strReasoning2:
		c.reasoning2 = text
	case strText:
		c.text = text
	}
	c.tools, c.usage, c.hasUsage, c.timings, c.hasTimings = m.tools, m.usage, m.hasUsage, m.timings, m.hasTimings
	c.errRaw, c.errObj = nil, false
}

// remember makes c, just decoded from data in full, the memo, if it has
// the shape of a text chunk: one non-empty text field (content,
// reasoning_content, reasoning or text) aliasing data, every other byte
// slice aliasing data too (none in a scratch buffer), no error, no tool
// call.
func (d *decoder) remember(data []byte, c *chunk) {
	m := &d.memo
	m.ok = false
	if m.misses <= maxMisses {
		m.misses++ // stops at maxMisses+1: a uint8 must not wrap back
	}
	if m.misses > maxMisses {
		return
	}
	if c.errRaw != nil || c.errObj || c.tools.n > 0 || len(data) > maxMemoBytes {
		return
	}
	p := c.strs()
	var spans [nStrs]span
	text, at := -1, 0
	for k, f := range p {
		s := *f
		switch {
		case s == nil:
			spans[k].where = spanNil
			continue
		case len(s) == 0:
			spans[k].where = spanEmpty
			continue
		}
		off, ok := offsetIn(data, s)
		if !ok {
			return // in a scratch buffer: escapes or invalid UTF-8
		}
		if strContent <= k && k <= strText {
			if text >= 0 {
				return // two texts
			}
			text, at = k, off
			continue
		}
		spans[k] = span{where: spanHead, off: uint16(off), n: uint16(len(s))} // or the tail: below
	}
	if text < 0 {
		return
	}
	end := at + len(*p[text])
	for k := range spans {
		s := &spans[k]
		switch {
		case k == text || s.where != spanHead || int(s.off+s.n) <= at:
		case int(s.off) >= end:
			s.where, s.off = spanTail, uint16(len(data)-int(s.off))
		default:
			return // cannot happen: strings do not overlap
		}
	}
	m.head, m.tail, m.sum = uint16(at), uint16(len(data)-end), memoSum(data[:at], data[end:])
	m.text, m.spans = uint8(text), spans
	m.tools, m.usage, m.hasUsage, m.timings, m.hasTimings = c.tools, c.usage, c.hasUsage, c.timings, c.hasTimings
	m.plain = spans[strFinish].where <= spanEmpty && !c.hasUsage && !c.hasTimings
	m.ok = true
}

// offsetIn returns the offset of s in data, when s is a non-empty slice of
// data's array within data.
func offsetIn(data, s []byte) (int, bool) {
	off := cap(data) - cap(s)
	if off < 0 || off+len(s) > len(data) || &data[off] != &s[0] {
		return 0, false
	}
	return off, true
}
