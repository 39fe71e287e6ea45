package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

// While an attempt waits on a server's Retry-After, the progress line says
// so: a long wait is visible, not a silent stall.
func TestProgressShowsRetryAfterWaits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	prov, err := openai.New(openai.Options{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := workload.NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := workload.NewSource(workload.Options{MeanInputTokens: 10, MeanOutputTokens: 5, Seed: 1, Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	live := &stats.Live{}
	r := &load.Runner{Provider: prov, Source: src, Tokenizer: tok,
		Template: load.Template{Model: "m", API: llm.APIChat, Stream: true},
		Plan:     load.Plan{Concurrency: 1, MaxRequests: 1, Timeout: 5 * time.Second, Retries: 1, MaxRetryAfter: 600 * time.Millisecond},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(context.Background())
	}()
	var buf bytes.Buffer
	p := &progress{w: &buf, runner: r, live: live}
	time.Sleep(300 * time.Millisecond)
	p.draw(false)
	<-done
	if !strings.Contains(buf.String(), "1 waiting on Retry-After") {
		t.Errorf("progress line during a Retry-After wait: %q", buf.String())
	}
}
