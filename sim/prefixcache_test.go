package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPrefixCache: with PrefixCacheBlocks, a repeated prompt is reported
// as cached — usage.prompt_tokens_details.cached_tokens and llama.cpp's
// timings.cache_n, streamed or not — up to all but one token; a prompt
// that differs from its first bytes gets nothing from the cache; without
// the option nothing is reported.
func TestPrefixCache(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.001, ModelName: "m", PrefixCacheBlocks: 1024})
	long := strings.Repeat("Shall I compare thee to a summer's day? ", 40)
	ask := func(url, text string, stream bool) (prompt, cached, cacheN int, reported bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 4, "stream": stream,
			"stream_options": map[string]bool{"include_usage": true},
			"messages":       []map[string]string{{"role": "user", "content": text}}})
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		docs := []string{buf.String()}
		if stream {
			docs = nil
			for line := range strings.Lines(buf.String()) {
				if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && d != "[DONE]" {
					docs = append(docs, d)
				}
			}
		}
		for _, d := range docs {
			var v struct {
				Usage *struct {
					PromptTokens int `json:"prompt_tokens"`
					Details      *struct {
						CachedTokens int `json:"cached_tokens"`
					} `json:"prompt_tokens_details"`
				} `json:"usage"`
				Timings *struct {
					CacheN int `json:"cache_n"`
				} `json:"timings"`
			}
			if err := json.Unmarshal([]byte(d), &v); err != nil {
				t.Fatalf("%v: %s", err, d)
			}
			if v.Usage != nil {
				prompt = v.Usage.PromptTokens
				if v.Usage.Details != nil {
					cached, reported = v.Usage.Details.CachedTokens, true
				}
			}
			if v.Timings != nil {
				cacheN = v.Timings.CacheN
			}
		}
		return
	}
	for _, stream := range []bool{false, true} {
		text := map[bool]string{false: "whole ", true: "stream "}[stream] + long
		if p, c, n, rep := ask(url, text, stream); !rep || c != 0 || n != 0 || p < 400 {
			t.Fatalf("stream %t, first request: prompt %d, cached %d, cache_n %d, reported %t; want nothing cached, reported", stream, p, c, n, rep)
		}
		p, c, n, _ := ask(url, text, stream)
		if c < p*9/10 || c > p-1 || n != c {
			t.Errorf("stream %t, repeated prompt: %d of %d tokens cached, cache_n %d; want nearly all, and equal", stream, c, p, n)
		}
		if _, c, _, _ := ask(url, "X"+text, stream); c != 0 {
			t.Errorf("stream %t, a prompt differing in its first byte: %d tokens cached, want 0", stream, c)
		}
	}
	_, plain := newTestServer(t, Options{TimeScale: 0.001, ModelName: "m"})
	ask(plain, long, false)
	if _, c, n, rep := ask(plain, long, false); rep || c != 0 || n != 0 {
		t.Errorf("without a prefix cache: cached %d, cache_n %d, reported %t", c, n, rep)
	}
}

// TestPrefixCacheSkipsPrefill: cached tokens are not prefilled; the
// prefill step of a sequence lasts PrefillTime(prompt − cached).
func TestPrefixCacheSkipsPrefill(t *testing.T) {
	p, err := LookupProfile(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(p)
	b.submit(&seq{prompt: 2000, cached: 1900, target: 1, reserve: 2001})
	st, ok := b.plan(time.Now())
	if !ok || st.kind != stepPrefill || st.dur != p.PrefillTime(100, 1) || st.dur >= p.PrefillTime(2000, 1) {
		t.Errorf("prefill step %v (ok %t), want PrefillTime(100) = %v, not %v", st.dur, ok, p.PrefillTime(100, 1), p.PrefillTime(2000, 1))
	}
}

// TestPrefixCacheBounded: the LRU keeps at most its capacity of blocks.
func TestPrefixCacheBounded(t *testing.T) {
	c := newPrefixCache(10)
	for i := range 100 {
		c.lookup([]string{"user", strings.Repeat(string(rune('a'+i%26)), 64*3) + string(rune(i))}, 50)
	}
	if c.order.Len() != 10 || len(c.index) != 10 {
		t.Errorf("cache holds %d blocks (%d indexed), want 10", c.order.Len(), len(c.index))
	}
}
