package openai

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// chunk holds the fields llmload reads from one streamed JSON chunk. Its
// byte slices alias the decoded data or the decoder's scratch buffers and
// are valid until the next decode.
type chunk struct {
	id         []byte // "id"
	content    []byte // choices[0].delta.content (chat)
	reasoning  []byte // choices[0].delta.reasoning_content (vLLM, DeepSeek)
	reasoning2 []byte // choices[0].delta.reasoning (newer vLLM, gateways)
	tools      tools  // choices[0].delta.tool_calls
	text       []byte // choices[0].text (completions)
	finish     []byte // choices[0].finish_reason
	usage      usage  // "usage", when hasUsage
	hasUsage   bool
	errRaw     []byte  // the JSON of a non-null "error"
	errObj     bool    // "object": "error" (older vLLM error shape)
	timings    timings // llama.cpp's "timings", when hasTimings
	hasTimings bool
}

// usage is "usage"; cached is prompt_tokens_details.cached_tokens, set
// when hasCached (prompt_tokens_details is an object); reasoning is
// completion_tokens_details.reasoning_tokens, set when hasReasoning.
type usage struct {
	prompt, completion, cached int
	hasCached                  bool
	reasoning                  int
	hasReasoning               bool
}

// tools is what llmload reads from a delta's "tool_calls" array: how many
// entries it holds, which indices they name (bit i of mask for index i in
// 0–63; entries with another index are counted in other, and in otherIDs
// when they carry an "id"), and their function names and argument
// fragments, concatenated in text (d.toolBuf).
type tools struct {
	n, other, otherIDs int
	mask               uint64
	text               []byte
}

// timings is the part of llama.cpp server's "timings" object llmload
// reads: prompt processing and generation time, in milliseconds.
type timings struct {
	promptMS, predictedMS       float64
	hasPromptMS, hasPredictedMS bool
	// cacheN is "cache_n": prompt tokens reused from the slot's cache.
	cacheN    int
	hasCacheN bool
}

var errSyntax = errors.New("invalid JSON")

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// decoder is a lean, allocation-free JSON decoder for the one shape of an
// OpenAI streaming chunk. It exists because the chunk decode is the hot
// path of the stream reader and encoding/json's reflection costs several
// times more per chunk (see BenchmarkStreamRead).
//
// It matches encoding/json decoding into the struct
//
//	struct {
//		ID      string
//		Object  string
//		Choices []struct {
//			Delta        struct {
//				Content          string
//				ReasoningContent string // "reasoning_content"
//				Reasoning        string
//				ToolCalls        []struct { // "tool_calls"
//					Index    int
//					ID       string
//					Function struct{ Name, Arguments string }
//				}
//			}
//			Text         string
//			FinishReason string `json:"finish_reason"`
//		}
//		Usage *struct {
//			PromptTokens, CompletionTokens int // snake_case names
//			PromptTokensDetails *struct{ CachedTokens int } // "prompt_tokens_details", "cached_tokens"
//			CompletionTokensDetails *struct{ ReasoningTokens int } // "completion_tokens_details", "reasoning_tokens"
//		}
//		Error json.RawMessage
//		Timings *struct {
//			PromptMS, PredictedMS *float64 // "prompt_ms", "predicted_ms"
//			CacheN *int // "cache_n"
//		}
//	}
//
// in what it accepts, how it matches keys (case-insensitively) and how it
// unescapes strings (invalid UTF-8 and lone surrogates become U+FFFD); the
// differential fuzz test FuzzChunkDecode holds it to that.
type decoder struct {
	b []byte
	i int
	// Scratch buffers for strings with escapes, one per field so that a
	// later string does not overwrite an earlier one.
	keyBuf, idBuf, contentBuf, textBuf, finishBuf, otherBuf []byte
	reasoningBuf, reasoning2Buf, nameBuf, argsBuf           []byte
	// toolBuf holds the first choice's tool-call text, otherToolBuf that
	// of later choices (checked, then dropped).
	toolBuf, otherToolBuf []byte
}

// decode parses data into c.
func (d *decoder) decode(data []byte, c *chunk) error {
	*c = chunk{}
	d.b, d.i = data, 0
	d.ws()
	if d.literal("null") {
		return d.end() // encoding/json: null into a struct is a no-op
	}
	err := d.object(1, func(key []byte) (err error) {
		switch {
		case keyIs(key, "id"):
			c.id, err = d.strOrNull(&d.idBuf, c.id)
		case keyIs(key, "choices"):
			err = d.choices(c)
		case keyIs(key, "usage"):
			err = d.usage(c)
		case keyIs(key, "object"):
			var v []byte
			v, err = d.strOrNull(&d.keyBuf, nil)
			if v != nil {
				c.errObj = string(v) == "error"
			}
		case keyIs(key, "timings"):
			err = d.timings(c)
		case keyIs(key, "error"):
			if d.literal("null") {
				c.errRaw = nil
				break
			}
			start := d.i
			err = d.skip(1)
			c.errRaw = d.b[start:d.i]
		default:
			err = d.skip(1)
		}
		return err
	})
	if err != nil {
		return err
	}
	return d.end()
}

