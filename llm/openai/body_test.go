package openai

import (
	"bytes"
	"math"
	"testing"

	"github.com/llmload/llmload/llm"
)

// FuzzRequestBody holds appendBody to mapBody (json.Marshal of the map):
// the same bytes for every request appendBody encodes.
func FuzzRequestBody(f *testing.F) {
	f.Add("gpt-4o", "user", "Randomly stream lines <&> \"quoted\"\n\t\x01 \xff \u2028", "", 128, true, true, false, 0.7, true, uint8(1))
	f.Add("m", "", "", "prompt only", 0, false, false, true, 0.0, false, uint8(0))
	f.Add("", "system", "be brief", "then this", 5, true, false, false, 1e-7, true, uint8(3))
	f.Add("m", "user", "x", "y", -3, false, true, false, math.NaN(), true, uint8(2))
	f.Fuzz(func(t *testing.T, model, role, content, prompt string, maxTokens int, stream, ignoreEOS, completion bool, temp float64, hasTemp bool, nmsgs uint8) {
		req := &llm.Request{Model: model, Prompt: prompt, MaxTokens: maxTokens, Stream: stream, IgnoreEOS: ignoreEOS}
		for k := range int(nmsgs % 4) {
			req.Messages = append(req.Messages, llm.Message{Role: role, Content: content[:len(content)*k/3]})
		}
		if hasTemp {
			req.Temperature = &temp
		}
		api := llm.APIChat
		if completion {
			api = llm.APICompletion
		}
		got, ok := appendBody(nil, req, api)
		want, err := mapBody(req, api)
		if !ok {
			if hasTemp && !math.IsNaN(temp) && !math.IsInf(temp, 0) {
				t.Fatalf("appendBody declined %+v", req)
			}
			return
		}
		if err != nil {
			t.Fatalf("mapBody failed where appendBody did not: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendBody:\n%s\nmapBody:\n%s", got, want)
		}
	})
}

// TestRequestBodyFallback: Extra fields and embeddings still go through
// the map, Extra overriding what llmload sets.
func TestRequestBodyFallback(t *testing.T) {
	req := &llm.Request{Model: "m", Prompt: "hi", MaxTokens: 4, Stream: true, Extra: map[string]any{"max_tokens": 9, "top_p": 0.5}}
	if _, ok := appendBody(nil, req, llm.APIChat); ok {
		t.Fatal("appendBody encoded a request with Extra")
	}
	b, err := requestBody(req, llm.APIChat)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"max_tokens":9,"messages":[{"role":"user","content":"hi"}],"model":"m","stream":true,"stream_options":{"include_usage":true},"top_p":0.5}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	if _, ok := appendBody(nil, &llm.Request{Model: "m", Inputs: []string{"a"}}, llm.APIEmbeddings); ok {
		t.Fatal("appendBody encoded an embeddings request")
	}
}

func BenchmarkRequestBody(b *testing.B) {
	prompt := string(bytes.Repeat([]byte("Shall I compare thee to a summer's day?\n"), 60))
	req := &llm.Request{Model: "meta-llama/Llama-3.1-8B-Instruct", Prompt: prompt, MaxTokens: 128, Stream: true, IgnoreEOS: true}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendBody(nil, req, llm.APIChat)
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mapBody(req, llm.APIChat)
		}
	})
}
