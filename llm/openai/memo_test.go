package openai

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmload/llmload/llm"
)

// Real chunk shapes, with the token text as %s: the memo's fast path must
// serve each of them, and the general decoder stays the reference.
var memoShapes = []struct {
	name, chunk string
}{
	{"vLLM", `{"id":"chatcmpl-9f1c2b7e4d3a4f0e8b6c5d2a1e0f9b8c","object":"chat.completion.chunk","created":1718000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}]}`},
	{"vLLM reasoning", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning_content":"%s"},"logprobs":null,"finish_reason":null}]}`},
	{"vLLM reasoning (newer)", `{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning":"%s"},"logprobs":null,"finish_reason":null}]}`},
	{"vLLM completions", `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"%s","logprobs":null,"finish_reason":null,"stop_reason":null}]}`},
	{"SGLang", `{"id":"6b0e","object":"chat.completion.chunk","created":1718000000,"model":"default","choices":[{"index":0,"delta":{"role":null,"content":"%s","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}`},
	{"TGI", `{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"2.4.0-native","choices":[{"index":0,"delta":{"role":"assistant","content":"%s"},"logprobs":null,"finish_reason":null}],"usage":null}`},
	{"llama.cpp", `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"%s"}}],"created":1718000000,"id":"chatcmpl-aB3","model":"gpt-3.5-turbo","system_fingerprint":"b4520-6171c9d2","object":"chat.completion.chunk"}`},
	{"Ollama", `{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1718000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"%s"},"finish_reason":null}]}`},
	{"OpenAI", `{"id":"chatcmpl-AbC","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0aa8d3e20b","choices":[{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}],"usage":null}`},
	{"peerbench", `{"id":"chatcmpl-gt","object":"chat.completion.chunk","created":1700000000,"model":"gt","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}`},
	{"usage in every chunk", `{"id":"c","choices":[{"index":0,"delta":{"content":"%s"}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":2}}}`},
	{"white space", `{"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "%s"}, "finish_reason": null}]}`},
	{"pretty", "{\n  \"id\": \"c\",\n  \"choices\": [\n    {\n      \"delta\": {\n        \"content\": \"%s\"\n      }\n    }\n  ]\n}\n"},
	{"finish reason after", `{"id":"c","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":"stop"}]}`},
	{"upper-case keys", `{"ID":"c","Choices":[{"Delta":{"Content":"%s"}}]}`},
	{"timings", `{"id":"c","choices":[{"delta":{"content":"%s"}}],"timings":{"prompt_n":1,"prompt_ms":0.5,"cache_n":3}}`},
}

// memoTexts are token texts the fast path must serve ...
var memoTexts = []string{" the", "x", " quick brown fox jumps over", "caf\u00e9", "\u4f60\u597d", "\U0001f600", "a/b", "{}:,[]", ""}

// ... and texts it must hand to the full decoder (an escape, a quote, a
// control character, invalid UTF-8), whose results must still match.
var memoHardTexts = []string{`a\"b`, `\n`, `\u00e9`, `a\\`, "a\"b", "a\x01", "\xff", "caf\xc3", `"`, `\`, `a","x":"`, `a"},"finish_reason":"stop`}

// decodeBoth decodes data with dec and with a fresh decoder's decodeFull,
// and fails unless both fail or the chunks are identical (nil and empty
// slices told apart, except the tool-call text: an empty one is its
// buffer's, non-nil once a decoder has used it) and match encoding/json.
func decodeBoth(t *testing.T, dec *decoder, data []byte) {
	t.Helper()
	var got, want chunk
	errGot := dec.decode(data, &got)
	var ref decoder
	errWant := ref.decodeFull(data, &want)
	if errGot != nil || errWant != nil {
		// On an error the stream discards the chunk.
		got, want = chunk{}, chunk{}
	}
	for _, c := range []*chunk{&got, &want} {
		if len(c.tools.text) == 0 {
			c.tools.text = nil
		}
	}
	if (errGot == nil) != (errWant == nil) || !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\n memo %v %+v\n full %v %+v", data, errGot, got, errWant, want)
	}
	if got, want := decodeLean(&ref, data), decodeRef(data); got != want {
		t.Errorf("%q:\n lean %+v\n json %+v", data, got, want)
	}
}

// TestChunkDecodeMemo decodes streams of each real shape with one decoder,
// as a stream does: every chunk after the first with the same shape must
// come from the memo, and every result must equal the full decoder's and
// encoding/json's.
func TestChunkDecodeMemo(t *testing.T) {
	for _, sh := range memoShapes {
		t.Run(sh.name, func(t *testing.T) {
			var dec decoder
			for i, text := range append([]string{"first"}, memoTexts...) {
				data := []byte(strings.Replace(sh.chunk, "%s", text, 1))
				decodeBoth(t, &dec, data)
				if fromMemo := dec.memo.misses == 0; fromMemo != (i > 0) {
					t.Errorf("chunk %d %q: from the memo %v, want %v", i, text, fromMemo, i > 0)
				}
			}
			for _, text := range memoHardTexts {
				data := []byte(strings.Replace(sh.chunk, "%s", text, 1))
				decodeBoth(t, &dec, data)
				if dec.memo.misses == 0 {
					t.Errorf("%q came from the memo", data)
				}
				decodeBoth(t, &dec, []byte(strings.Replace(sh.chunk, "%s", "again", 1)))
			}
		})
	}
}

// TestChunkDecodeMemoNearMisses decodes, after a chunk of each shape, chunks
// that differ from it a little (a key's case, an escaped key, a duplicated
// key, a null choices, an extra field, a number in exponent form, the text
// moved to another field): they must not be mistaken for the shape.
func TestChunkDecodeMemoNearMisses(t *testing.T) {
	for _, sh := range memoShapes {
		for _, e := range nearMisses {
			if !strings.Contains(sh.chunk, e[0]) {
				continue
			}
			var dec decoder
			decodeBoth(t, &dec, []byte(strings.Replace(sh.chunk, "%s", "a", 1)))
			edited := strings.Replace(sh.chunk, e[0], e[1], 1)
			for _, text := range []string{"a", "bb", `a\"`, ""} {
				decodeBoth(t, &dec, []byte(strings.ReplaceAll(edited, "%s", text)))
			}
			decodeBoth(t, &dec, []byte(strings.Replace(sh.chunk, "%s", "c", 1)))
		}
	}
}

