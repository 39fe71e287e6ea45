package stats

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/record"
)

// TestReasoningSummary checks the reasoning and tool_calls sections and
// their warnings against numbers worked by hand.
func TestReasoningSummary(t *testing.T) {
	recs := []record.Record{
		// Two reasoning requests with answers, one without, one hidden, one plain, one tool call.
		{ID: 0, Stream: true, E2ES: 1, TTFTS: 0.1, TTFTReasoningS: 0.1, TTFTAnswerS: 0.5, ReasoningChunks: 40, ReasoningTokens: 40, OutputTokens: 100},
		{ID: 1, Stream: true, E2ES: 1, TTFTS: 0.2, TTFTReasoningS: 0.2, TTFTAnswerS: 0.7, ReasoningChunks: 60, ReasoningTokens: 60, OutputTokens: 100},
		{ID: 2, Stream: true, E2ES: 1, TTFTS: 0.3, TTFTReasoningS: 0.3, ReasoningChunks: 50, ReasoningTokens: 50, OutputTokens: 50},
		{ID: 3, Stream: true, E2ES: 1, TTFTS: 0.9, ReasoningTokens: 30, OutputTokens: 40},
		{ID: 4, Stream: true, E2ES: 1, TTFTS: 0.1, OutputTokens: 10},
		{ID: 5, Stream: true, E2ES: 1, TTFTS: 0.1, TTFTToolCallS: 0.1, ToolCalls: 2, ToolCallChunks: 5, OutputTokens: 10},
		// Warm-up and failed requests do not count.
		{ID: 6, Warmup: true, Stream: true, E2ES: 1, TTFTReasoningS: 0.1, ReasoningTokens: 9, OutputTokens: 9},
		{ID: 7, Stream: true, E2ES: 1, TTFTReasoningS: 0.1, ErrorKind: "timeout"},
	}
	s := Summarize(recs, RunInfo{})
	r := s.Reasoning
	if r == nil {
		t.Fatal("no reasoning section")
	}
	if r.Requests != 3 || r.NoAnswerRequests != 1 || r.HiddenRequests != 1 {
		t.Errorf("requests %d, no answer %d, hidden %d; want 3, 1, 1", r.Requests, r.NoAnswerRequests, r.HiddenRequests)
	}
	if r.TTFTReasoning.Count != 3 || !near(r.TTFTReasoning.Mean, 0.2) || r.TTFTAnswer.Count != 2 || !near(r.TTFTAnswer.P50, 0.6) {
		t.Errorf("ttft_reasoning %+v, ttft_answer %+v", r.TTFTReasoning, r.TTFTAnswer)
	}
	if !near(r.ReasoningTokens.Mean, 50) || !near(r.TokenShare, 150.0/250) {
		t.Errorf("reasoning tokens mean %v, share %v; want 50, 0.6", r.ReasoningTokens.Mean, r.TokenShare)
	}
	if tc := s.ToolCalls; tc == nil || tc.Requests != 1 || tc.Calls != 2 || tc.TTFTToolCall.Count != 1 {
		t.Errorf("tool calls %+v", tc)
	}
	var noAnswer, hidden bool
	for _, w := range s.Warnings {
		noAnswer = noAnswer || strings.Contains(w, "1 of 3 reasoning requests ended before any answer token")
		hidden = hidden || strings.Contains(w, "1 streamed requests reported reasoning tokens their stream did not carry")
	}
	if !noAnswer || !hidden {
		t.Errorf("warnings %q", s.Warnings)
	}
	if s := Summarize(recs[4:5], RunInfo{}); s.Reasoning != nil || s.ToolCalls != nil {
		t.Errorf("a plain run has reasoning %+v, tool calls %+v", s.Reasoning, s.ToolCalls)
	}
}
