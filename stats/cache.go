package stats

import (
	"fmt"
	"strings"

	"github.com/llmload/llmload/record"
)

// PromptCache describes the prompt tokens a server reported serving from
// its prompt (prefix) cache (record.Record.CachedInputTokens), over
// successful non-warm-up requests.
type PromptCache struct {
	// Requests counts the requests whose server reported its cache.
	Requests int `json:"requests"`
	// CachedInputTokens is the sum of their cached prompt tokens, and
	// InputTokens the sum of their whole prompts, tokens.
	CachedInputTokens int `json:"cached_input_tokens"`
	InputTokens       int `json:"input_tokens"`
	// Share is CachedInputTokens / InputTokens (0 when InputTokens is 0).
	Share float64 `json:"share"`
	// Requested says why the workload meant prompts to be cached (shared
	// prefixes, multi-turn sessions); "" when it did not. A high share is
	// then what was measured, not a distortion, and no warning is given.
	Requested string `json:"requested,omitempty"`
}

// cachingRequested says why run's workload shares prompt prefixes on
// purpose, "" when it does not.
func cachingRequested(run RunInfo) string {
	var why []string
	if run.PrefixTokens > 0 {
		why = append(why, fmt.Sprintf("shared prefixes of %d tokens (--prefix-tokens)", run.PrefixTokens))
	}
	if run.Turns > 1 {
		why = append(why, "multi-turn sessions (--turns), whose turns repeat the conversation so far")
	}
	return strings.Join(why, " and ")
}

// CacheWarnShare is the share of prompt tokens served from cache above
// which a summary warns: prefill was mostly not measured.
const CacheWarnShare = 0.5

// promptCache aggregates the cache reports of recs; nil when no request
// carried one.
func promptCache(recs []record.Record) *PromptCache {
	var c PromptCache
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried || !r.OK() || r.CachedInputTokens == nil {
			continue
		}
		c.Requests++
		c.CachedInputTokens += *r.CachedInputTokens
		c.InputTokens += r.InputTokens
	}
	if c.Requests == 0 {
		return nil
	}
	c.Share = div(float64(c.CachedInputTokens), float64(c.InputTokens))
	return &c
}

// cacheWarning warns when most prompt tokens came from the server's cache.
func cacheWarning(c *PromptCache) string {
	if c == nil || !(c.Share > CacheWarnShare) || c.Requested != "" {
		return ""
	}
	return fmt.Sprintf("%.0f%% of prompt tokens (%d of %d, over %d requests) came from the server's prompt cache:"+
		" prefill was mostly skipped, so TTFT and input throughput flatter the endpoint"+
		" (repeated prompts? a shared system prompt? see --prompt-seed)",
		100*c.Share, c.CachedInputTokens, c.InputTokens, c.Requests)
}
