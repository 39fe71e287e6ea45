package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// bedrockPath is a Bedrock path for an inference-profile ARN, escaped as
// the SDK escapes it.
const bedrockPath = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-3-70b-instruct-v1%3A0/"

// bedrockFrame is one decoded event-stream message.
type bedrockFrame struct {
	msgType, name, contentType string
	payload                    map[string]any
}

func readBedrockFrames(t *testing.T, r io.Reader) []bedrockFrame {
	t.Helper()
	dec := eventstream.NewDecoder()
	var out []bedrockFrame
	for {
		m, err := dec.Decode(r, nil)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decoding frame %d: %v", len(out), err)
		}
		f := bedrockFrame{msgType: m.Headers.Get(":message-type").String(), contentType: m.Headers.Get(":content-type").String()}
		if v := m.Headers.Get(":event-type"); v != nil {
			f.name = v.String()
		} else if v := m.Headers.Get(":exception-type"); v != nil {
			f.name = v.String()
		}
		if err := json.Unmarshal(m.Payload, &f.payload); err != nil {
			t.Fatalf("frame %s payload %q: %v", f.name, m.Payload, err)
		}
		out = append(out, f)
	}
}

func bedrockJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBedrockConverseStreamWire(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+bedrockPath+"converse-stream",
		`{"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":5,"temperature":0.2}}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	frames := readBedrockFrames(t, resp.Body)
	var names []string
	for _, f := range frames {
		if f.msgType != "event" || f.contentType != "application/json" {
			t.Errorf("frame %+v: want an application/json event", f)
		}
		names = append(names, f.name)
	}
	want := "messageStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("events = %s\nwant %s", got, want)
	}
	if got := bedrockJSON(frames[0].payload); got != `{"role":"assistant"}` {
		t.Errorf("messageStart = %s", got)
	}
	if d := frames[1].payload; d["contentBlockIndex"] != 0.0 || d["delta"].(map[string]any)["text"] == "" {
		t.Errorf("contentBlockDelta = %s", bedrockJSON(d))
	}
	if got := bedrockJSON(frames[7].payload); got != `{"stopReason":"max_tokens"}` {
		t.Errorf("messageStop = %s", got)
	}
	tr, ok := s.Trace(id)
	if !ok {
		t.Fatalf("no trace for request id %q", id)
	}
	// Prompt: (3 + 4) + (2 + 4) content and template tokens + 3 for the reply.
	meta := frames[8].payload
	wantUsage := `{"inputTokens":16,"outputTokens":5,"totalTokens":21}`
	if got := bedrockJSON(meta["usage"]); got != wantUsage || tr.PromptTokens != 16 || tr.OutputTokens != 5 {
		t.Errorf("usage = %s (trace %d/%d), want %s", got, tr.PromptTokens, tr.OutputTokens, wantUsage)
	}
	lat, _ := meta["metrics"].(map[string]any)["latencyMs"].(float64)
	if real := time.Since(tr.Arrived); lat < 0 || time.Duration(lat)*time.Millisecond > real {
		t.Errorf("latencyMs = %v, more than the %v since arrival", lat, real)
	}
}

func TestBedrockInvokeStreamWire(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+bedrockPath+"invoke-with-response-stream", `{"prompt":"Once upon a time","max_gen_len":3}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amzn-Bedrock-Content-Type") != "application/json" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	frames := readBedrockFrames(t, resp.Body)
	if len(frames) != 4 {
		t.Fatalf("%d frames, want 3 tokens + the final chunk", len(frames))
	}
	var chunks []map[string]any
	for _, f := range frames {
		if f.name != "chunk" {
			t.Fatalf("frame %q, want chunk", f.name)
		}
		// {"bytes": base64(JSON)}: decode through encoding/json's []byte.
		var c struct{ Bytes []byte }
		json.Unmarshal([]byte(bedrockJSON(f.payload)), &c)
		var m map[string]any
		if err := json.Unmarshal(c.Bytes, &m); err != nil {
			t.Fatalf("chunk bytes %q: %v", c.Bytes, err)
		}
		chunks = append(chunks, m)
	}
	if chunks[0]["prompt_token_count"] != 4.0 || chunks[1]["prompt_token_count"] != nil || chunks[0]["stop_reason"] != nil ||
		chunks[2]["generation_token_count"] != 3.0 || chunks[2]["generation"] == "" {
		t.Errorf("chunks = %v", chunks)
	}
	last := chunks[3]
	m, _ := last["amazon-bedrock-invocationMetrics"].(map[string]any)
	if last["stop_reason"] != "length" || m["inputTokenCount"] != 4.0 || m["outputTokenCount"] != 3.0 ||
		m["invocationLatency"] == nil || m["firstByteLatency"] == nil {
		t.Errorf("final chunk = %v", last)
	}
}

