package openai

import (
	"bytes"
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
// So the decoder remembers the last chunk's shape: the bytes before and
// after the one text string it carried (the head and the tail), and what
// the rest of the chunk decoded to. A chunk with the same head and tail
// and, between them, a string body without quotes, escapes or control
// characters decodes to the same result with that text in place of the
// old: the decoder reads left to right and nothing it decides depends on
// the text's value, so it takes the same path through the head, reads
// the new text as one string (it holds no quote to end it early, no
// escape to unquote, and it is ASCII or valid UTF-8, so the result
// aliases the input as the old text did), and then takes the same path
// through the tail. Such a chunk costs two bytes.Equal and one string
// scan instead of a full decode. Anything else takes the full decoder,
// the reference for every input, which then remembers the new shape.
// FuzzChunkDecodeAfter holds the two paths to encoding/json.

// memo is the shape of the last chunk fully decoded.
type memo struct {
	ok bool
	// buf holds copies of the chunk's bytes before the text (the head,
	// buf[:at]) and after it (the tail, buf[at:]).
	buf   []byte
	at    int
	text  int // which field holds the text: an index into chunk.strs
	spans [nStrs]span
	// The rest of the result.
	tools      tools
	usage      usage
	timings    timings
	hasUsage   bool
	hasTimings bool
	// misses counts full decodes since the memo last served a chunk; a
	// stream whose chunks differ elsewhere (a timestamp or padding that
	// changes with each chunk) stops remembering after maxMisses.
	misses int
}

const maxMisses = 8

// maxMemoBytes bounds the chunks remembered, and so the memo's memory per
// stream (a chunk of a usual stream is 150–300 bytes).
const maxMemoBytes = 1024

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
	off, n int32 // chunks of at most maxMemoBytes
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
		return data[s.off : s.off+s.n]
	case spanTail:
		at := int32(len(data)) - s.off
		return data[at : at+s.n]
	}
	return nil
}

// fromMemo decodes data into c from the memo and reports whether it could.
func (d *decoder) fromMemo(data []byte, c *chunk) bool {
	m := &d.memo
	head, tail := m.buf[:m.at], m.buf[m.at:]
	n := len(data) - len(m.buf)
	if n < 0 || !bytes.Equal(data[:len(head)], head) || !bytes.Equal(data[len(data)-len(tail):], tail) {
		return false
	}
	text := data[len(head) : len(head)+n]
	if i := scanASCII(text, 0); i != n {
		// Not plain ASCII: the string must hold no quote, escape or
		// control character, and be valid UTF-8, to alias the input.
		if text[i] < utf8.RuneSelf || scanText(text, i) != n || !utf8.Valid(text[i:]) {
			return false
		}
	}
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
	m.misses = 0
	return true
}

// remember makes c, just decoded from data in full, the memo, if it has
// the shape of a text chunk: one non-empty text field (content,
// reasoning_content, reasoning or text) aliasing data, every other byte
// slice aliasing data too (none in a scratch buffer), no error, no tool
// call.
func (d *decoder) remember(data []byte, c *chunk) {
	m := &d.memo
	m.ok = false
	if m.misses++; m.misses > maxMisses {
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
		spans[k] = span{where: spanHead, off: int32(off), n: int32(len(s))} // or the tail: below
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
			s.where, s.off = spanTail, int32(len(data))-s.off
		default:
			return // cannot happen: strings do not overlap
		}
	}
	if n := at + len(data) - end; cap(m.buf) < n {
		m.buf = make([]byte, 0, n)
	}
	m.buf = append(append(m.buf[:0], data[:at]...), data[end:]...)
	m.at, m.text, m.spans = at, text, spans
	m.tools, m.usage, m.hasUsage, m.timings, m.hasTimings = c.tools, c.usage, c.hasUsage, c.timings, c.hasTimings
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
