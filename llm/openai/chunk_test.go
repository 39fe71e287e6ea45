package openai

import (
	"bytes"
	"encoding/json"
	"testing"
)

// refChunk is the encoding/json reading of a chunk that decoder must match.
type refChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			Reasoning        string `json:"reasoning"`
			ToolCalls        []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
	Error   json.RawMessage `json:"error"`
	Timings *struct {
		PromptMS    *float64 `json:"prompt_ms"`
		PredictedMS *float64 `json:"predicted_ms"`
		CacheN      *int     `json:"cache_n"`
	} `json:"timings"`
}

// decoded is the comparable result of either decoder.
type decoded struct {
	ok                        bool
	id, content, text, finish string
	hasUsage                  bool
	prompt, completion        int
	hasError                  bool
	hasTimings                bool
	promptMS, predictedMS     float64
	hasPromptMS, hasPredicted bool
	hasCached                 bool
	cached                    int
	hasCacheN                 bool
	cacheN                    int
	reasoning, reasoning2     string
	toolN, toolOther, toolIDs int
	toolMask                  uint64
	toolText                  string
	hasReasoningTokens        bool
	reasoningTokens           int
}

func decodeRef(data []byte) decoded {
	var r refChunk
	if json.Unmarshal(data, &r) != nil {
		return decoded{}
	}
	d := decoded{ok: true, id: r.ID, hasError: (len(r.Error) > 0 && string(r.Error) != "null") || r.Object == "error"}
	if len(r.Choices) > 0 {
		d.content, d.text, d.finish = r.Choices[0].Delta.Content, r.Choices[0].Text, r.Choices[0].FinishReason
		d.reasoning, d.reasoning2 = r.Choices[0].Delta.ReasoningContent, r.Choices[0].Delta.Reasoning
		for _, tc := range r.Choices[0].Delta.ToolCalls {
			d.toolN++
			if 0 <= tc.Index && tc.Index < 64 {
				d.toolMask |= 1 << uint(tc.Index)
			} else {
				d.toolOther++
				if tc.ID != "" {
					d.toolIDs++
				}
			}
			d.toolText += tc.Function.Name + tc.Function.Arguments
		}
	}
	if r.Usage != nil {
		d.hasUsage, d.prompt, d.completion = true, r.Usage.PromptTokens, r.Usage.CompletionTokens
		if pd := r.Usage.PromptTokensDetails; pd != nil {
			d.hasCached, d.cached = true, pd.CachedTokens
		}
		if cd := r.Usage.CompletionTokensDetails; cd != nil {
			d.hasReasoningTokens, d.reasoningTokens = true, cd.ReasoningTokens
		}
	}
	if t := r.Timings; t != nil {
		d.hasTimings = true
		if t.PromptMS != nil {
			d.promptMS, d.hasPromptMS = *t.PromptMS, true
		}
		if t.PredictedMS != nil {
			d.predictedMS, d.hasPredicted = *t.PredictedMS, true
		}
		if t.CacheN != nil {
			d.cacheN, d.hasCacheN = *t.CacheN, true
		}
	}
	return d
}

func decodeLean(dec *decoder, data []byte) decoded {
	var c chunk
	if dec.decode(data, &c) != nil {
		return decoded{}
	}
	return decoded{
		ok: true, id: string(c.id), content: string(c.content), text: string(c.text), finish: string(c.finish),
		hasUsage: c.hasUsage, prompt: c.usage.prompt, completion: c.usage.completion,
		hasError:   c.errRaw != nil || c.errObj,
		hasTimings: c.hasTimings, promptMS: c.timings.promptMS, predictedMS: c.timings.predictedMS,
		hasPromptMS: c.timings.hasPromptMS, hasPredicted: c.timings.hasPredictedMS,
		hasCached: c.usage.hasCached, cached: c.usage.cached,
		hasCacheN: c.timings.hasCacheN, cacheN: c.timings.cacheN,
		reasoning: string(c.reasoning), reasoning2: string(c.reasoning2),
		toolN: c.tools.n, toolOther: c.tools.other, toolIDs: c.tools.otherIDs, toolMask: c.tools.mask, toolText: string(c.tools.text),
		hasReasoningTokens: c.usage.hasReasoning, reasoningTokens: c.usage.reasoning,
	}
}

