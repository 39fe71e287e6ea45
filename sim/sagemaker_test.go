package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// smFrame is one decoded event-stream message.
type smFrame struct {
	messageType, eventType, exceptionType string
	payload                               []byte
}

// readFrames decodes a whole SageMaker event stream.
func readFrames(t *testing.T, r io.Reader) []smFrame {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	dec := eventstream.NewDecoder()
	br := bytes.NewReader(b)
	var frames []smFrame
	for br.Len() > 0 {
		m, err := dec.Decode(br, nil)
		if err != nil {
			t.Fatalf("frame %d: %v", len(frames), err)
		}
		get := func(name string) string {
			if v := m.Headers.Get(name); v != nil {
				return v.String()
			}
			return ""
		}
		frames = append(frames, smFrame{get(":message-type"), get(":event-type"), get(":exception-type"), m.Payload})
	}
	return frames
}

// payloadLines joins the PayloadParts and splits them into lines, and
// counts the parts that end inside a line.
func payloadLines(t *testing.T, frames []smFrame) (lines []string, split int) {
	t.Helper()
	var all bytes.Buffer
	for _, f := range frames {
		if f.messageType != "event" || f.eventType != "PayloadPart" {
			t.Fatalf("unexpected frame %+v", f)
		}
		if !bytes.HasSuffix(f.payload, []byte("\n")) {
			split++
		}
		all.Write(f.payload)
	}
	for _, l := range strings.Split(all.String(), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, split
}

func TestSageMakerStreamTGI(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+"/endpoints/my-endpoint/invocations-response-stream",
		`{"inputs":"Hello there","parameters":{"max_new_tokens":20,"details":true},"stream":true}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	id := resp.Header.Get("X-Amzn-RequestId")
	lines, split := payloadLines(t, readFrames(t, resp.Body))
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20: %q", len(lines), lines)
	}
	if split != 20/sageMakerSplitEvery {
		t.Errorf("%d parts ended inside a line, want %d", split, 20/sageMakerSplitEvery)
	}
	var text strings.Builder
	for i, l := range lines {
		if !strings.HasPrefix(l, "data:{") {
			t.Fatalf("line %d = %q, want data:{…}", i, l)
		}
		var v tgiStreamLine
		if err := json.Unmarshal([]byte(l[len("data:"):]), &v); err != nil {
			t.Fatal(err)
		}
		text.WriteString(v.Token.Text)
		if last := i == len(lines)-1; last != (v.Details != nil) || last != (v.GeneratedText != nil) {
			t.Fatalf("line %d: details %v, generated_text %v", i, v.Details, v.GeneratedText)
		}
		if v.Details != nil {
			if *v.GeneratedText != text.String() || v.Details.GeneratedTokens != 20 || v.Details.FinishReason != "length" || v.Details.PromptTokens < 1 {
				t.Errorf("final line %+v %+v (text %q)", v.Details, *v.GeneratedText, text.String())
			}
		}
	}
	waitFor(t, "trace", func() bool { _, ok := s.Trace(id); return ok })
	if tr, _ := s.Trace(id); tr.OutputTokens != 20 || tr.Error != "" {
		t.Errorf("trace %+v", tr)
	}
}

func TestSageMakerStreamChat(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+"/endpoints/ep/invocations-response-stream",
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":9,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`)
	defer resp.Body.Close()
	lines, _ := payloadLines(t, readFrames(t, resp.Body))
	// role chunk + 9 tokens + usage + [DONE]
	if len(lines) != 12 || lines[11] != "data: [DONE]" || !strings.Contains(lines[10], `"completion_tokens":9`) {
		t.Fatalf("lines = %q", lines)
	}
}