// nearMisses are edits of a shape (old, new) that make chunks resembling it.
var nearMisses = [][2]string{
	{`"content"`, `"Content"`}, {`"content"`, `"\u0063ontent"`}, {`"content"`, `"reasoning_content"`}, {`"content"`, `"text"`},
	{`"choices":[`, `"choices":null,"choices":[`}, {`"choices":[`, `"choices":[{"delta":{"content":"z"}},`},
	{`"delta":{`, `"delta":{"content":"y",`}, {`}]`, `,"finish_reason":"length"}]`}, {`}]`, `}],"choices":null`},
	{`"id":"`, `"id":"x`}, {`"id":`, `"ID":`}, {`"created":1`, `"created":1e3`}, {`{"`, `{"error":{"m":1},"`},
	{`{"`, `{"object":"error","`}, {`{"`, `{"usage":{"prompt_tokens":1},"`}, {`{"`, `{"extra":[1,{"a":"\u0022"}],"`},
	{`"finish_reason":null`, `"finish_reason":"stop"`}, {`"%s"`, `"%s","content":null`}, {`"%s"`, `"%s","content":"w"`},
	{`"%s"`, `null,"content":"%s"`}, {`"%s"`, `"%s","tool_calls":[{"index":0,"function":{"name":"f"}}]`},
	{`"%s"`, `"%s" `}, {`"%s"`, ` "%s"`}, {`"%s"`, `"%s"}`}, {`"%s"`, `"%s`},
}

// shapeSeeds returns every shape with a text, and every near miss of it.
func shapeSeeds() []string {
	var seeds []string
	for _, sh := range memoShapes {
		seeds = append(seeds, strings.Replace(sh.chunk, "%s", "a", 1))
		for _, e := range nearMisses {
			if strings.Contains(sh.chunk, e[0]) {
				seeds = append(seeds, strings.ReplaceAll(strings.Replace(sh.chunk, e[0], e[1], 1), "%s", "b"))
			}
		}
	}
	return seeds
}

// TestChunkDecodeMemoGivesUp checks that a stream whose chunks always
// differ outside the text (a counter, padding) stops remembering shapes,
// and that the results stay right.
func TestChunkDecodeMemoGivesUp(t *testing.T) {
	var dec decoder
	for i := range 3 * maxMisses {
		data := []byte(`{"id":"c","choices":[{"delta":{"content":"a"}}],"obfuscation":"` + strings.Repeat("x", i) + `"}`)
		decodeBoth(t, &dec, data)
	}
	if dec.memo.ok || dec.memo.misses <= maxMisses {
		t.Errorf("memo ok %v after %d misses, want it given up", dec.memo.ok, dec.memo.misses)
	}
}

// FuzzChunkDecodeAfter holds the decoder to encoding/json and to its own
// full decode on a chunk decoded after another: prev leaves a memo, and
// data is prev's shape with a new text when it has one (the fuzzer finds
// such pairs from the seeds), else any input.
func FuzzChunkDecodeAfter(f *testing.F) {
	for _, sh := range memoShapes {
		prev := strings.Replace(sh.chunk, "%s", "a", 1)
		for _, text := range append(append([]string{}, memoTexts...), memoHardTexts...) {
			f.Add([]byte(prev), []byte(strings.Replace(sh.chunk, "%s", text, 1)))
		}
	}
	for _, sh := range memoShapes {
		prev := strings.Replace(sh.chunk, "%s", "a", 1)
		for _, e := range nearMisses {
			if strings.Contains(sh.chunk, e[0]) {
				f.Add([]byte(prev), []byte(strings.ReplaceAll(strings.Replace(sh.chunk, e[0], e[1], 1), "%s", "b")))
			}
		}
	}
	for _, s := range chunkSeeds {
		f.Add([]byte(s), []byte(s))
	}
	f.Fuzz(func(t *testing.T, prev, data []byte) {
		var dec decoder
		var c chunk
		dec.decode(prev, &c)
		decodeBoth(t, &dec, data)
		decodeBoth(t, &dec, prev)
	})
}

