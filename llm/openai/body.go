package openai

import (
	"strconv"

	"github.com/llmload/llmload/internal/jsonenc"
	"github.com/llmload/llmload/llm"
)

// appendBody appends the JSON body of a chat or completion request without
// Extra fields to dst: byte for byte what mapBody (json.Marshal of the
// map, keys sorted) writes, without a map, boxed values and reflection per
// request. It reports false, appending nothing, for what it does not
// encode (embeddings, Extra, a temperature JSON cannot hold), which
// mapBody then handles. FuzzRequestBody holds the two to the same bytes.
func appendBody(dst []byte, req *llm.Request, api llm.API) ([]byte, bool) {
	if (api != llm.APIChat && api != llm.APICompletion) || len(req.Extra) > 0 {
		return dst, false
	}
	var temp []byte
	if req.Temperature != nil {
		var ok bool
		if temp, ok = jsonenc.AppendFloat(nil, *req.Temperature); !ok {
			return dst, false
		}
	}
	msgs := req.Messages
	var one [1]llm.Message
	if api == llm.APIChat && len(msgs) == 0 && req.Prompt != "" {
		one[0] = llm.Message{Role: "user", Content: req.Prompt}
		msgs = one[:]
	}
	if dst == nil {
		n := 160 + len(req.Model)
		if api == llm.APICompletion {
			n += len(req.Prompt)
		}
		for _, m := range msgs {
			n += 32 + len(m.Role) + len(m.Content)
		}
		dst = make([]byte, 0, n+n/16)
	}
	// Keys in sorted order, as json.Marshal writes a map.
	dst = append(dst, '{')
	if req.IgnoreEOS {
		dst = append(dst, `"ignore_eos":true,`...)
	}
	if req.MaxTokens > 0 {
		dst = append(dst, `"max_tokens":`...)
		dst = strconv.AppendInt(dst, int64(req.MaxTokens), 10)
		dst = append(dst, ',')
	}
	if api == llm.APIChat {
		dst = append(dst, `"messages":[`...)
		for k, m := range msgs {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"role":`...)
			dst = jsonenc.AppendString(dst, m.Role)
			dst = append(dst, `,"content":`...)
			dst = jsonenc.AppendString(dst, m.Content)
			dst = append(dst, '}')
		}
		dst = append(dst, "],"...)
	}
	if req.IgnoreEOS && req.MaxTokens > 0 {
		dst = append(dst, `"min_tokens":`...)
		dst = strconv.AppendInt(dst, int64(req.MaxTokens), 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"model":`...)
	dst = jsonenc.AppendString(dst, req.Model)
	if api == llm.APICompletion {
		dst = append(dst, `,"prompt":`...)
		dst = jsonenc.AppendString(dst, req.Prompt)
	}
	if req.Stream {
		dst = append(dst, `,"stream":true,"stream_options":{"include_usage":true}`...)
	} else {
		dst = append(dst, `,"stream":false`...)
	}
	if temp != nil {
		dst = append(dst, `,"temperature":`...)
		dst = append(dst, temp...)
	}
	return append(dst, '}'), true
}
