package openai

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// chunk holds the fields llmload reads from one streamed JSON chunk. Its
// byte slices alias the decoded data or the decoder's scratch buffers and
// are valid until the next decode. decoder.fromMemo (memo.go) sets every
// field one by one: a new field must be set there too (the memo tests
// compare its chunks with the full decoder's, field by field).
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
	memo memo // first: sseStream keeps its per-chunk fields beside it
	b    []byte
	i    int
	// Scratch buffers for strings with escapes, one per field so that a
	// later string does not overwrite an earlier one.
	keyBuf, idBuf, contentBuf, textBuf, finishBuf, otherBuf []byte
	reasoningBuf, reasoning2Buf, nameBuf, argsBuf           []byte
	// toolBuf holds the first choice's tool-call text, otherToolBuf that
	// of later choices (checked, then dropped).
	toolBuf, otherToolBuf []byte
}

// decode parses data into c: from the memo of the last chunk's shape when
// data has it (memo.go), else in full.
//
// Each object is walked by a loop over its keys (object, next) whose body
// switches on the key's field number. A key names a field when it equals
// the field's name, which a switch on the string settles (by length, then
// by a byte, then one comparison), or else when it matches it
// case-insensitively, as encoding/json matches struct fields; that second
// test runs only for keys holding an upper-case ASCII letter or a
// non-ASCII byte (see field), so the usual keys, lower-case and known, cost
// one switch each.
func (d *decoder) decode(data []byte, c *chunk) error {
	_, _, err := d.decodeOrText(data, c, false)
	return err
}

// decodeOrText is decode, except that when textOnly is set and data has
// the shape of a plain memo (memo.go), it leaves c alone and returns the
// chunk's text with only set: the chunk is that text and nothing else.
// The memo is checked once either way.
func (d *decoder) decodeOrText(data []byte, c *chunk, textOnly bool) (text []byte, only bool, err error) {
	if d.memo.ok {
		if text, ok := d.memoText(data); ok {
			if textOnly && d.memo.plain {
				return text, true, nil
			}
			d.fromMemo(data, text, c)
			return nil, false, nil
		}
	}
	if err := d.decodeFull(data, c); err != nil {
		d.memo.ok = false
		return nil, false, err
	}
	d.remember(data, c)
	return nil, false, nil
}

