package bedrock

import (
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// TestConverseStreamReasoningAndTools reads a ConverseStream of a model
// with extended thinking that then calls a tool: reasoning text deltas
// are reasoning output (a signature carries none), the tool use's start
// begins a tool call and its input deltas are its text.
func TestConverseStreamReasoningAndTools(t *testing.T) {
	frames := []eventstream.Message{
		frame("event", "messageStart", `{"role":"assistant"}`),
		frame("event", "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"The user wants"}}}`),
		frame("event", "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqoBCkgIARABGAIiQ"}}}`),
		frame("event", "contentBlockStop", `{"contentBlockIndex":0}`),
		frame("event", "contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"Checking."}}`),
		frame("event", "contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather"}}}`),
		frame("event", "contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"city\":"}}}`),
		frame("event", "contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`),
		frame("event", "messageStop", `{"stopReason":"tool_use"}`),
		frame("event", "metadata", `{"usage":{"inputTokens":12,"outputTokens":30,"totalTokens":42},"metrics":{"latencyMs":900}}`),
	}
	p := newTestProvider(t, fakeStream(t, frames), APIConverseStream)
	s, err := p.Start(t.Context(), chatRequest(64, true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type out struct {
		text, reasoning, tool string
		calls                 int
	}
	want := []out{{reasoning: "The user wants"}, {text: "Checking."}, {tool: "get_weather", calls: 1}, {tool: `{"city":`}, {tool: `"Paris"}`}}
	var got []out
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.HasOutput() {
			got = append(got, out{ev.Text, ev.Reasoning, ev.ToolCallText, ev.ToolCalls})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("output events %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