func TestSageMakerNonStreaming(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	resp := post(t, t.Context(), url+"/endpoints/ep/invocations", `{"inputs":"Hello","parameters":{"max_new_tokens":5,"details":true}}`)
	defer resp.Body.Close()
	var out []struct {
		GeneratedText string     `json:"generated_text"`
		Details       tgiDetails `json:"details"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if len(out) != 1 || out[0].GeneratedText == "" || out[0].Details.GeneratedTokens != 5 {
		t.Errorf("response %+v", out)
	}
}

// awsError reads an AWS error response.
func awsError(t *testing.T, resp *http.Response) (typ string, body map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("X-Amzn-ErrorType"), body
}

func TestSageMakerErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		path     string
		body     string
		status   int
		typ      string
		origCode float64 // ModelError's OriginalStatusCode
		contains string
	}{
		// SageMaker validates the endpoint name itself.
		{"bad name", Options{}, "/endpoints/bad_name/invocations", `{"inputs":"x"}`, 400,
			"ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/", 0, "endpointName"},
		// A body TGI rejects is the container's 422, wrapped in a ModelError.
		{"no inputs", Options{}, "/endpoints/ep/invocations", `{"foo":1}`, 424, "ModelError", 422, "missing field `inputs`"},
		// Too many tokens for the context: TGI's validation error.
		{"too long", Options{}, "/endpoints/ep/invocations", `{"inputs":"x","parameters":{"max_new_tokens":99999}}`, 424, "ModelError", 422, "Input validation error"},
		// Before the first token the invocation timeout is a ModelError with original status 0.
		{"timeout", Options{TimeScale: 1, InvocationTimeout: time.Millisecond}, "/endpoints/ep/invocations-response-stream",
			`{"inputs":"x","parameters":{"max_new_tokens":50}}`, 424, "ModelError", 0, "Your invocation timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := newTestServer(t, tt.opts)
			resp := post(t, t.Context(), url+tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			typ, body := awsError(t, resp)
			if typ != tt.typ {
				t.Errorf("X-Amzn-ErrorType %q, want %q", typ, tt.typ)
			}
			msg, _ := body["message"].(string)
			if tt.typ == "ModelError" {
				msg, _ = body["Message"].(string)
				if body["OriginalStatusCode"] != tt.origCode || body["LogStreamArn"] == nil {
					t.Errorf("body %v", body)
				}
			}
			if !strings.Contains(msg, tt.contains) {
				t.Errorf("message %q does not contain %q", msg, tt.contains)
			}
		})
	}
}

func TestSageMakerThrottle(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01, RPM: 1})
	long := post(t, t.Context(), url+"/endpoints/ep/invocations-response-stream", `{"inputs":"x","parameters":{"max_new_tokens":2000}}`)
	defer long.Body.Close()
	if long.StatusCode != 200 {
		t.Fatalf("status %d", long.StatusCode)
	}
	// The RPM quota is spent: ThrottlingException, HTTP 400 as SageMaker sends it.
	resp := post(t, t.Context(), url+"/endpoints/ep/invocations", `{"inputs":"x"}`)
	if typ, _ := awsError(t, resp); resp.StatusCode != 400 || typ != "ThrottlingException" {
		t.Errorf("throttled: %d %s", resp.StatusCode, typ)
	}
}

func TestSageMakerOverload(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01, MaxConcurrentRequests: 1})
	long := post(t, t.Context(), url+"/endpoints/ep/invocations-response-stream", `{"inputs":"x","parameters":{"max_new_tokens":2000}}`)
	defer long.Body.Close()
	resp := post(t, t.Context(), url+"/endpoints/ep/invocations", `{"inputs":"x"}`)
	typ, body := awsError(t, resp)
	if resp.StatusCode != 424 || typ != "ModelError" || body["OriginalStatusCode"] != 429.0 ||
		!strings.Contains(body["OriginalMessage"].(string), "overloaded") {
		t.Errorf("overloaded: %d %s %v", resp.StatusCode, typ, body)
	}
}

func TestSageMakerMidStreamTimeout(t *testing.T) {
	// No InvocationTimeout: SageMaker's 60 s, scaled by the time scale
	// (60 ms), ends a 3000-token output (~90 simulated seconds) mid-stream.
	_, url := newTestServer(t, Options{TimeScale: 0.001})
	resp := post(t, t.Context(), url+"/endpoints/ep/invocations-response-stream", `{"inputs":"x","parameters":{"max_new_tokens":3000}}`)
	defer resp.Body.Close()
	frames := readFrames(t, resp.Body)
	last := frames[len(frames)-1]
	if last.messageType != "exception" || last.exceptionType != "ModelStreamError" ||
		!bytes.Contains(last.payload, []byte(`"ErrorCode":"ModelInvocationTimeExceeded"`)) {
		t.Fatalf("last frame %+v (%s)", last, last.payload)
	}
	if lines, _ := payloadLines(t, frames[:len(frames)-1]); len(lines) == 0 || len(lines) >= 3000 {
		t.Errorf("%d lines before the timeout", len(lines))
	}
}