// decodeFull is decode without the memo (memo.go): the reference.
func (d *decoder) decodeFull(data []byte, c *chunk) error {
	*c = chunk{}
	d.b, d.i = data, 0
	d.ws()
	if d.literal("null") {
		return d.end() // encoding/json: null into a struct is a no-op
	}
	o, key := d.object(), []byte(nil)
	for d.next(&o, &key) {
		switch topField(key) {
		case fID:
			c.id, o.err = d.strOrNull(&d.idBuf, c.id)
		case fChoices:
			o.err = d.choices(c)
		case fUsage:
			o.err = d.usage(c)
		case fObject:
			var v []byte
			v, o.err = d.strOrNull(&d.keyBuf, nil)
			if v != nil {
				c.errObj = string(v) == "error"
			}
		case fTimings:
			o.err = d.timings(c)
		case fError:
			if d.literal("null") {
				c.errRaw = nil
				break
			}
			start := d.i
			o.err = d.skip(1)
			c.errRaw = d.b[start:d.i]
		default:
			o.err = d.skip(1)
		}
	}
	if o.err != nil {
		return o.err
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
	o, key := d.object(), []byte(nil)
	for d.next(&o, &key) {
		switch choiceField(key) {
		case fDelta:
			if d.literal("null") {
				break
			}
			delta := d.object()
			for d.next(&delta, &key) {
				switch deltaField(key) {
				case fContent:
					c.content, delta.err = d.strOrNull(contentBuf, c.content)
				case fReasoningContent:
					c.reasoning, delta.err = d.strOrNull(reasoningBuf, c.reasoning)
				case fReasoning:
					c.reasoning2, delta.err = d.strOrNull(reasoning2Buf, c.reasoning2)
				case fToolCalls:
					buf := &d.otherToolBuf
					if first {
						buf = &d.toolBuf
					}
					delta.err = d.toolCalls(&c.tools, buf)
				default:
					delta.err = d.skip(4)
				}
			}
			o.err = delta.err
		case fText:
			c.text, o.err = d.strOrNull(textBuf, c.text)
		case fFinishReason:
			c.finish, o.err = d.strOrNull(finishBuf, c.finish)
		default:
			o.err = d.skip(3)
		}
	}
	return o.err
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
	o, key := d.object(), []byte(nil)
	for d.next(&o, &key) {
		switch usageField(key) {
		case fPromptTokens:
			o.err = d.intOrNull(&c.usage.prompt)
		case fCompletionTokens:
			o.err = d.intOrNull(&c.usage.completion)
		case fPromptTokensDetails:
			o.err = d.tokenDetails(fCachedTokens, &c.usage.cached, &c.usage.hasCached)
		case fCompletionTokensDetails:
			o.err = d.tokenDetails(fReasoningTokens, &c.usage.reasoning, &c.usage.hasReasoning)
		default:
			o.err = d.skip(3)
		}
	}
	return o.err
}

// tokenDetails parses a usage details object, e.g.
// prompt_tokens_details, where OpenAI (and vLLM, SGLang) report cached
// prompt tokens, or completion_tokens_details, where OpenAI and vLLM
// report reasoning tokens: the integer under field (fCachedTokens or
// fReasoningTokens) goes to *n, and *has tells that the object was there.
// Like encoding/json with a pointer field, null clears what an earlier
// value set.
func (d *decoder) tokenDetails(field int, n *int, has *bool) error {
	if d.literal("null") {
		*n, *has = 0, false
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '{' {
		*has = true
	}
	o, key := d.object(), []byte(nil)
	for d.next(&o, &key) {
		if detailsField(key) == field {
			o.err = d.intOrNull(n)
		} else {
			o.err = d.skip(4)
		}
	}
	return o.err
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
			o, key := d.object(), []byte(nil)
			for d.next(&o, &key) {
				switch toolField(key) {
				case fIndex:
					o.err = d.intOrNull(&index)
				case fToolID:
					var id []byte
					id, o.err = d.strOrNull(&d.otherBuf, nil)
					if id != nil || o.err != nil {
						hasID = len(id) > 0
					}
				case fFunction:
					if d.literal("null") {
						break
					}
					f := d.object()
					for d.next(&f, &key) {
						switch functionField(key) {
						case fName:
							name, f.err = d.strOrNull(&d.nameBuf, name)
						case fArguments:
							arguments, f.err = d.strOrNull(&d.argsBuf, arguments)
						default:
							f.err = d.skip(7)
						}
					}
					o.err = f.err
				default:
					o.err = d.skip(6)
				}
			}
			if o.err != nil {
				return o.err
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
	o, key := d.object(), []byte(nil)
	for d.next(&o, &key) {
		switch timingsField(key) {
		case fPromptMS:
			o.err = d.floatOrNull(&t.promptMS, &t.hasPromptMS)
		case fPredictedMS:
			o.err = d.floatOrNull(&t.predictedMS, &t.hasPredictedMS)
		case fCacheN:
			if d.literal("null") {
				t.cacheN, t.hasCacheN = 0, false
				break
			}
			t.hasCacheN = true
			o.err = d.intOrNull(&t.cacheN)
		default:
			o.err = d.skip(3)
		}
	}
	return o.err
}

// objectWalk is the state of a walk over the keys of one object: see
// object and next.
type objectWalk struct {
	started bool  // the first key was read
	err     error // a syntax error, or the error the caller's value parse stored
}

// object starts a walk over the object at the reader.
func (d *decoder) object() objectWalk {
	if !d.consume('{') {
		return objectWalk{err: errSyntax}
	}
	return objectWalk{}
}

// next reads the walk's next key into *key and leaves the reader at its
// value; it returns false at the end of the object and on an error, which
// it leaves in o.err. The loop body parses the value and stores any error
// in o.err, which ends the walk.
func (d *decoder) next(o *objectWalk, key *[]byte) bool {
	if o.err != nil {
		return false
	}
	// The usual compact JSON: `"key":` after '{' or ',', the key plain
	// ASCII. Anything else (white space, escapes, non-ASCII, an error)
	// takes nextSlow from the same position.
	b, i := d.b, d.i
	if i < len(b) && b[i] == '}' {
		d.i = i + 1
		return false
	}
	if o.started {
		if i >= len(b) || b[i] != ',' {
			return d.nextSlow(o, key)
		}
		i++
	}
	if i < len(b) && b[i] == '"' {
		j := scanASCII(b, i+1)
		if j+1 < len(b) && b[j] == '"' && b[j+1] == ':' {
			*key = b[i+1 : j]
			o.started = true
			d.i = j + 2
			if d.i < len(b) && b[d.i] <= ' ' {
				d.ws()
			}
			return true
		}
	}
	return d.nextSlow(o, key)
}

// nextSlow is next for any JSON.
func (d *decoder) nextSlow(o *objectWalk, key *[]byte) bool {
	d.ws()
	if !o.started {
		o.started = true
		if d.consume('}') {
			return false
		}
	} else if !d.consume(',') {
		if !d.consume('}') {
			o.err = errSyntax
		}
		return false
	} else {
		d.ws()
	}
	k, err := d.str(&d.keyBuf)
	if err != nil {
		o.err = err
		return false
	}
	d.ws()
	if !d.consume(':') {
		o.err = errSyntax
		return false
	}
	d.ws()
	*key = k
	return true
}

// Field numbers, per object; 0 (fSkip) is a key llmload does not read.
const fSkip = 0

const (
	fID = 1 + iota
	fObject
	fChoices
	fUsage
	fError
	fTimings
)

var topFields = []string{fID: "id", fObject: "object", fChoices: "choices", fUsage: "usage", fError: "error", fTimings: "timings"}

// topField returns the field number of a chunk's key.
func topField(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "object":
		return fObject
	case "choices":
		return fChoices
	case "usage":
		return fUsage
	case "error":
		return fError
	case "timings":
		return fTimings
	case "created", "model", "system_fingerprint", "service_tier", "obfuscation":
		return fSkip
	}
	return foldField(key, topFields)
}

const (
	fDelta = 1 + iota
	fText
	fFinishReason
)

var choiceFields = []string{fDelta: "delta", fText: "text", fFinishReason: "finish_reason"}

// choiceField returns the field number of a key of a choice.
func choiceField(key []byte) int {
	switch string(key) {
	case "delta":
		return fDelta
	case "text":
		return fText
	case "finish_reason":
		return fFinishReason
	case "index", "logprobs", "stop_reason", "matched_stop":
		return fSkip
	}
	return foldField(key, choiceFields)
}

const (
	fContent = 1 + iota
	fReasoningContent
	fReasoning
	fToolCalls
)

var deltaFields = []string{fContent: "content", fReasoningContent: "reasoning_content", fReasoning: "reasoning", fToolCalls: "tool_calls"}

// deltaField returns the field number of a key of a delta.
func deltaField(key []byte) int {
	switch string(key) {
	case "content":
		return fContent
	case "reasoning_content":
		return fReasoningContent
	case "reasoning":
		return fReasoning
	case "tool_calls":
		return fToolCalls
	case "role", "refusal":
		return fSkip
	}
	return foldField(key, deltaFields)
}

const (
	fPromptTokens = 1 + iota
	fCompletionTokens
	fPromptTokensDetails
	fCompletionTokensDetails
)

var usageFields = []string{fPromptTokens: "prompt_tokens", fCompletionTokens: "completion_tokens",
	fPromptTokensDetails: "prompt_tokens_details", fCompletionTokensDetails: "completion_tokens_details"}

// usageField returns the field number of a key of "usage".
func usageField(key []byte) int {
	switch string(key) {
	case "prompt_tokens":
		return fPromptTokens
	case "completion_tokens":
		return fCompletionTokens
	case "prompt_tokens_details":
		return fPromptTokensDetails
	case "completion_tokens_details":
		return fCompletionTokensDetails
	case "total_tokens":
		return fSkip
	}
	return foldField(key, usageFields)
}

const (
	fCachedTokens = 1 + iota
	fReasoningTokens
)

var detailsFields = []string{fCachedTokens: "cached_tokens", fReasoningTokens: "reasoning_tokens"}

// detailsField returns the field number of a key of
// prompt_tokens_details or completion_tokens_details: both fields are
// known to both, and tokenDetails keeps the one it was asked for.
func detailsField(key []byte) int {
	switch string(key) {
	case "cached_tokens":
		return fCachedTokens
	case "reasoning_tokens":
		return fReasoningTokens
	}
	return foldField(key, detailsFields)
}

const (
	fIndex = 1 + iota
	fToolID
	fFunction
)

var toolFields = []string{fIndex: "index", fToolID: "id", fFunction: "function"}

// toolField returns the field number of a key of a tool_calls entry.
func toolField(key []byte) int {
	switch string(key) {
	case "index":
		return fIndex
	case "id":
		return fToolID
	case "function":
		return fFunction
	case "type":
		return fSkip
	}
	return foldField(key, toolFields)
}

const (
	fName = 1 + iota
	fArguments
)

var functionFields = []string{fName: "name", fArguments: "arguments"}

// functionField returns the field number of a key of a tool call's "function".
func functionField(key []byte) int {
	switch string(key) {
	case "name":
		return fName
	case "arguments":
		return fArguments
	}
	return foldField(key, functionFields)
}

const (
	fPromptMS = 1 + iota
	fPredictedMS
	fCacheN
)

var timingsFields = []string{fPromptMS: "prompt_ms", fPredictedMS: "predicted_ms", fCacheN: "cache_n"}

// timingsField returns the field number of a key of llama.cpp's "timings".
func timingsField(key []byte) int {
	switch string(key) {
	case "prompt_ms":
		return fPromptMS
	case "predicted_ms":
		return fPredictedMS
	case "cache_n":
		return fCacheN
	case "prompt_n", "prompt_per_token_ms", "prompt_per_second",
		"predicted_n", "predicted_per_token_ms", "predicted_per_second":
		return fSkip
	}
	return foldField(key, timingsFields)
}

// foldField returns the number of the field (an index into fields, whose
// element 0 is unused) that key names case-insensitively, or fSkip. It is
// the fallback after an exact match failed, and is one scan of the key
// for the usual unknown key: a key of lower-case ASCII letters, digits and
// punctuation folds to no field name it does not equal (the names are
// lower-case ASCII; only upper-case ASCII letters and a few non-ASCII
// letters, e.g. U+212A KELVIN SIGN for 'k', fold to them).
func foldField(key []byte, fields []string) int {
	if !mayFold(key) {
		return fSkip
	}
	for f := 1; f < len(fields); f++ {
		if equalFold(key, fields[f]) {
			return f
		}
	}
	return fSkip
}

// mayFold reports whether key holds an upper-case ASCII letter or a
// non-ASCII byte.
func mayFold(key []byte) bool {
	for _, c := range key {
		if c-'A' < 26 || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
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