// TestScan checks the eight-bytes-at-a-time string scanners against a
// byte-by-byte reading, on strings of the bytes that matter around every
// boundary.
func TestScan(t *testing.T) {
	edge := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', 0x23, 0x5b, '\\', 0x5d, 'a', 0x7f, 0x80, 0xc3, 0xe4, 0xfe, 0xff}
	naive := func(b []byte, i int, stopHigh bool) int {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 || stopHigh && c >= utf8.RuneSelf {
				return i
			}
		}
		return i
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(40))
		for k := range b {
			if r.IntN(4) == 0 {
				b[k] = edge[r.IntN(len(edge))]
			} else {
				b[k] = 'a' + byte(r.IntN(26))
			}
		}
		i := 0
		if len(b) > 0 {
			i = r.IntN(len(b) + 1)
		}
		if got, want := scanASCII(b, i), naive(b, i, true); got != want {
			t.Fatalf("scanASCII(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got, want := scanText(b, i), naive(b, i, false); got != want {
			t.Fatalf("scanText(%q, %d) = %d, want %d", b, i, got, want)
		}
	}
	// Every position of every byte value in a word.
	for c := range 256 {
		for pos := range 16 {
			b := bytes.Repeat([]byte{'a'}, 16)
			b[pos] = byte(c)
			if got, want := scanASCII(b, 0), naive(b, 0, true); got != want {
				t.Fatalf("scanASCII(%q) = %d, want %d", b, got, want)
			}
			if got, want := scanText(b, 0), naive(b, 0, false); got != want {
				t.Fatalf("scanText(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

// TestPlainTextFastPath reads streams of every shape, alone and two
// shapes interleaved (their ids differ), through both APIs, with and
// without handle's fast path for chunks shaped like a plain memo, and
// requires the same events: ids, texts, finish reasons, usage.
func TestPlainTextFastPath(t *testing.T) {
	type got struct {
		ev                       llm.Event
		text, reasoning, toolTxt string
		err                      string
	}
	read := func(body []byte, api llm.API, fast bool) (out []got, plainSeen bool) {
		defer func(old bool) { memoFastPath = old }(memoFastPath)
		memoFastPath = fast
		s := newSSEStream(context.Background(), io.NopCloser(bytes.NewReader(body)), api, 200, "")
		defer s.Close()
		for {
			var tx llm.EventText
			ev, err := s.NextText(&tx)
			plainSeen = plainSeen || (s.dec.memo.ok && s.dec.memo.plain)
			g := got{ev: ev, text: string(tx.Text), reasoning: string(tx.Reasoning), toolTxt: string(tx.ToolCallText)}
			if ev.Usage != nil {
				u := *ev.Usage
				g.ev.Usage = &u
			}
			if err != nil {
				g.err = err.Error()
				out = append(out, g)
				return out, plainSeen
			}
			out = append(out, g)
		}
	}
	texts := append(append(append([]string{"first"}, memoTexts...), memoHardTexts...), memoTexts...)
	event := func(b *bytes.Buffer, shape, text string) {
		b.WriteString("data: ")
		b.WriteString(strings.Replace(shape, "%s", text, 1))
		b.WriteString("\n\n")
	}
	for i, sh := range memoShapes {
		other := memoShapes[(i+1)%len(memoShapes)]
		var alone, mixed bytes.Buffer
		for k, text := range texts {
			event(&alone, sh.chunk, text)
			if k%3 == 2 {
				event(&mixed, other.chunk, text)
			} else {
				event(&mixed, sh.chunk, text)
			}
		}
		for _, b := range []*bytes.Buffer{&alone, &mixed} {
			b.WriteString(`data: {"id":"end","choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":40}}` + "\n\n")
			// Two after it: the second is served from the memo while the
			// stream holds a usage.
			event(b, sh.chunk, "after the usage")
			event(b, sh.chunk, " and again")
			b.WriteString("data: [DONE]\n\n")
		}
		for _, api := range []llm.API{llm.APIChat, llm.APICompletion} {
			for name, body := range map[string][]byte{"alone": alone.Bytes(), "mixed with " + other.name: mixed.Bytes()} {
				fast, plain := read(body, api, true)
				slow, _ := read(body, api, false)
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s, %s, api %v: with the fast path\n %+v\nwithout\n %+v", sh.name, name, api, fast, slow)
				}
				wantPlain := api == llm.APIChat && (sh.name == "vLLM" || sh.name == "peerbench" || sh.name == "OpenAI" || sh.name == "vLLM reasoning")
				if wantPlain && !plain {
					t.Errorf("%s, %s, api %v: the memo was never plain: the fast path was not taken", sh.name, name, api)
				}
			}
		}
	}
}