// choices parses the "choices" array, keeping the first element.
func (d *decoder) choices(c *chunk) error {
	// Like encoding/json, null or a new array replaces an earlier one.
	c.content, c.text, c.finish = nil, nil, nil
	c.reasoning, c.reasoning2, c.tools = nil, nil, tools{}
	if d.literal("null") {
		return nil
	}
	if !d.consume('[') {
		return errSyntax
	}
	d.ws()
	if d.consume(']') {
		return nil
	}
	for n := 0; ; n++ {
		var err error
		if n == 0 {
			err = d.choice(c, true)
		} else {
			// Later choices are checked as encoding/json would, then dropped.
			var other chunk
			err = d.choice(&other, false)
		}
		if err != nil {
			return err
		}
		d.ws()
		if d.consume(',') {
			d.ws()
			continue
		}
		if d.consume(']') {
			return nil
		}
		return errSyntax
	}
}

// choice parses one element of "choices" into c; first tells the first
// one, whose strings get their own scratch buffers (later ones share one).
func (d *decoder) choice(c *chunk, first bool) error {
	contentBuf, textBuf, finishBuf, reasoningBuf, reasoning2Buf := &d.otherBuf, &d.otherBuf, &d.otherBuf, &d.otherBuf, &d.otherBuf
	if first {
		contentBuf, textBuf, finishBuf, reasoningBuf, reasoning2Buf = &d.contentBuf, &d.textBuf, &d.finishBuf, &d.reasoningBuf, &d.reasoning2Buf
	}
	if d.literal("null") {
		return nil
	}
	return d.object(2, func(key []byte) (err error) {
		switch {
		case keyIs(key, "delta"):
			if d.literal("null") {
				return nil
			}
			return d.object(3, func(key []byte) (err error) {
				switch {
				case keyIs(key, "content"):
					c.content, err = d.strOrNull(contentBuf, c.content)
					return err
				case keyIs(key, "reasoning_content"):
					c.reasoning, err = d.strOrNull(reasoningBuf, c.reasoning)
					return err
				case keyIs(key, "reasoning"):
					c.reasoning2, err = d.strOrNull(reasoning2Buf, c.reasoning2)
					return err
				case keyIs(key, "tool_calls"):
					buf := &d.otherToolBuf
					if first {
						buf = &d.toolBuf
					}
					return d.toolCalls(&c.tools, buf)
				}
				return d.skip(4)
			})
		case keyIs(key, "text"):
			c.text, err = d.strOrNull(textBuf, c.text)
		case keyIs(key, "finish_reason"):
			c.finish, err = d.strOrNull(finishBuf, c.finish)
		default:
			err = d.skip(3)
		}
		return err
	})
}

