package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

// promptLog serves the simulator (with a prefix cache) on loopback and
// keeps the user message of every request.
type promptLog struct {
	mu      sync.Mutex
	prompts []string
	url     string
}

func newPromptLog(t *testing.T) *promptLog {
	t.Helper()
	s, err := sim.New(sim.Options{TimeScale: 0.01, ModelName: "m", PrefixCacheBlocks: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	l := &promptLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Messages []struct{ Role, Content string }
		}
		if json.Unmarshal(body, &req) == nil {
			for _, m := range req.Messages {
				if m.Role == "user" {
					l.mu.Lock()
					l.prompts = append(l.prompts, m.Content)
					l.mu.Unlock()
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); s.Close() })
	l.url = srv.URL + "/v1"
	return l
}

// testConfig is the default configuration against l, made short: fewer
// requests and output tokens (prompt options stay the defaults).
func (l *promptLog) testConfig(t *testing.T) *config.Config {
	cfg := config.Defaults()
	cfg.Provider, cfg.BaseURL, cfg.Model = config.ProviderOpenAI, l.url, "m"
	cfg.MaxRequests, cfg.Concurrency, cfg.MeanOutputTokens = 40, config.IntList{4}, 8
	cfg.ResultsDir = t.TempDir()
	return &cfg
}

// TestRunsShareNoPromptPrefix: two runs with the default options send
// prompts of which no two — within a run or across the runs — share their
// first 16 tokens or their first 64 characters, so a prefix-caching server
// serves nothing from cache; the records and summary say so (cached
// tokens recorded, share near 0, no warning).
func TestRunsShareNoPromptPrefix(t *testing.T) {
	l := newPromptLog(t)
	var sums []*stats.Summary
	for range 2 {
		out, err := Run(t.Context(), l.testConfig(t), Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, out.Summary)
		for _, r := range out.Records {
			if r.OK() && r.CachedInputTokens == nil {
				t.Fatalf("record %d has no cached_input_tokens, though the server reported them", r.ID)
			}
		}
	}
	if len(l.prompts) != 80 {
		t.Fatalf("the server saw %d prompts, want 80", len(l.prompts))
	}
	tok, err := workload.NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, p := range l.prompts {
		ids := tok.Encode(p)
		for _, key := range []string{"chars:" + p[:min(64, len(p))], fmt.Sprint("tokens:", ids[:min(16, len(ids))])} {
			if j, ok := seen[key]; ok {
				t.Fatalf("prompts %d and %d (of 2 runs × 40) share a prefix: %q", j, i, key)
			}
			seen[key] = i
		}
	}
	for k, s := range sums {
		if s.PromptCache == nil || s.PromptCache.Requests != 40 || s.PromptCache.Share > 0.05 || len(s.Warnings) > 0 {
			t.Errorf("run %d: prompt cache %+v, warnings %q; want 40 requests reporting, share ~0, no warning", k+1, s.PromptCache, s.Warnings)
		}
	}
}

// TestPromptSeedReproducesAndWarns: with the prompt seed of an earlier run
// (what its config.yaml records), a run sends exactly the same prompts;
// the server then serves most prompt tokens from its cache, and the
// summary reports the share and warns.
func TestPromptSeedReproducesAndWarns(t *testing.T) {
	l := newPromptLog(t)
	first, err := Run(t.Context(), l.testConfig(t), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Config.PromptSeed == 0 {
		t.Fatal("the run did not record its prompt seed")
	}
	again := l.testConfig(t)
	again.PromptSeed = first.Config.PromptSeed
	second, err := Run(t.Context(), again, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	byPrompt := map[string]int{}
	for _, p := range l.prompts {
		byPrompt[p]++
	}
	if len(byPrompt) != 40 {
		t.Errorf("two runs with one prompt seed sent %d distinct prompts, want the same 40 twice", len(byPrompt))
	}
	c := second.Summary.PromptCache
	if c == nil || c.Share < 0.9 {
		t.Fatalf("second run's prompt cache %+v, want most input tokens cached", c)
	}
	if len(second.Summary.Warnings) != 1 || !strings.Contains(second.Summary.Warnings[0], "prompt cache") {
		t.Errorf("warnings %q, want one about the prompt cache", second.Summary.Warnings)
	}
	t.Logf("second run with the same prompt seed: %.1f%% of input tokens cached", 100*c.Share)
}

// TestSharedPrefixesAreCached: with --prefix-tokens N --prefix-groups K,
// the simulator's prefix cache serves the shared prefixes, so the cached
// share of prompt tokens is close to N/(N+rest) once each group was seen,
// and the summary says caching was requested instead of warning.
func TestSharedPrefixesAreCached(t *testing.T) {
	l := newPromptLog(t)
	cfg := l.testConfig(t)
	cfg.Concurrency = config.IntList{1} // each group's first request misses, then all hit
	cfg.MeanInputTokens, cfg.StddevInputTokens = 128, 0
	cfg.PrefixTokens, cfg.PrefixGroups = 512, 2
	out, err := Run(t.Context(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Summary.PromptCache
	if c == nil {
		t.Fatal("no prompt_cache in the summary")
	}
	// 2 of 40 requests miss; the rest have 512 of 640 tokens cached, less
	// the partial 64-byte block at the prefix's end.
	want := 38.0 / 40 * 512 / 640
	if c.Share < want-0.08 || c.Share > want+0.02 {
		t.Errorf("cached share %.3f, want about %.3f", c.Share, want)
	}
	if c.Requested == "" {
		t.Error("prompt_cache.requested is empty with --prefix-tokens")
	}
	for _, w := range out.Summary.Warnings {
		if strings.Contains(w, "prompt cache") {
			t.Errorf("warning about the prompt cache though caching was requested: %s", w)
		}
	}
	// Each request's record reports its cached tokens.
	hits := 0
	for _, r := range out.Records {
		if r.CachedInputTokens != nil && *r.CachedInputTokens >= 400 {
			hits++
		}
	}
	if hits < 36 {
		t.Errorf("%d of 40 records with ≥ 400 cached tokens, want ≥ 36", hits)
	}
}

// TestPromptSetPrefixes: a prompt set's own shared prefix is cached for
// its requests only, and the summary says caching was requested.
func TestPromptSetPrefixes(t *testing.T) {
	l := newPromptLog(t)
	cfg := l.testConfig(t)
	cfg.Concurrency = config.IntList{1}
	cfg.PromptSets = []config.PromptSet{
		{Name: "rag", Weight: 1, MeanInputTokens: 64, PrefixTokens: 512},
		{Name: "chat", Weight: 1, MeanInputTokens: 64},
	}
	if err := Resolve(cfg, func(string) string { return "" }, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	out, err := Run(t.Context(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int{}
	for _, r := range out.Records {
		if r.CachedInputTokens != nil && *r.CachedInputTokens >= 400 {
			hits[r.PromptSet]++
		}
	}
	if hits["rag"] < 5 || hits["chat"] != 0 {
		t.Errorf("requests with ≥ 400 cached tokens by set: %v; want rag's, not chat's", hits)
	}
	if c := out.Summary.PromptCache; c == nil || c.Requested == "" || out.Summary.Run.PrefixTokens != 512 {
		t.Errorf("prompt_cache %+v, run.prefix_tokens %d", c, out.Summary.Run.PrefixTokens)
	}
}
