package sim

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamTimes sends a streamed chat request for n tokens and returns the
// response id and the arrival time of every content chunk, stamped as
// each line is read.
func streamTimes(t *testing.T, url string, n int) (string, []time.Time) {
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Hi"}],"max_tokens":%d,"ignore_eos":true,"stream":true}`, model, n)
	resp := post(t, context.Background(), url+"/v1/chat/completions", body)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
		return "", nil
	}
	var id string
	var times []time.Time
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		now := time.Now()
		if err != nil {
			break
		}
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		c := decodeChunk(t, data)
		id = c.ID
		if len(c.Choices) > 0 && c.Choices[0].Delta != nil && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
			times = append(times, now)
		}
	}
	return id, times
}

// slowEmitter takes d to write each token, like a handler starved of CPU.
type slowEmitter struct {
	d      time.Duration
	tokens int
}

func (e *slowEmitter) token(int) error { time.Sleep(e.d); e.tokens++; return nil }
func (e *slowEmitter) end()            {}
func (e *slowEmitter) fail(string)     {}

// TestLateTokensAreReported forces the simulator behind: at a time scale
// of 1e-5 the engine emits a response's 50 tokens within a millisecond or
// so, and the writer takes 2 ms per token, so token i is written at least
// i ms after it was emitted. The lateness must show in Stats and in the
// Trace instead of passing silently as a burst of tokens.
func TestLateTokensAreReported(t *testing.T) {
	s, err := New(Options{TimeScale: 1e-5, MaxConcurrentRequests: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const tokens = 50
	pl := plan{prompt: 10, target: tokens, reserve: 10 + tokens, finish: "length", hash: 1}
	now := time.Now()
	q, err := s.enqueue("slow-1", pl, now)
	if err != nil {
		t.Fatal(err)
	}
	em := &slowEmitter{d: 2 * time.Millisecond}
	s.deliver(httptest.NewRequest(http.MethodPost, "/", nil), q, pl, now, em)
	st := s.Stats()
	tr, ok := s.Trace("slow-1")
	if em.tokens != tokens || st.DeliveredTokens != tokens || !ok {
		t.Fatalf("wrote %d tokens; stats %+v; trace kept %v", em.tokens, st, ok)
	}
	// Every token but perhaps the first two is late by construction.
	if st.LateTokens < tokens-2 || st.LateRequests != 1 || st.MaxLate < (tokens-2)*time.Millisecond {
		t.Errorf("stats %+v: want ≥ %d late tokens in 1 request, max late ≥ %v", st, tokens-2, (tokens-2)*time.Millisecond)
	}
	if int64(tr.LateTokens) != st.LateTokens || tr.MaxLate != st.MaxLate {
		t.Errorf("trace: %d late, max %v; stats: %d, %v", tr.LateTokens, tr.MaxLate, st.LateTokens, st.MaxLate)
	}
}

// TestLatenessOverHTTP streams a few long responses at a time scale the
// writers cannot follow and checks the accounting: every token counted
// as delivered, and the traces' late tokens add up to the server's.
func TestLatenessOverHTTP(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 1e-5, MaxConcurrentRequests: -1})
	const streams, tokens = 4, 1500
	ids := make([]string, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() { ids[i], _ = streamTimes(t, url, tokens) })
	}
	wg.Wait()
	st := s.Stats()
	if st.DeliveredTokens != streams*tokens {
		t.Errorf("delivered %d tokens, want %d", st.DeliveredTokens, streams*tokens)
	}
	sum, responses := 0, int64(0)
	for _, id := range ids {
		tr, ok := s.Trace(id)
		if !ok {
			t.Fatalf("no trace for %q", id)
		}
		if tr.LateTokens > 0 {
			responses++
			if tr.MaxLate <= LateAfter(0) {
				t.Errorf("trace %s: %d late tokens but max late %v", id, tr.LateTokens, tr.MaxLate)
			}
		}
		sum += tr.LateTokens
	}
	if int64(sum) != st.LateTokens || responses != st.LateRequests {
		t.Errorf("traces hold %d late tokens in %d responses, stats %d in %d", sum, responses, st.LateTokens, st.LateRequests)
	}
	t.Logf("%d of %d tokens late in %d responses, at most %v", st.LateTokens, st.DeliveredTokens, st.LateRequests, st.MaxLate)
}

