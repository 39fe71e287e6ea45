package bedrock

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// TestCacheReadTokens: Bedrock counts prompt-cache reads and writes
// outside inputTokens (Converse usage; InvokeModel's invocation metrics);
// llmload adds them to PromptTokens, so it is the whole prompt, and
// reports the reads as cached. Without cache fields nothing is reported.
func TestCacheReadTokens(t *testing.T) {
	u := tokenUsage(&types.TokenUsage{InputTokens: aws.Int32(20), OutputTokens: aws.Int32(5),
		CacheReadInputTokens: aws.Int32(500), CacheWriteInputTokens: aws.Int32(30)})
	if u.PromptTokens != 550 || u.CachedPromptTokens != 500 || !u.HasCached || u.CompletionTokens != 5 {
		t.Errorf("converse usage %+v, want 550 prompt tokens of which 500 cached", u)
	}
	if u := tokenUsage(&types.TokenUsage{InputTokens: aws.Int32(20), OutputTokens: aws.Int32(5)}); u.PromptTokens != 20 || u.HasCached {
		t.Errorf("converse usage without cache %+v", u)
	}
	ev, err := parseChunk([]byte(`{"generation":"x","stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":20,"outputTokenCount":5,"cacheReadInputTokenCount":500,"cacheWriteInputTokenCount":0,"invocationLatency":10,"firstByteLatency":5}}`))
	if err != nil || ev.Usage == nil || ev.Usage.PromptTokens != 520 || ev.Usage.CachedPromptTokens != 500 || !ev.Usage.HasCached {
		t.Errorf("invoke metrics usage %+v, %v; want 520 prompt tokens of which 500 cached", ev.Usage, err)
	}
}
