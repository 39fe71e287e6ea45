package stats

import (
	"fmt"

	"github.com/llmload/llmload/record"
)

// Reasoning describes the reasoning output of a run's successful
// non-warm-up requests (docs/metrics.md, "Reasoning and tool calls").
type Reasoning struct {
	// Requests counts the successes whose stream carried reasoning
	// (ttft_reasoning_s present); NoAnswerRequests those of them that
	// ended before any answer token.
	Requests         int `json:"requests"`
	NoAnswerRequests int `json:"no_answer_requests"`
	// HiddenRequests counts streamed successes whose server reported
	// reasoning tokens that the stream did not carry.
	HiddenRequests int `json:"hidden_requests,omitempty"`
	// TTFTReasoning and TTFTAnswer are the times to the first reasoning
	// and the first answer token, seconds, over Requests (TTFTAnswer over
	// those with an answer).
	TTFTReasoning Dist `json:"ttft_reasoning_s"`
	TTFTAnswer    Dist `json:"ttft_answer_s"`
	// ReasoningTokens describes reasoning_tokens over Requests, and
	// TokenShare is their sum over the sum of those requests' output
	// tokens (reasoning is part of the output).
	ReasoningTokens Dist    `json:"reasoning_tokens"`
	TokenShare      float64 `json:"token_share"`
}

// ToolCalls describes the tool calls of a run's successful non-warm-up
// requests.
type ToolCalls struct {
	// Requests counts successes that made at least one tool call; Calls
	// sums their calls.
	Requests int `json:"requests"`
	Calls    int `json:"calls"`
	// TTFTToolCall is the time to the first tool-call chunk, seconds,
	// over Requests.
	TTFTToolCall Dist `json:"ttft_tool_call_s"`
}

// outcome reports whether r is a successful non-warm-up request outcome.
func outcome(r *record.Record) bool { return !r.Warmup && !r.Retried && r.OK() }

// reasoningOf summarizes the reasoning of recs; nil when no success
// reasoned (visibly or not).
func reasoningOf(recs []record.Record) *Reasoning {
	var (
		s                  Reasoning
		first, answer, tok []float64
		sumR, sumOut       float64
		seen               bool
	)
	for i := range recs {
		r := &recs[i]
		if !outcome(r) {
			continue
		}
		if r.Stream && r.ReasoningTokens > 0 && r.TTFTReasoningS == 0 {
			s.HiddenRequests++
			seen = true
		}
		if r.TTFTReasoningS == 0 {
			continue
		}
		seen = true
		s.Requests++
		first = append(first, r.TTFTReasoningS)
		if r.TTFTAnswerS > 0 {
			answer = append(answer, r.TTFTAnswerS)
		} else {
			s.NoAnswerRequests++
		}
		tok = append(tok, float64(r.ReasoningTokens))
		sumR += float64(r.ReasoningTokens)
		sumOut += float64(r.OutputTokens)
	}
	if !seen {
		return nil
	}
	s.TTFTReasoning, s.TTFTAnswer, s.ReasoningTokens = Describe(first), Describe(answer), Describe(tok)
	s.TokenShare = min(div(sumR, sumOut), 1)
	return &s
}

// toolCallsOf summarizes the tool calls of recs; nil when none.
func toolCallsOf(recs []record.Record) *ToolCalls {
	var (
		s     ToolCalls
		first []float64
	)
	for i := range recs {
		r := &recs[i]
		if !outcome(r) || r.ToolCalls == 0 && r.TTFTToolCallS == 0 {
			continue
		}
		s.Requests++
		s.Calls += r.ToolCalls
		if r.TTFTToolCallS > 0 {
			first = append(first, r.TTFTToolCallS)
		}
	}
	if s.Requests == 0 {
		return nil
	}
	s.TTFTToolCall = Describe(first)
	return &s
}

// reasoningWarnings are the conditions under which reasoning makes the
// latency numbers misleading.
func reasoningWarnings(s *Reasoning) []string {
	if s == nil {
		return nil
	}
	var ws []string
	if s.NoAnswerRequests > 0 {
		ws = append(ws, fmt.Sprintf("%d of %d reasoning requests ended before any answer token (max_tokens reached while reasoning?): their TTFT is the first reasoning token, and they are missing from reasoning.ttft_answer_s",
			s.NoAnswerRequests, s.Requests))
	}
	if s.HiddenRequests > 0 {
		ws = append(ws, fmt.Sprintf("%d streamed requests reported reasoning tokens their stream did not carry (hidden reasoning): their TTFT includes generating those tokens, and TPOT, output speed and ITL divide time by tokens that were never streamed, so they read faster than the visible stream was",
			s.HiddenRequests))
	}
	return ws
}