// TestNoSilentBunching runs many streams at a fast time scale, client and
// simulator in one process as in `llmload run`: every response either
// reached the client paced as the engine emitted it, or the cause of its
// bunching shows. A response the client saw as one burst (all tokens
// within 1 ms) although the engine spread them over tens of milliseconds
// was written late by the simulator — then its trace must say so — or
// read late by the client (its goroutine got no CPU in time: the client's
// own lag, which the simulator cannot see; the client reads its first
// token more than half the span after it was written).
func TestNoSilentBunching(t *testing.T) {
	if testing.Short() {
		t.Skip("many streams")
	}
	s, url := newTestServer(t, Options{TimeScale: 0.05, MaxConcurrentRequests: -1})
	const streams, tokens = 64, 32
	type got struct {
		id    string
		times []time.Time
	}
	res := make([]got, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() { res[i].id, res[i].times = streamTimes(t, url, tokens) })
	}
	wg.Wait()
	bunched, late, clientLag := 0, 0, 0
	for _, r := range res {
		tr, ok := s.Trace(r.id)
		if !ok || len(r.times) != tokens || len(tr.TokenTimes) != tokens {
			t.Fatalf("response %q: %d chunks, trace %v with %d tokens", r.id, len(r.times), ok, len(tr.TokenTimes))
		}
		trueSpan := tr.TokenTimes[tokens-1].Sub(tr.TokenTimes[0])
		seenSpan := r.times[tokens-1].Sub(r.times[0])
		if trueSpan <= 10*time.Millisecond || seenSpan >= time.Millisecond {
			continue
		}
		bunched++
		switch {
		case tr.LateTokens > 0:
			late++
		case r.times[0].Sub(tr.TokenTimes[0]) > trueSpan/2:
			clientLag++
		default:
			t.Errorf("response %s: the engine spread its tokens over %v, the client got them within %v, its first %v after it was emitted, and the trace reports nothing late",
				r.id, trueSpan, seenSpan, r.times[0].Sub(tr.TokenTimes[0]))
		}
	}
	st := s.Stats()
	t.Logf("%d of %d responses bunched at the client: %d written late (reported), %d read late by the client; %d of %d tokens written late, at most %v",
		bunched, streams, late, clientLag, st.LateTokens, st.DeliveredTokens, st.MaxLate)
}

// TestPlainTokenMatchesJSON: the fast path of a content chunk writes
// exactly the bytes encoding/json writes for it, for chat and
// completions, and declines text JSON would escape.
func TestPlainTokenMatchesJSON(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, chat := range []bool{true, false} {
		for _, text := range []string{" the", " important", "x", ""} {
			fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
			mk := func(w *httptest.ResponseRecorder) *responder {
				return &responder{s: s, w: w, rc: http.NewResponseController(w), chat: chat, id: "chatcmpl-7", created: 1700000000}
			}
			if ok, err := mk(fast).plainToken(text); !ok || err != nil {
				t.Fatalf("plainToken(%q) = %v, %v", text, ok, err)
			}
			c := chunkChoice{}
			if chat {
				c.Delta = &delta{Content: text}
			} else {
				c.Text = &text
			}
			sr := mk(slow)
			if err := sr.event(sr.chunkOf(c)); err != nil {
				t.Fatal(err)
			}
			if fast.Body.String() != slow.Body.String() {
				t.Errorf("chat %v, %q:\nfast %s\njson %s", chat, text, fast.Body, slow.Body)
			}
		}
		for _, text := range []string{`a"b`, "a\\b", "<", "é", "\n"} {
			if ok, _ := (&responder{s: s, chat: chat}).plainToken(text); ok {
				t.Errorf("plainToken took %q", text)
			}
		}
	}
}

// TestNoTraces: a server told to keep no traces keeps none, and still
// counts what it delivered.
func TestNoTraces(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 0.01, TraceCapacity: -1})
	id, times := streamTimes(t, url, 8)
	if _, ok := s.Trace(id); ok || len(s.Traces()) != 0 {
		t.Errorf("trace kept for %q", id)
	}
	if st := s.Stats(); len(times) != 8 || st.DeliveredTokens != 8 || st.Completed != 1 {
		t.Errorf("%d chunks; stats %+v", len(times), st)
	}
}

// timeoutEmitter records how a response ended; its first token write
// takes firstDelay, like a handler starved of CPU.
type timeoutEmitter struct {
	firstDelay time.Duration
	tokens     int
	failed     string
	ended      bool
}

func (e *timeoutEmitter) token(int) error {
	if e.tokens == 0 {
		time.Sleep(e.firstDelay)
	}
	e.tokens++
	return nil
}
func (e *timeoutEmitter) end()          { e.ended = true }
func (e *timeoutEmitter) fail(r string) { e.failed = r }

// A response the engine finishes after the invocation timeout fails with
// the timeout even when its handler, starved, reads the tokens only after
// the engine has produced all of them: the timer and the finished
// sequence are both ready then, and the emit times decide, not the order
// in which the handler happens to see them.
func TestTimeoutJudgedByEmitTimes(t *testing.T) {
	for i := range 5 {
		s, err := New(Options{TimeScale: 0.001, MaxConcurrentRequests: -1})
		if err != nil {
			t.Fatal(err)
		}
		// 200 tokens at ≈ 33 µs each: the engine ends ≈ 7 ms after the
		// start, past the 2 ms limit; the handler wakes at 60 ms.
		const tokens = 200
		pl := plan{prompt: 10, target: tokens, reserve: 10 + tokens, finish: "length", hash: uint64(i + 1)}
		now := time.Now()
		q, err := s.enqueue(fmt.Sprintf("starved-%d", i), pl, now)
		if err != nil {
			t.Fatal(err)
		}
		em := &timeoutEmitter{firstDelay: 60 * time.Millisecond}
		s.deliverWithin(httptest.NewRequest(http.MethodPost, "/", nil), q, pl, now, em, 2*time.Millisecond)
		s.Close()
		if em.ended || em.failed != reasonTimeout {
			t.Fatalf("attempt %d: ended %v, failed %q after %d tokens; want the timeout", i, em.ended, em.failed, em.tokens)
		}
	}
}