func TestBedrockWholeResponses(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+"/model/meta.llama3-3-70b-instruct-v1:0/converse",
		`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":4}}`)
	var conv struct {
		Output struct {
			Message struct {
				Role    string
				Content []struct{ Text string }
			}
		}
		StopReason string
		Usage      struct{ InputTokens, OutputTokens, TotalTokens int }
		Metrics    struct{ LatencyMs *int64 }
	}
	json.NewDecoder(resp.Body).Decode(&conv)
	resp.Body.Close()
	if resp.StatusCode != 200 || conv.Output.Message.Role != "assistant" || len(strings.Fields(conv.Output.Message.Content[0].Text)) != 4 ||
		conv.StopReason != "max_tokens" || conv.Usage.OutputTokens != 4 || conv.Usage.TotalTokens != conv.Usage.InputTokens+4 || conv.Metrics.LatencyMs == nil {
		t.Errorf("converse = %d %+v", resp.StatusCode, conv)
	}

	resp = post(t, t.Context(), url+"/model/meta.llama3-3-70b-instruct-v1:0/invoke", `{"prompt":"Hi","max_gen_len":6}`)
	var inv map[string]any
	json.NewDecoder(resp.Body).Decode(&inv)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || inv["generation_token_count"] != 6.0 || inv["stop_reason"] != "length" ||
		h.Get("X-Amzn-Bedrock-Output-Token-Count") != "6" || h.Get("X-Amzn-Bedrock-Input-Token-Count") != "1" ||
		h.Get("X-Amzn-Bedrock-Invocation-Latency") == "" {
		t.Errorf("invoke = %d %v %v", resp.StatusCode, inv, h)
	}
}

func TestBedrockErrors(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	tests := []struct {
		name, path, body string
		status           int
		typ              string
	}{
		// Unknown operation.
		{"unknown op", "/model/m/chat", `{}`, 404, "UnknownOperationException"},
		// No model id.
		{"no model", "/model/converse", `{}`, 404, "UnknownOperationException"},
		// Not JSON.
		{"bad json", "/model/m/converse", `{`, 400, "ValidationException"},
		// No messages.
		{"no messages", "/model/m/converse", `{"messages":[]}`, 400, "ValidationException"},
		// A role Converse does not know.
		{"bad role", "/model/m/converse", `{"messages":[{"role":"system","content":[{"text":"x"}]}]}`, 400, "ValidationException"},
		// maxTokens beyond the context.
		{"too long", "/model/m/converse-stream", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":5000}}`, 400, "ValidationException"},
		// maxTokens below 1.
		{"zero", "/model/m/converse", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":0}}`, 400, "ValidationException"},
		// A native body without a prompt.
		{"no prompt", "/model/m/invoke", `{"inputText":"x"}`, 400, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, t.Context(), url+tt.path, tt.body)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Message string }
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.typ ||
				json.Unmarshal(b, &e) != nil || e.Message == "" {
				t.Errorf("= %d %s %s, want %d %s {\"message\":…}", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tt.status, tt.typ)
			}
		})
	}
}

func TestBedrockThrottlingAndOverload(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01, RPM: 1})
	body := `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":2}}`
	for i, want := range []int{200, 429} {
		resp := post(t, t.Context(), url+"/model/m/converse", body)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && (resp.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" || resp.Header.Get("Retry-After") == "" ||
			!bytes.Equal(bytes.TrimSpace(b), []byte(`{"message":"Too many requests, please wait before trying again."}`))) {
			t.Errorf("throttled = %v %s", resp.Header, b)
		}
	}

	s, url := newTestServer(t, Options{TimeScale: 0.05, MaxConcurrentRequests: 1})
	slow := post(t, t.Context(), url+"/model/m/converse-stream",
		`{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":3000}}`)
	defer slow.Body.Close()
	waitFor(t, "one request in flight", func() bool { st := s.Stats(); return st.Running+st.Queued == 1 })
	resp := post(t, t.Context(), url+"/model/m/converse-stream", body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("X-Amzn-ErrorType") != "ServiceUnavailableException" {
		t.Errorf("overloaded = %d %v", resp.StatusCode, resp.Header)
	}
}

func TestBedrockInvocationTimeout(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.05, InvocationTimeout: 200 * time.Millisecond})
	for _, tt := range []struct{ op, body, exception string }{
		{"converse-stream", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":3000}}`, "modelStreamErrorException"},
		{"invoke-with-response-stream", `{"prompt":"x","max_gen_len":3000}`, "modelTimeoutException"},
	} {
		resp := post(t, t.Context(), url+"/model/m/"+tt.op, tt.body)
		frames := readBedrockFrames(t, resp.Body)
		resp.Body.Close()
		last := frames[len(frames)-1]
		if resp.StatusCode != 200 || len(frames) < 3 || last.msgType != "exception" || last.name != tt.exception {
			t.Errorf("%s: %d, %d frames, last %+v; want an %s exception after some tokens", tt.op, resp.StatusCode, len(frames), last, tt.exception)
		}
		if tt.exception == "modelStreamErrorException" && last.payload["originalStatusCode"] != 408.0 {
			t.Errorf("%s: exception = %v, want originalStatusCode 408", tt.op, last.payload)
		}
	}
	// Not streaming: nothing is sent before the timeout, so it is a 408.
	resp := post(t, t.Context(), url+"/model/m/converse", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":3000}}`)
	resp.Body.Close()
	if resp.StatusCode != 408 || resp.Header.Get("X-Amzn-ErrorType") != "ModelTimeoutException" {
		t.Errorf("converse timeout = %d %v", resp.StatusCode, resp.Header)
	}
}
