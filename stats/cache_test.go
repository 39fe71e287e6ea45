package stats

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// TestPromptCacheAndLengths: the summary sums the cached prompt tokens of
// requests that reported them (successful, non-warm-up, final attempts),
// warns when more than half came from cache, describes the max_tokens
// asked for and warns when more than 5% of lengths were clipped.
func TestPromptCacheAndLengths(t *testing.T) {
	intp := func(v int) *int { return &v }
	ok := func(id int64, in int, cached *int, maxTok int, clipped bool) record.Record {
		return record.Record{ID: id, SentS: float64(id), E2ES: 1, InputTokens: in, OutputTokens: 10, TokenSource: record.SourceServer,
			CachedInputTokens: cached, RequestedOutputTokens: maxTok, RequestedOutputTokensClipped: clipped}
	}
	recs := []record.Record{
		{ID: 0, Warmup: true, InputTokens: 1000, CachedInputTokens: intp(1000), RequestedOutputTokens: 1},
		ok(1, 100, intp(90), 10, false),
		ok(2, 100, intp(60), 20, false),
		ok(3, 100, nil, 30, true), // no cache report
		{ID: 4, SentS: 4, E2ES: 1, InputTokens: 100, CachedInputTokens: intp(100), RequestedOutputTokens: 40, ErrorKind: llm.KindServer},
	}
	s := Summarize(recs, RunInfo{})
	c := s.PromptCache
	if c == nil || c.Requests != 2 || c.CachedInputTokens != 150 || c.InputTokens != 200 || c.Share != 0.75 {
		t.Fatalf("prompt cache %+v, want 150 of 200 tokens over 2 requests", c)
	}
	l := s.RequestedLengths
	if l == nil || l.Requests != 4 || l.OutputClipped != 1 || l.OutputTokens.Count != 4 || l.OutputTokens.Mean != 25 ||
		l.OutputTokens.Min != 10 || l.OutputTokens.Max != 40 {
		t.Fatalf("requested lengths %+v", l)
	}
	if len(s.Warnings) != 2 || !strings.HasPrefix(s.Warnings[0], "75% of prompt tokens (150 of 200, over 2 requests)") ||
		!strings.HasPrefix(s.Warnings[1], "max_tokens of 1 of 4 requests") {
		t.Errorf("warnings %q", s.Warnings)
	}

	// Half cached and 1 clipped in 20: no warning.
	recs = recs[:0]
	for i := range int64(20) {
		recs = append(recs, ok(i, 100, intp(50), 64, i == 0))
	}
	if s := Summarize(recs, RunInfo{}); len(s.Warnings) != 0 || s.PromptCache.Share != 0.5 {
		t.Errorf("warnings %q, cache %+v; want none at a share of 0.5 and 5%% clipped", s.Warnings, s.PromptCache)
	}
	// No report: no prompt_cache section.
	if s := Summarize([]record.Record{ok(1, 100, nil, 5, false)}, RunInfo{}); s.PromptCache != nil {
		t.Errorf("prompt cache %+v without any report", s.PromptCache)
	}
}
