package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestTGIWire checks the raw wire: "data:" events with no space, one per
// token, the last holding generated_text and details; validation errors
// and overload inside a 200 stream; /generate's headers; /info.
func TestTGIWire(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.02, MaxConcurrentRequests: 4})
	ctx := context.Background()
	resp := post(t, ctx, url+"/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":5,"details":true,"ignore_eos":true}}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	events := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if resp.StatusCode != 200 || len(events) != 5 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Queue-Time") == "" {
		t.Fatalf("status %d, headers %v, %d events:\n%s", resp.StatusCode, resp.Header, len(events), b)
	}
	var last struct {
		Index         int
		Token         struct{ Text string }
		GeneratedText *string `json:"generated_text"`
		Details       *struct {
			FinishReason    string `json:"finish_reason"`
			GeneratedTokens int    `json:"generated_tokens"`
			InputLength     int    `json:"input_length"`
		}
	}
	data, ok := strings.CutPrefix(events[4], "data:{")
	if !ok || json.Unmarshal([]byte("{"+data), &last) != nil || last.Index != 5 || last.GeneratedText == nil ||
		len(strings.Fields(*last.GeneratedText)) != 5 || last.Details == nil || last.Details.FinishReason != "length" ||
		last.Details.GeneratedTokens != 5 || last.Details.InputLength != 1 {
		t.Fatalf("last event %q -> %+v", events[4], last)
	}

	// Validation errors on the stream are events in a 200 response, as in TGI.
	resp = post(t, ctx, url+"/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":0}}`)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `data:{"error":"Input validation error: `+"`max_new_tokens`"+` must be strictly positive","error_type":"validation"}`) {
		t.Errorf("stream validation: %d %s", resp.StatusCode, b)
	}
	// On /generate they are HTTP 422; bad JSON is 422 on both.
	for _, c := range []struct{ path, body string }{{"/generate", `{"inputs":""}`}, {"/generate_stream", `{"inputs":`}} {
		resp = post(t, ctx, url+c.path, c.body)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 422 || !strings.Contains(string(b), `"error_type":"validation"`) {
			t.Errorf("%s %s: %d %s", c.path, c.body, resp.StatusCode, b)
		}
	}

	resp = post(t, ctx, url+"/generate", `{"inputs":"hi","parameters":{"max_new_tokens":3,"ignore_eos":true}}`)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, h := range []string{"X-Total-Time", "X-Validation-Time", "X-Queue-Time", "X-Inference-Time", "X-Time-Per-Token", "X-Compute-Time", "X-Prompt-Tokens", "X-Generated-Tokens"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("/generate: no %s header", h)
		}
	}
	var gen map[string]any
	json.Unmarshal(b, &gen)
	if text, _ := gen["generated_text"].(string); resp.StatusCode != 200 || len(gen) != 1 || len(strings.Fields(text)) != 3 {
		t.Errorf("/generate without details: %d %s", resp.StatusCode, b)
	}

	r, err := http.Get(url + "/info")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(r.Body).Decode(&info)
	r.Body.Close()
	if info["model_id"] != model || info["max_concurrent_requests"] != 4.0 || info["max_total_tokens"] != 4096.0 {
		t.Errorf("/info = %v", info)
	}
}

// TestOllamaWire checks the raw NDJSON, the default stream, /api/tags and errors.
func TestOllamaWire(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.02})
	ctx := context.Background()
	// "stream" is absent: Ollama streams by default.
	resp := post(t, ctx, url+"/api/generate", `{"model":"`+model+`","prompt":"hi","options":{"num_predict":4,"ignore_eos":true}}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 5 {
		t.Fatalf("%d %v:\n%s", resp.StatusCode, resp.Header, b)
	}
	var done map[string]any
	json.Unmarshal([]byte(lines[4]), &done)
	if done["done"] != true || done["done_reason"] != "length" || done["eval_count"] != 4.0 || done["prompt_eval_count"] != 1.0 ||
		done["eval_duration"] == nil || done["prompt_eval_duration"] == nil || done["total_duration"] == nil || done["response"] != "" {
		t.Errorf("done line %s", lines[4])
	}
	resp = post(t, ctx, url+"/api/chat", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(b) != `{"error":"model \"nope\" not found, try pulling it first"}`+"\n" {
		t.Errorf("unknown model: %d %s", resp.StatusCode, b)
	}
	r, err := http.Get(url + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct{ Models []struct{ Name string } }
	json.NewDecoder(r.Body).Decode(&tags)
	r.Body.Close()
	if len(tags.Models) != 1 || tags.Models[0].Name != model {
		t.Errorf("/api/tags = %+v", tags)
	}
}
