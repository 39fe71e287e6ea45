package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
)

// embeddingsServer answers /v1/embeddings with body, after checking the
// request's shape.
func embeddingsServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model  string   `json:"model"`
			Input  []string `json:"input"`
			Stream *bool    `json:"stream"`
		}
		if r.URL.Path != "/v1/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "e" || len(req.Input) != 2 || req.Stream != nil {
			t.Errorf("request %s %+v", r.URL.Path, req)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEmbeddings reads an OpenAI embeddings response into one event with
// the vector count and the usage, and refuses a response whose vectors do
// not match the inputs.
func TestEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		kind       llm.ErrorKind
	}{
		{"ok", `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]},{"object":"embedding","index":1,"embedding":[0.3,0.4]}],"model":"e","usage":{"prompt_tokens":9,"total_tokens":9}}`, ""},
		{"one vector short", `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"usage":{"prompt_tokens":9,"total_tokens":9}}`, llm.KindMalformedStream},
		{"empty vector", `{"object":"list","data":[{"index":0,"embedding":[]},{"index":1,"embedding":[1]}]}`, llm.KindMalformedStream},
		{"error object", `{"object":"error","message":"boom","code":500}`, llm.KindServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := embeddingsServer(t, tc.body)
			p := newTestProvider(t, srv.URL)
			s, err := p.Start(context.Background(), &llm.Request{Model: "e", API: llm.APIEmbeddings, Stream: true, Inputs: []string{"a", "b c"}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := collect(s)
			if tc.kind != "" {
				if kindOf(err) != tc.kind {
					t.Fatalf("error %v, want kind %s", err, tc.kind)
				}
				return
			}
			if err != io.EOF || len(evs) != 1 {
				t.Fatalf("%d events, %v", len(evs), err)
			}
			ev := evs[0]
			if ev.Embeddings != 2 || ev.HasOutput() || ev.Usage == nil || ev.Usage.PromptTokens != 9 {
				t.Errorf("event %+v usage %+v", ev, ev.Usage)
			}
		})
	}
	p := newTestProvider(t, "http://127.0.0.1:1")
	if _, err := p.Start(context.Background(), &llm.Request{Model: "e", API: llm.APIEmbeddings}); err == nil || !strings.Contains(err.Error(), "without inputs") {
		t.Errorf("no inputs: %v", err)
	}
}
