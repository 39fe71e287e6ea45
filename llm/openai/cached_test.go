package openai

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmload/llmload/llm"
)

// TestCachedPromptTokens: the cached prompt tokens a server reports reach
// llm.Usage — OpenAI/vLLM's usage.prompt_tokens_details.cached_tokens, and
// llama.cpp's timings.cache_n, also when it comes in a chunk before the
// usage — streamed and not; a usage without either has HasCached false.
func TestCachedPromptTokens(t *testing.T) {
	usageOnly := `data: {"id":"c1","choices":[],"usage":{"prompt_tokens":560,"completion_tokens":2,"total_tokens":562}}` + "\n\n"
	cases := []struct {
		name       string
		chunks     []string
		cached     int
		hasCached  bool
		wantPrompt int
	}{
		{"openai details", []string{chatChunk("a"), stopChunk,
			`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":560,"completion_tokens":2,"total_tokens":562,"prompt_tokens_details":{"cached_tokens":512}}}` + "\n\n", doneChunk},
			512, true, 560},
		{"llama.cpp timings with usage", []string{chatChunk("a"),
			`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":560,"completion_tokens":2},"timings":{"cache_n":559,"prompt_n":1}}` + "\n\n", doneChunk},
			559, true, 560},
		{"llama.cpp timings before usage", []string{chatChunk("a"),
			`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"timings":{"cache_n":300,"prompt_n":260}}` + "\n\n", usageOnly, doneChunk},
			300, true, 560},
		{"no cache report", []string{chatChunk("a"), stopChunk, usageOnly, doneChunk}, 0, false, 560},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := sseServer(t, c.chunks...)
			s, err := newTestProvider(t, srv.URL).Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := collect(s)
			if err != io.EOF {
				t.Fatal(err)
			}
			var u *llm.Usage
			for _, ev := range evs {
				if ev.Usage != nil {
					u = ev.Usage // the runner keeps the last one
				}
			}
			if u == nil || u.PromptTokens != c.wantPrompt || u.CachedPromptTokens != c.cached || u.HasCached != c.hasCached {
				t.Errorf("last usage %+v, want %d prompt tokens, %d cached (reported %t)", u, c.wantPrompt, c.cached, c.hasCached)
			}
		})
	}
	t.Run("whole", func(t *testing.T) {
		for body, want := range map[string]int{
			`{"id":"x","choices":[{"message":{"content":"ab"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":8}}}`: 8,
			`{"id":"x","choices":[{"message":{"content":"ab"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2},"timings":{"cache_n":7}}`:                     7,
		} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body)
			}))
			s, err := newTestProvider(t, srv.URL).Start(t.Context(), &llm.Request{Model: "m", Prompt: "p"})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(s)
			s.Close()
			srv.Close()
			if err != io.EOF || len(evs) != 1 || evs[0].Usage == nil || !evs[0].Usage.HasCached || evs[0].Usage.CachedPromptTokens != want {
				t.Errorf("%s: events %+v, %v; want %d cached", body, evs, err, want)
			}
		}
	})
}