func (d *decoder) usage(c *chunk) error {
	if d.literal("null") {
		// encoding/json sets a pointer to nil on null.
		c.hasUsage, c.usage = false, usage{}
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '{' {
		c.hasUsage = true
	}
	return d.object(2, func(key []byte) (err error) {
		switch {
		case keyIs(key, "prompt_tokens"):
			return d.intOrNull(&c.usage.prompt)
		case keyIs(key, "completion_tokens"):
			return d.intOrNull(&c.usage.completion)
		case keyIs(key, "prompt_tokens_details"):
			return d.tokenDetails("cached_tokens", &c.usage.cached, &c.usage.hasCached)
		case keyIs(key, "completion_tokens_details"):
			return d.tokenDetails("reasoning_tokens", &c.usage.reasoning, &c.usage.hasReasoning)
		}
		return d.skip(3)
	})
}

// tokenDetails parses a usage details object, e.g.
// prompt_tokens_details, where OpenAI (and vLLM, SGLang) report cached
// prompt tokens, or completion_tokens_details, where OpenAI and vLLM
// report reasoning tokens: the integer under name goes to *n, and *has
// tells that the object was there. Like encoding/json with a pointer
// field, null clears what an earlier value set.
func (d *decoder) tokenDetails(name string, n *int, has *bool) error {
	if d.literal("null") {
		*n, *has = 0, false
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '{' {
		*has = true
	}
	return d.object(3, func(key []byte) error {
		if keyIs(key, name) {
			return d.intOrNull(n)
		}
		return d.skip(4)
	})
}

// toolCalls parses a delta's "tool_calls" array into t, its text into
// *buf. Like encoding/json with a slice, null or a new array replaces an
// earlier one; an element that is null still counts (as index 0).
func (d *decoder) toolCalls(t *tools, buf *[]byte) error {
	*t = tools{text: (*buf)[:0]}
	if d.literal("null") {
		t.text = nil
		return nil
	}
	if !d.consume('[') {
		return errSyntax
	}
	d.ws()
	if d.consume(']') {
		return nil
	}
	for {
		var (
			index           int
			hasID           bool
			name, arguments []byte
		)
		if !d.literal("null") {
			err := d.object(5, func(key []byte) (err error) {
				switch {
				case keyIs(key, "index"):
					return d.intOrNull(&index)
				case keyIs(key, "id"):
					var id []byte
					id, err = d.strOrNull(&d.otherBuf, nil)
					if id != nil || err != nil {
						hasID = len(id) > 0
					}
					return err
				case keyIs(key, "function"):
					if d.literal("null") {
						return nil
					}
					return d.object(6, func(key []byte) (err error) {
						switch {
						case keyIs(key, "name"):
							name, err = d.strOrNull(&d.nameBuf, name)
						case keyIs(key, "arguments"):
							arguments, err = d.strOrNull(&d.argsBuf, arguments)
						default:
							err = d.skip(7)
						}
						return err
					})
				}
				return d.skip(6)
			})
			if err != nil {
				return err
			}
		}
		t.n++
		if 0 <= index && index < 64 {
			t.mask |= 1 << uint(index)
		} else {
			t.other++
			if hasID {
				t.otherIDs++
			}
		}
		t.text = append(append(t.text, name...), arguments...)
		d.ws()
		if d.consume(',') {
			d.ws()
			continue
		}
		if d.consume(']') {
			*buf = t.text[:0]
			return nil
		}
		return errSyntax
	}
}

// timings parses llama.cpp's "timings" object. Like encoding/json with
// pointer fields, null clears what an earlier value set.
func (d *decoder) timings(c *chunk) error {
	if d.literal("null") {
		c.hasTimings, c.timings = false, timings{}
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '{' {
		c.hasTimings = true
	}
	t := &c.timings
	return d.object(2, func(key []byte) error {
		switch {
		case keyIs(key, "prompt_ms"):
			return d.floatOrNull(&t.promptMS, &t.hasPromptMS)
		case keyIs(key, "predicted_ms"):
			return d.floatOrNull(&t.predictedMS, &t.hasPredictedMS)
		case keyIs(key, "cache_n"):
			if d.literal("null") {
				t.cacheN, t.hasCacheN = 0, false
				return nil
			}
			t.hasCacheN = true
			return d.intOrNull(&t.cacheN)
		}
		return d.skip(3)
	})
}

// object parses an object at nesting depth, calling field with each key
// once the reader is positioned at its value.
func (d *decoder) object(depth int, field func(key []byte) error) error {
	if depth > maxDepth {
		return errSyntax
	}
	if !d.consume('{') {
		return errSyntax
	}
	d.ws()
	if d.consume('}') {
		return nil
	}
	for {
		key, err := d.str(&d.keyBuf)
		if err != nil {
			return err
		}
		d.ws()
		if !d.consume(':') {
			return errSyntax
		}
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.consume(',') {
			d.ws()
			continue
		}
		if d.consume('}') {
			return nil
		}
		return errSyntax
	}
}

// keyIs reports whether a JSON key names field, as encoding/json matches
// struct fields: exactly or else case-insensitively.
func keyIs(key []byte, field string) bool {
	if len(key) == 0 || key[0] < utf8.RuneSelf && key[0]|0x20 != field[0] {
		return false // fast reject: fields start with an ASCII lower-case letter
	}
	return string(key) == field || equalFold(key, field)
}

// equalFold is bytes.EqualFold(key, []byte(field)) without the conversion.
func equalFold(key []byte, field string) bool {
	for len(key) > 0 && len(field) > 0 {
		var r, f rune
		if key[0] < utf8.RuneSelf {
			r, key = rune(key[0]), key[1:]
		} else {
			var n int
			r, n = utf8.DecodeRune(key)
			key = key[n:]
		}
		f, field = rune(field[0]), field[1:] // fields are ASCII
		if r == f {
			continue
		}
		if r < f {
			r, f = f, r
		}
		if r < utf8.RuneSelf {
			if 'A' <= f && f <= 'Z' && r == f+'a'-'A' {
				continue
			}
			return false
		}
		g := unicode.SimpleFold(f)
		for g != f && g < r {
			g = unicode.SimpleFold(g)
		}
		if g != r {
			return false
		}
	}
	return len(key) == len(field)
}

// serverTiming converts llama.cpp's timings to ServerTiming seconds:
// prompt_ms → "prompt_eval_s", predicted_ms → "eval_s" (the names Ollama's
// equivalents use). It returns nil when neither is present.
func (t timings) serverTiming() map[string]float64 {
	if !t.hasPromptMS && !t.hasPredictedMS {
		return nil
	}
	m := make(map[string]float64, 2)
	if t.hasPromptMS {
		m["prompt_eval_s"] = t.promptMS / 1000
	}
	if t.hasPredictedMS {
		m["eval_s"] = t.predictedMS / 1000
	}
	return m
}