var chunkSeeds = []string{
	`{"id":"cmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}`,
	`{"id":"cmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"cmpl-1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`,
	`{"id":"cmpl-1","choices":[{"index":0,"text":"hi","finish_reason":"length"}],"usage":null}`,
	`{"error":{"message":"boom","type":"InternalServerError","code":500}}`,
	`{"object":"error","message":"x"}`,
	`{"ID":"a","Choices":[{"Delta":{"CONTENT":"\u00e9\n\ud83d\ude00\ud800x"}},{"text":5}]}`,
	`{"choices":[{"delta":{"content":"a\"b\\c\/d\b\f\r\t"}}], "choices": null}`,
	`{"usage":{"prompt_tokens":-9223372036854775808,"completion_tokens":9223372036854775807}}`,
	`{"usage":{"prompt_tokens":9223372036854775808}}`,
	`{"usage":{"prompt_tokens":1.0}}`,
	`{"usage":{"prompt_tokens":1e2}}`,
	`{"id":"\xff\xfe"}`,
	`{"\u0069d":"k"}`,
	"{\"\u212a\":1,\"\u017fhoices\":[]}",
	`null`, `[]`, `{}`, `{"a":[1,2,{"b":[true,false,null]}]}`, `{"a":01}`, `{"a":-}`, `{"a":"\x01"}`, ` {"a":1} `, `{"a":1}x`,
	`{"error":null}`, `{"error":{"a":1},"error":null}`, `{"choices":[null]}`, `{"choices":[{"delta":null}]}`,
	// llama.cpp's final chunk carries "timings".
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"timings":{"prompt_n":12,"prompt_ms":35.5,"prompt_per_token_ms":2.958,"prompt_per_second":338.0,"predicted_n":40,"predicted_ms":812.25,"predicted_per_token_ms":20.3,"predicted_per_second":49.2}}`,
	`{"timings":{"prompt_ms":1e2,"predicted_ms":-0.5E-3}}`, `{"timings":{"prompt_ms":null,"predicted_ms":7}}`,
	`{"timings":{"prompt_ms":1},"timings":{}}`, `{"timings":{"prompt_ms":1},"timings":null}`, `{"timings":null,"timings":{}}`,
	`{"timings":{"prompt_ms":1e400}}`, `{"timings":{"prompt_ms":"1"}}`, `{"timings":[]}`, `{"timings":5}`, `{"Timings":{"PROMPT_MS":3}}`,
	`{"timings":{"prompt_ms":1,"prompt_ms":null}}`,
	// Cached prompt tokens: OpenAI/vLLM usage details, llama.cpp cache_n.
	`{"id":"c","choices":[],"usage":{"prompt_tokens":560,"completion_tokens":150,"total_tokens":710,"prompt_tokens_details":{"cached_tokens":512,"audio_tokens":0}}}`,
	`{"usage":{"prompt_tokens_details":null}}`, `{"usage":{"prompt_tokens_details":{}}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":null}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":3}},"usage":{"prompt_tokens_details":null}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":3}},"usage":{}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":1.5}}}`,
	`{"usage":{"prompt_tokens_details":[]}}`, `{"usage":{"Prompt_Tokens_Details":{"CACHED_TOKENS":7}}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":2,"cached_tokens":null}}}`,
	`{"timings":{"cache_n":12,"prompt_n":1,"prompt_ms":0.5}}`, `{"timings":{"cache_n":null}}`, `{"timings":{"cache_n":1},"timings":{"cache_n":null}}`,
	`{"timings":{"cache_n":1e1}}`, `{"timings":{"cache_n":-3}}`,
	// Reasoning deltas: vLLM's reasoning_content, newer vLLM's and gateways' reasoning, DeepSeek's.
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":" Let"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning":" me","content":null},"finish_reason":null}]}`,
	`{"id":"1","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay"},"logprobs":null,"finish_reason":null}]}`,
	`{"choices":[{"delta":{"reasoning_content":"a\u00e9","REASONING":"b","Reasoning_Content":null}}]}`,
	`{"choices":[{"delta":{"reasoning_content":5}}]}`, `{"choices":[{"delta":{"reasoning":[]}}]}`,
	`{"usage":{"prompt_tokens":9,"completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":21}}}`,
	`{"usage":{"completion_tokens_details":null}}`, `{"usage":{"completion_tokens_details":{"reasoning_tokens":2}},"usage":{"completion_tokens_details":null}}`,
	`{"usage":{"completion_tokens_details":{"reasoning_tokens":1.5}}}`, `{"usage":{"completion_tokens_details":{}}}`,
	// Tool calls: the name first, then argument fragments, one or several calls.
	`{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Par"}}]},"finish_reason":null}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b"},{"index":64,"id":"c"},{"index":-1},null,{"index":63,"function":null}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":null}}]}`, `{"choices":[{"delta":{"tool_calls":[]}}]}`, `{"choices":[{"delta":{"tool_calls":{}}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}`, `{"choices":[{"delta":{"tool_calls":[{"index":1.0}]}}]}`, `{"choices":[{"delta":{"tool_calls":[{"function":[]}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"id":null,"function":{"name":"a","name":null,"arguments":"x","arguments":"y"}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":99,"id":"x","id":""}]}}]}`,
	`{"choices":[{},{"delta":{"tool_calls":[{"index":"bad"}]}}]}`, `{"choices":[{},{"delta":{"tool_calls":[{"index":2}]}}]}`,
	// The key loop's compact fast path and its fall-backs: white space around
	// keys and separators, escaped and non-ASCII keys, known ignored keys in
	// another case or with other values, broken objects.
	`{"id" :"a"}`, `{"id": "a" ,"choices" : [ ] }`, `{ "id":"a"}`, "{\"id\":\t\"a\",\n\"choices\":[]}", `{"i\u0064":"x"}`, `{"\u00efd":"a"}`, "{\"\xefd\":\"a\"}",
	`{"Created":1,"MODEL":"m","System_Fingerprint":"x"}`, `{"created":"x","model":1,"logprobs":{"content":[]}}`, `{"Object":"error"}`, `{"object":"\u0065rror"}`, `{"object":"Error"}`,
	`{"id":"a"`, `{"id"`, `{"id":`, `{"id"}`, `{,"id":"a"}`, `{"id":"a",}`, `{"a":1 "b":2}`, `{"id":"a"}}`, `{"id":"a"},`, `{"":1}`, `{"id":"a","":2}`,
	`{"created":-0.5e+10}`, `{"created":1.}`, `{"created":.5}`, `{"created":1e}`, `{"created":-}`, `{"created":1E5}`, `{"created":-0}`, `{"created":1.5E-3}`, `{"created":+1}`, `{"created":0x10}`,
	`{"choices":[{"index":1e0,"delta":{"content":"a"},"logprobs":null}]}`, `{"choices":[{"INDEX":0,"DELTA":{"ROLE":"assistant","CONTENT":"a"}}]}`,
	`{"choices":[{"delta":{"content":"a","content":"b"}}]}`, `{"choices":[{"delta":{"content":"a"},"delta":{"role":"x"}}]}`, `{"choices":[{"delta":{"content":"a"},"delta":null}]}`,
	`{"usage":{"total_tokens":3,"Total_Tokens":"x","prompt_tokens":1}}`, `{"timings":{"prompt_n":1,"PROMPT_N":"x","predicted_per_second":1e308}}`,
}

// TestChunkDecodeMatchesEncodingJSON checks the lean decoder against encoding/json on the seed corpus.
func TestChunkDecodeMatchesEncodingJSON(t *testing.T) {
	var dec decoder
	for _, s := range append(chunkSeeds, shapeSeeds()...) {
		if got, want := decodeLean(&dec, []byte(s)), decodeRef([]byte(s)); got != want {
			t.Errorf("%s:\n lean %+v\n json %+v", s, got, want)
		}
	}
}

// FuzzChunkDecode holds the lean decoder to encoding/json on arbitrary input.
func FuzzChunkDecode(f *testing.F) {
	for _, s := range append(chunkSeeds, shapeSeeds()...) {
		f.Add([]byte(s))
	}
	var dec decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := decodeLean(&dec, data), decodeRef(data); got != want {
			t.Errorf("%q:\n lean %+v\n json %+v", data, got, want)
		}
	})
}

var benchChunk = []byte(`{"id":"cmpl-8f2b7c0e1a","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}`)

// BenchmarkChunkDecode compares the lean decoder with encoding/json on one
// chunk: lean decodes as a stream does (after the first, from the memo of
// the chunk's shape), full with the general decoder alone.
func BenchmarkChunkDecode(b *testing.B) {
	b.Run("lean", func(b *testing.B) {
		b.ReportAllocs()
		var dec decoder
		var c chunk
		for b.Loop() {
			if err := dec.decode(benchChunk, &c); err != nil || !bytes.Equal(c.content, []byte(" word")) {
				b.Fatal(err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var dec decoder
		var c chunk
		for b.Loop() {
			if err := dec.decodeFull(benchChunk, &c); err != nil || !bytes.Equal(c.content, []byte(" word")) {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r refChunk
			if err := json.Unmarshal(benchChunk, &r); err != nil || r.Choices[0].Delta.Content != " word" {
				b.Fatal(err)
			}
		}
	})
}
