package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/workload"
)

// newTestServer starts a simulator behind a real HTTP server on 127.0.0.1.
func newTestServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close() // ends in-flight handlers first, so ts.Close does not wait
		ts.Close()
	})
	return s, ts.URL
}

func post(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readSSE returns the payload of every "data: " event of a stream.
func readSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var events []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		events = append(events, data)
	}
	return events
}

type wireChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string                         `json:"text"`
		Message      *struct{ Role, Content string } `json:"message"`
		FinishReason *string                         `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
	} `json:"error"`
}

func decodeChunk(t *testing.T, s string) wireChunk {
	t.Helper()
	var c wireChunk
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatalf("chunk %q: %v", s, err)
	}
	return c
}

const model = "meta-llama/Llama-2-7b-chat-hf"

func tokenizer(t *testing.T) *workload.Tokenizer {
	t.Helper()
	tk, err := workload.NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestWordsAreOneToken(t *testing.T) {
	tk := tokenizer(t)
	var all strings.Builder
	for _, w := range words {
		if n := tk.Count(w); n != 1 {
			t.Errorf("%q is %d tokens", w, n)
		}
		all.WriteString(w)
	}
	if n := tk.Count(all.String()); n != len(words) {
		t.Errorf("all words together: %d tokens, want %d", n, len(words))
	}
}

func TestStreamingChat(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 0.01})
	body := `{"model":"` + model + `","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello to the world."}],
		"max_tokens":40,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`
	resp := post(t, context.Background(), url+"/v1/chat/completions", body)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readSSE(t, resp.Body)
	// role chunk + 40 token chunks + usage chunk + [DONE]
	if len(events) != 43 {
		t.Fatalf("%d events, want 43: %q", len(events), events)
	}
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("last event %q", events[len(events)-1])
	}
	first := decodeChunk(t, events[0])
	if !strings.HasPrefix(first.ID, "chatcmpl-") || first.Object != "chat.completion.chunk" || first.Model != model || first.Created == 0 {
		t.Errorf("first chunk %+v", first)
	}
	if d := first.Choices[0].Delta; d == nil || d.Role == nil || *d.Role != "assistant" || d.Content == nil || *d.Content != "" {
		t.Errorf("first chunk is not the role chunk: %s", events[0])
	}
	var text strings.Builder
	for i, e := range events[1:41] {
		c := decodeChunk(t, e)
		if c.ID != first.ID || len(c.Choices) != 1 || c.Choices[0].Delta == nil || c.Choices[0].Delta.Content == nil {
			t.Fatalf("token chunk %d: %s", i, e)
		}
		text.WriteString(*c.Choices[0].Delta.Content)
		fr := c.Choices[0].FinishReason
		if last := i == 39; last != (fr != nil) || (last && *fr != "length") {
			t.Errorf("chunk %d finish_reason %v", i, fr)
		}
	}
	u := decodeChunk(t, events[41])
	if u.Choices == nil || len(u.Choices) != 0 || u.Usage == nil {
		t.Fatalf("usage chunk %s", events[41])
	}
	tk := tokenizer(t)
	wantPrompt := tk.Count("You are terse.") + tk.Count("Say hello to the world.") + 2*chatTokensPerMessage + chatTokensReply
	if u.Usage.PromptTokens != wantPrompt || u.Usage.CompletionTokens != 40 || u.Usage.TotalTokens != wantPrompt+40 {
		t.Errorf("usage %+v, want prompt %d completion 40", *u.Usage, wantPrompt)
	}
	if n := tk.Count(text.String()); n != 40 {
		t.Errorf("output %q is %d tokens, want 40", text.String(), n)
	}
	tr, ok := s.Trace(first.ID)
	if !ok || tr.OutputTokens != 40 || len(tr.TokenTimes) != 40 || tr.PromptTokens != wantPrompt || tr.Error != "" ||
		!tr.FirstToken.Equal(tr.TokenTimes[0]) || tr.FirstToken.Before(tr.Arrived) {
		t.Errorf("trace %+v", tr)
	}
	if st := s.Stats(); st.Completed != 1 || st.Running != 0 || st.KVUsedTokens != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestStreamingCompletions(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01})
	// Without /v1, prompt as an array of strings, no usage requested.
	body := `{"model":"` + model + `","prompt":["Once upon"," a time"],"max_tokens":12,"min_tokens":12,"stream":true}`
	resp := post(t, context.Background(), url+"/completions", body)
	defer resp.Body.Close()
	events := readSSE(t, resp.Body)
	if len(events) != 13 || events[12] != "[DONE]" {
		t.Fatalf("events %q", events)
	}
	var text strings.Builder
	for i, e := range events[:12] {
		c := decodeChunk(t, e)
		if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || c.Choices[0].Text == nil || c.Choices[0].Delta != nil || c.Usage != nil {
			t.Fatalf("chunk %d: %s", i, e)
		}
		text.WriteString(*c.Choices[0].Text)
	}
	if fr := decodeChunk(t, events[11]).Choices[0].FinishReason; fr == nil || *fr != "length" {
		t.Errorf("last finish_reason %v", fr)
	}
	if n := tokenizer(t).Count(text.String()); n != 12 {
		t.Errorf("%d tokens, want 12", n)
	}
}

func TestNonStreaming(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.01, Seed: 7})
	for _, c := range []struct {
		path, body string
		chat       bool
	}{
		{"/v1/chat/completions", `{"model":"` + model + `","messages":[{"role":"user","content":[{"type":"text","text":"Hi there"}]}],"max_tokens":15,"ignore_eos":true}`, true},
		{"/v1/completions", `{"model":"` + model + `","prompt":"Hi there","max_tokens":15,"ignore_eos":true}`, false},
	} {
		resp := post(t, context.Background(), url+c.path, c.body)
		var r wireChunk
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tk := tokenizer(t)
		wantPrompt := tk.Count("Hi there")
		var text string
		if c.chat {
			wantPrompt += chatTokensPerMessage + chatTokensReply
			if r.Object != "chat.completion" || r.Choices[0].Message == nil || r.Choices[0].Message.Role != "assistant" {
				t.Fatalf("chat response %+v", r)
			}
			text = r.Choices[0].Message.Content
		} else {
			if r.Object != "text_completion" || r.Choices[0].Text == nil {
				t.Fatalf("completion response %+v", r)
			}
			text = *r.Choices[0].Text
		}
		if tk.Count(text) != 15 || r.Usage == nil || r.Usage.CompletionTokens != 15 || r.Usage.PromptTokens != wantPrompt ||
			r.Choices[0].FinishReason == nil || *r.Choices[0].FinishReason != "length" {
			t.Errorf("%s: text %q, usage %+v", c.path, text, r.Usage)
		}
	}
}

// chatOnce sends a non-streaming chat request and returns its text and finish reason.
func chatOnce(t *testing.T, url, extra string) (string, int, string) {
	t.Helper()
	resp := post(t, context.Background(), url+"/v1/chat/completions",
		`{"model":"`+model+`","messages":[{"role":"user","content":"Tell me a story."}]`+extra+`}`)
	defer resp.Body.Close()
	var r wireChunk
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("decode: %v %+v", err, r)
	}
	return r.Choices[0].Message.Content, r.Usage.CompletionTokens, *r.Choices[0].FinishReason
}

func TestNaturalStop(t *testing.T) {
	_, url := newTestServer(t, Options{TimeScale: 0.002, Seed: 1})
	text, n, fr := chatOnce(t, url, `,"max_tokens":1000`)
	if fr != "stop" || n < naturalMin || n > naturalMax || tokenizer(t).Count(text) != n {
		t.Errorf("natural: %d tokens, finish %q", n, fr)
	}
	// Deterministic: the same request gives the same answer.
	if text2, _, _ := chatOnce(t, url, `,"max_tokens":1000`); text2 != text {
		t.Error("same request, different output")
	}
	// A different request seed draws another length.
	_, n3, _ := chatOnce(t, url, `,"max_tokens":1000,"seed":99`)
	_, n4, _ := chatOnce(t, url, `,"max_tokens":1000,"seed":100`)
	if n == n3 && n3 == n4 {
		t.Errorf("three seeds, one length %d", n)
	}
	// max_tokens below the natural length truncates: "length".
	if _, n, fr := chatOnce(t, url, `,"max_tokens":10`); n != 10 || fr != "length" {
		t.Errorf("max_tokens 10: %d tokens, finish %q", n, fr)
	}
	// No max_tokens: the natural length.
	if _, n, fr := chatOnce(t, url, ``); fr != "stop" || n < naturalMin || n > naturalMax {
		t.Errorf("no max_tokens: %d tokens, finish %q", n, fr)
	}
}

func TestModels(t *testing.T) {
	_, url := newTestServer(t, Options{ModelName: "sim-model"})
	for _, path := range []string{"/v1/models", "/models"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Object string
			Data   []struct{ ID, Object string }
		}
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != 200 || r.Object != "list" || len(r.Data) != 1 || r.Data[0].ID != "sim-model" {
			t.Errorf("%s: %d %+v", path, resp.StatusCode, r)
		}
	}
}

func TestBadRequests(t *testing.T) {
	_, url := newTestServer(t, Options{})
	chat := url + "/v1/chat/completions"
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, url, method, body string
		status                  int
		contains                string
	}{
		{"bad JSON", chat, "POST", `{"model":`, 400, "invalid JSON"},
		{"missing model", chat, "POST", `{` + msgs + `}`, 400, "'model' is required"},
		{"unknown model", chat, "POST", `{"model":"gpt-x",` + msgs + `}`, 404, "does not exist"},
		{"no messages", chat, "POST", `{"model":"` + model + `"}`, 400, "'messages'"},
		{"no prompt", url + "/v1/completions", "POST", `{"model":"` + model + `"}`, 400, "'prompt'"},
		{"max_tokens 0", chat, "POST", `{"model":"` + model + `",` + msgs + `,"max_tokens":0}`, 400, "at least 1"},
		{"beyond context", chat, "POST", `{"model":"` + model + `",` + msgs + `,"max_tokens":5000}`, 400, "maximum context length is 4096"},
		{"n > 1", chat, "POST", `{"model":"` + model + `",` + msgs + `,"n":2}`, 400, "n=1"},
		{"unknown path", url + "/v1/rerank", "POST", `{}`, 404, "unknown path"},
		{"embeddings without input", url + "/v1/embeddings", "POST", `{"model":"` + model + `"}`, 400, "'input' is required"},
		{"embeddings of nothing", url + "/v1/embeddings", "POST", `{"model":"` + model + `","input":[]}`, 400, "must not be empty"},
		{"embeddings of an empty text", url + "/v1/embeddings", "POST", `{"model":"` + model + `","input":["a",""]}`, 400, "input 1 is empty"},
		{"embeddings of an object", url + "/v1/embeddings", "POST", `{"model":"` + model + `","input":{}}`, 400, "'input' must be"},
		{"embeddings, bad dimensions", url + "/v1/embeddings", "POST", `{"model":"` + model + `","input":"a","dimensions":0}`, 400, "dimensions"},
		{"GET embeddings", url + "/v1/embeddings", "GET", ``, 405, "use POST"},
		{"GET chat", chat, "GET", ``, 405, "use POST"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e wireChunk
		if resp.StatusCode != c.status || json.Unmarshal(b, &e) != nil || e.Error == nil || !strings.Contains(e.Error.Message, c.contains) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, resp.StatusCode, b, c.status, c.contains)
		}
	}
}

// A prompt + max_tokens within the context but beyond the KV cache can
// never be admitted: 400 at once.
func TestKVNeverFits(t *testing.T) {
	p := mustProfile(t, DefaultProfile)
	p.Model.MaxContext = 100000
	_, url := newTestServer(t, Options{Profile: p})
	resp := post(t, context.Background(), url+"/v1/completions", `{"model":"`+model+`","prompt":"hi","max_tokens":50000}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(b, []byte("KV cache")) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// longStream starts a slow streaming request and returns its response
// once the headers (first token) arrived.
func longStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	resp := post(t, ctx, url+"/v1/completions", `{"model":"`+model+`","prompt":"go","max_tokens":2000,"ignore_eos":true,"stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp
}

func TestOverload(t *testing.T) {
	s, url := newTestServer(t, Options{MaxConcurrentRequests: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		resp := longStream(t, ctx, url)
		defer resp.Body.Close()
	}
	resp := post(t, context.Background(), url+"/v1/completions", `{"model":"`+model+`","prompt":"go","max_tokens":5}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || strings.TrimSpace(string(b)) != `{"error":{"message":"Model is overloaded","type":"overloaded"}}` {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Running != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestInvocationTimeout(t *testing.T) {
	s, url := newTestServer(t, Options{InvocationTimeout: 200 * time.Millisecond})
	// Streaming: some tokens, then an error event, no [DONE].
	resp := longStream(t, context.Background(), url)
	events := readSSE(t, resp.Body)
	resp.Body.Close()
	if len(events) < 3 {
		t.Fatalf("events %q", events)
	}
	last := decodeChunk(t, events[len(events)-1])
	if last.Error == nil || last.Error.Type != "timeout" || last.Error.Code != 408 || last.Error.Message != "invocation timed out" {
		t.Errorf("last event %s", events[len(events)-1])
	}
	id := decodeChunk(t, events[0]).ID
	if tr, ok := s.Trace(id); !ok || tr.Error != reasonTimeout || tr.OutputTokens < len(events)-1 {
		t.Errorf("trace %+v (%d events)", tr, len(events))
	}
	// Non-streaming: nothing sent yet, so HTTP 408.
	resp = post(t, context.Background(), url+"/v1/completions", `{"model":"`+model+`","prompt":"go","max_tokens":2000,"ignore_eos":true}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 408 || !bytes.Contains(b, []byte(`"type":"timeout"`)) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if st := s.Stats(); st.Running != 0 || st.Queued != 0 || st.KVUsedTokens != 0 {
		t.Errorf("KV not freed: %+v", st)
	}
}

func TestClientDisconnectFreesKV(t *testing.T) {
	s, url := newTestServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	resp := longStream(t, ctx, url)
	id := decodeChunk(t, readLine(t, resp.Body)).ID
	if st := s.Stats(); st.Running != 1 || st.KVUsedTokens != 1+2000 {
		t.Errorf("stats while running %+v", st)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, "KV freed", func() bool { st := s.Stats(); return st.Running == 0 && st.KVUsedTokens == 0 })
	waitFor(t, "trace", func() bool { _, ok := s.Trace(id); return ok })
	if tr, _ := s.Trace(id); tr.Error != reasonDisconnect {
		t.Errorf("trace error %q", tr.Error)
	}
}

func readLine(t *testing.T, r io.Reader) string {
	t.Helper()
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(line), "data: ")
}

func TestCloseEndsInFlight(t *testing.T) {
	s, url := newTestServer(t, Options{})
	resp := longStream(t, context.Background(), url)
	defer resp.Body.Close()
	queued := make(chan *http.Response, 1)
	go func() { // a non-streaming request that has sent nothing yet
		resp := post(t, context.Background(), url+"/v1/completions", `{"model":"`+model+`","prompt":"go","max_tokens":500,"ignore_eos":true}`)
		queued <- resp
	}()
	waitFor(t, "second request", func() bool { st := s.Stats(); return st.Running+st.Queued == 2 })
	s.Close()
	s.Close() // idempotent
	events := readSSE(t, resp.Body)
	if last := decodeChunk(t, events[len(events)-1]); last.Error == nil || last.Error.Code != 503 {
		t.Errorf("stream after Close ended with %s", events[len(events)-1])
	}
	r2 := <-queued
	r2.Body.Close()
	if r2.StatusCode != 503 {
		t.Errorf("pending request after Close: %d", r2.StatusCode)
	}
	r3 := post(t, context.Background(), url+"/v1/completions", `{"model":"`+model+`","prompt":"go","max_tokens":5}`)
	r3.Body.Close()
	if r3.StatusCode != 503 {
		t.Errorf("request after Close: %d", r3.StatusCode)
	}
	if st := s.Stats(); st.Running != 0 || st.Queued != 0 || st.KVUsedTokens != 0 {
		t.Errorf("stats after Close %+v", st)
	}
	for _, tr := range s.Traces() {
		if tr.Error != reasonClosed {
			t.Errorf("trace %s error %q", tr.ID, tr.Error)
		}
	}
}

// retry runs a real-time measurement up to three times and passes on the
// first attempt that meets its target: the machine running the tests may
// be busy (other test binaries, -race), which can only make the engine
// late, never early.
func retry(t *testing.T, measure func() (ok bool, msg string)) {
	t.Helper()
	var msgs []string
	for attempt := 1; attempt <= 3; attempt++ {
		ok, msg := measure()
		t.Logf("attempt %d: %s", attempt, msg)
		if ok {
			return
		}
		msgs = append(msgs, msg)
	}
	t.Errorf("no attempt met the target:\n%s", strings.Join(msgs, "\n"))
}

// The engine at TimeScale 0.1 reproduces the calibrated 33 ms per token
// (1×A10G, 256 + 256 tokens, concurrency 1), measured from the ground-truth
// token times and unscaled; the token times follow the scaled
// DecodeStepTime of each step.
func TestEngineTimingMatchesTheory(t *testing.T) {
	const scale = 0.1
	s, url := newTestServer(t, Options{TimeScale: scale})
	p := s.Profile()
	body := fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":256,"ignore_eos":true,"stream":true}`, model, strings.Repeat(" the", 256))
	retry(t, func() (bool, string) {
		resp := post(t, context.Background(), url+"/v1/completions", body)
		events := readSSE(t, resp.Body)
		resp.Body.Close()
		tr, ok := s.Trace(decodeChunk(t, events[0]).ID)
		if !ok || tr.PromptTokens != 256 || len(tr.TokenTimes) != 256 {
			t.Fatalf("trace %+v", tr)
		}
		// Never early: token i comes no sooner than arrival plus the scaled
		// prefill and decode steps before it (deadlines are absolute;
		// lateness is caught up, the schedule never run ahead of).
		scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
		sched := scaled(p.PrefillTime(256, 1))
		var sum time.Duration
		for i := range tr.TokenTimes {
			if i > 0 {
				step := scaled(p.DecodeStepTime(1, 256+i))
				sched += step
				sum += step
			}
			if got := tr.TokenTimes[i].Sub(tr.Arrived); got < sched {
				t.Fatalf("token %d at +%v, before its schedule +%v", i, got, sched)
			}
		}
		n := len(tr.TokenTimes)
		perToken := ms(tr.TokenTimes[n-1].Sub(tr.TokenTimes[0])) / float64(n-1) / scale
		theory := ms(sum) / float64(n-1) / scale
		// TTFT ≈ scaled prefill of 256 tokens, plus tokenizing and handler
		// time, which are real and not scaled.
		ttft := ms(tr.FirstToken.Sub(tr.Arrived))
		prefill := ms(p.PrefillTime(256, 1)) * scale
		ok = within(perToken, theory, 0.05) && within(perToken, 33, 0.15) && ttft >= 0.95*prefill && ttft < prefill+30
		return ok, fmt.Sprintf("engine %.2f ms/token (theory %.2f, calibration 33 ±15%%); TTFT %.2f ms real, scaled prefill %.2f",
			perToken, theory, ttft, prefill)
	})
}

// Eight concurrent requests against the real engine decode at the batch
// speed the virtual clock predicts, measured from the ground-truth traces
// over the window in which all eight run (so client and handler CPU time,
// which is real and unscaled, does not enter).
func TestEngineBatchMatchesVirtual(t *testing.T) {
	const scale, conc = 0.05, 8
	s, url := newTestServer(t, Options{TimeScale: scale})
	want, err := s.Profile().SimulateClosedLoop(conc, 256, 256, conc)
	if err != nil {
		t.Fatal(err)
	}
	wantTPS := conc / want.MeanTPOT.Seconds()
	body := fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":256,"ignore_eos":true,"stream":true}`, model, strings.Repeat(" the", 256))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	retry(t, func() (bool, string) {
		ids := make([]string, conc)
		var wg sync.WaitGroup
		for i := range conc {
			wg.Go(func() {
				resp, err := client.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				events := readSSE(t, resp.Body)
				ids[i] = decodeChunk(t, events[0]).ID
			})
		}
		wg.Wait()
		var from, to time.Time // all eight running
		var traces []Trace
		for _, id := range ids {
			tr, ok := s.Trace(id)
			if !ok || tr.OutputTokens != 256 {
				t.Fatalf("trace %q: %+v", id, tr)
			}
			traces = append(traces, tr)
			if from.IsZero() || tr.FirstToken.After(from) {
				from = tr.FirstToken
			}
			if last := tr.TokenTimes[255]; to.IsZero() || last.Before(to) {
				to = last
			}
		}
		tokens := 0
		for _, tr := range traces {
			for _, at := range tr.TokenTimes {
				if at.After(from) && !at.After(to) {
					tokens++
				}
			}
		}
		window := to.Sub(from).Seconds() / scale
		if window < 3 { // simulated seconds: a good part of the 255 decode steps
			return false, fmt.Sprintf("arrivals too spread: all %d ran together for only %.1f s", conc, window)
		}
		got := float64(tokens) / window
		return within(got, wantTPS, 0.10), fmt.Sprintf("engine %.1f tokens/s with %d running, virtual clock %.1f (±10%%)", got, conc, wantTPS)
	})
	if st := s.Stats(); st.KVUsedTokens != 0 || st.Running != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTraceRing(t *testing.T) {
	r := newTraceRing(3)
	for i := range 5 {
		r.add(Trace{ID: fmt.Sprint(i)})
	}
	var ids []string
	for _, tr := range r.all() {
		ids = append(ids, tr.ID)
	}
	if strings.Join(ids, ",") != "2,3,4" {
		t.Errorf("ring holds %v", ids)
	}
	if _, ok := r.get("1"); ok {
		t.Error("evicted trace still indexed")
	}
	if tr, ok := r.get("3"); !ok || tr.ID != "3" {
		t.Error("trace 3 missing")
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := New(Options{TimeScale: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	client := &http.Client{Transport: &http.Transport{}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
		strings.NewReader(`{"model":"`+model+`","prompt":"go","max_tokens":3000,"ignore_eos":true,"stream":true}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readLine(t, resp.Body)
	cancel()
	resp.Body.Close()
	resp, err = client.Post(ts.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"`+model+`","prompt":"go","max_tokens":5}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.Close()
	ts.Close()
	client.CloseIdleConnections()
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}
