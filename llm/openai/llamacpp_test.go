package openai

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/llmload/llmload/llm"
)

// llama.cpp server's final streamed chunk: finish_reason plus "timings".
const llamaFinalChunk = `data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1,"id":"c1","model":"m","object":"chat.completion.chunk",` +
	`"usage":{"completion_tokens":2,"prompt_tokens":7,"total_tokens":9},` +
	`"timings":{"prompt_n":7,"prompt_ms":35.5,"prompt_per_token_ms":5.07,"prompt_per_second":197.2,"predicted_n":2,"predicted_ms":812.25,"predicted_per_token_ms":406.1,"predicted_per_second":2.46}}` + "\n\n"

func TestLlamaCppTimings(t *testing.T) {
	want := map[string]float64{"prompt_eval_s": 0.0355, "eval_s": 0.81225}
	t.Run("stream", func(t *testing.T) {
		srv := sseServer(t, roleChunk, chatChunk("a"), chatChunk("b"), llamaFinalChunk, doneChunk)
		s, err := newTestProvider(t, srv.URL).Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		evs, err := collect(s)
		if err != io.EOF || len(evs) != 3 {
			t.Fatalf("events %+v, %v", evs, err)
		}
		last := evs[2]
		if !reflect.DeepEqual(last.ServerTiming, want) || last.FinishReason != "stop" || last.Usage == nil || last.Usage.CompletionTokens != 2 {
			t.Errorf("final event = %+v, want timings %v", last, want)
		}
		for _, ev := range evs[:2] {
			if ev.ServerTiming != nil {
				t.Errorf("content event %+v has server timing", ev)
			}
		}
	})
	// A timings-only chunk (timings_per_token) is an event of its own.
	t.Run("timings only", func(t *testing.T) {
		srv := sseServer(t, chatChunk("a"), `data: {"id":"c1","choices":[],"timings":{"prompt_ms":1,"predicted_ms":2}}`+"\n\n", stopChunk, doneChunk)
		s, err := newTestProvider(t, srv.URL).Start(t.Context(), &llm.Request{Model: "m", Prompt: "p", Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		evs, err := collect(s)
		if err != io.EOF || len(evs) != 3 || !reflect.DeepEqual(evs[1].ServerTiming, map[string]float64{"prompt_eval_s": 0.001, "eval_s": 0.002}) {
			t.Fatalf("events %+v, %v", evs, err)
		}
	})
	t.Run("whole", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"x","choices":[{"message":{"content":"ab"},"finish_reason":"stop"}],"timings":{"prompt_ms":35.5,"predicted_ms":812.25}}`)
		}))
		defer srv.Close()
		s, err := newTestProvider(t, srv.URL).Start(t.Context(), &llm.Request{Model: "m", Prompt: "p"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		evs, err := collect(s)
		if err != io.EOF || len(evs) != 1 || !reflect.DeepEqual(evs[0].ServerTiming, want) {
			t.Fatalf("events %+v, %v", evs, err)
		}
	})
}
