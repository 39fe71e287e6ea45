package openai

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmload/llmload/llm"
)

// Byte streams as servers write them (abridged ids; the shapes are theirs).
var (
	// vLLM with a reasoning parser (--reasoning-parser deepseek_r1, qwen3):
	// reasoning in delta.reasoning_content, then the answer in content.
	vllmReasoning = []string{
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning_content":"Okay"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning_content":", the user"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":"\n\n"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":"Paris"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":12,"total_tokens":17,"completion_tokens":5,"completion_tokens_details":{"reasoning_tokens":3}}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	// Newer vLLM and gateways (OpenRouter, LiteLLM): delta.reasoning.
	vllmReasoningNew = []string{
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":null},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning":"Hmm"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Yes","reasoning":null},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n",
		"data: [DONE]\n\n",
	}
	// DeepSeek's API (deepseek-reasoner): content null while reasoning,
	// reasoning_content null while answering; usage on the last chunk.
	deepseekReasoning = []string{
		`data: {"id":"3f1b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"3f1b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"We"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"3f1b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":null,"reasoning_content":" need"},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"3f1b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"4","reasoning_content":null},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"3f1b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":2},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":10}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	// OpenAI-style tool calls: the first delta of each call carries its
	// id and name, later ones argument fragments; two calls.
	toolCallStream = []string{
		`data: {"id":"chatcmpl-4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n",
		`data: {"id":"chatcmpl-4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}` + "\n\n",
		"data: [DONE]\n\n",
	}
)

// outputOf is what matters of an event here.
type outputOf struct {
	text, reasoning, tool string
	calls                 int
}

func streamOutputs(t *testing.T, parts []string) ([]outputOf, *llm.Usage) {
	t.Helper()
	srv := sseServer(t, parts...)
	p := newTestProvider(t, srv.URL)
	s, err := p.Start(context.Background(), &llm.Request{Model: "m", API: llm.APIChat, Stream: true,
		Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := collect(s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	var out []outputOf
	var u *llm.Usage
	for _, ev := range evs {
		if ev.Usage != nil {
			u = ev.Usage
		}
		if ev.HasOutput() {
			out = append(out, outputOf{ev.Text, ev.Reasoning, ev.ToolCallText, ev.ToolCalls})
		}
	}
	return out, u
}

// TestReasoningStreams parses the reasoning streams of vLLM (old and new
// field), DeepSeek and a tool-calling model into output events of the
// right kind, one per chunk, with the server's reasoning token count.
func TestReasoningStreams(t *testing.T) {
	for _, tc := range []struct {
		name      string
		parts     []string
		want      []outputOf
		reasoning int // usage.completion_tokens_details.reasoning_tokens; -1: not reported
	}{
		{"vllm reasoning_content", vllmReasoning,
			[]outputOf{{reasoning: "Okay"}, {reasoning: ", the user"}, {text: "\n\n"}, {text: "Paris"}}, 3},
		{"vllm reasoning", vllmReasoningNew,
			[]outputOf{{reasoning: "Hmm"}, {text: "Yes"}}, -1},
		{"deepseek", deepseekReasoning,
			[]outputOf{{reasoning: "We"}, {reasoning: " need"}, {text: "4"}}, 2},
		{"tool calls", toolCallStream,
			[]outputOf{{tool: "get_weather", calls: 1}, {tool: `{"city":`}, {tool: ` "Paris"}`}, {tool: "get_time{}", calls: 1}}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, u := streamOutputs(t, tc.parts)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d output events %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			switch {
			case tc.reasoning < 0 && u != nil && u.HasReasoning:
				t.Errorf("usage reports reasoning tokens %d, the stream did not", u.ReasoningTokens)
			case tc.reasoning >= 0 && (u == nil || !u.HasReasoning || u.ReasoningTokens != tc.reasoning):
				t.Errorf("usage %+v, want reasoning tokens %d", u, tc.reasoning)
			}
		})
	}
}

// TestNonStreamedReasoning reads reasoning and tool calls from a whole
// (non-streamed) chat response.
func TestNonStreamedReasoning(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Paris","reasoning_content":"The capital","tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}`)
	}))
	defer srv.Close()
	p := newTestProvider(t, srv.URL)
	s, err := p.Start(context.Background(), &llm.Request{Model: "m", API: llm.APIChat,
		Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Text != "Paris" || ev.Reasoning != "The capital" || ev.ToolCalls != 1 || ev.ToolCallText != "f{}" {
		t.Errorf("event %+v", ev)
	}
	if ev.Usage == nil || !ev.Usage.HasReasoning || ev.Usage.ReasoningTokens != 4 {
		t.Errorf("usage %+v, want 4 reasoning tokens", ev.Usage)
	}
}
