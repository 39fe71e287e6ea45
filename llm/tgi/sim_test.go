package tgi

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/sim"
)

func newSim(t *testing.T, opts sim.Options) (*sim.Server, *Provider) {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.05
	}
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	p, err := New(Options{BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// lastTrace returns the only trace the simulator holds.
func lastTrace(t *testing.T, s *sim.Server) sim.Trace {
	t.Helper()
	var tr []sim.Trace
	for range 100 {
		if tr = s.Traces(); len(tr) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(tr) != 1 {
		t.Fatalf("%d traces, want 1", len(tr))
	}
	return tr[0]
}

// TestSimStream reads the simulator's /generate_stream: one event per
// word, the EOS special token of a natural stop carries no text, and the
// details give the server's counts (generated_tokens includes EOS).
func TestSimStream(t *testing.T) {
	for _, ignoreEOS := range []bool{false, true} {
		s, p := newSim(t, sim.Options{})
		st, err := p.Start(t.Context(), &llm.Request{Prompt: "Tell me a story about a dog.", MaxTokens: 300, IgnoreEOS: ignoreEOS, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := collect(st)
		st.Close()
		if err != io.EOF {
			t.Fatalf("ignore_eos %v: %v", ignoreEOS, err)
		}
		tr := lastTrace(t, s)
		last := evs[len(evs)-1]
		texts := 0
		for _, ev := range evs {
			if ev.Text != "" {
				texts++
			}
		}
		if last.Usage == nil || last.Usage.CompletionTokens != tr.OutputTokens || last.Usage.PromptTokens != tr.PromptTokens {
			t.Fatalf("usage %+v, trace %d/%d", last.Usage, tr.PromptTokens, tr.OutputTokens)
		}
		switch {
		case ignoreEOS && (last.FinishReason != "length" || tr.OutputTokens != 300 || texts != 300):
			t.Errorf("ignore_eos: finish %q, %d tokens, %d texts; want length, 300, 300", last.FinishReason, tr.OutputTokens, texts)
		case !ignoreEOS && last.FinishReason == "stop" && texts != tr.OutputTokens-1:
			t.Errorf("natural stop: %d text events, %d tokens: the EOS token must carry no text", texts, tr.OutputTokens)
		}
		if q, ok := evs[0].ServerTiming["queue_s"]; !ok || q < 0 || q > tr.Queued.Seconds()+0.002 {
			t.Errorf("first event timing %v, trace queued %v", evs[0].ServerTiming, tr.Queued)
		}
	}
}

// TestSimGenerate checks /generate's timing headers against the trace.
func TestSimGenerate(t *testing.T) {
	s, p := newSim(t, sim.Options{})
	st, err := p.Start(t.Context(), &llm.Request{Prompt: "hello there", MaxTokens: 40, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(st)
	st.Close()
	if err != io.EOF || len(evs) != 1 {
		t.Fatalf("%+v %v", evs, err)
	}
	ev, tr := evs[0], lastTrace(t, s)
	if ev.Usage == nil || ev.Usage.CompletionTokens != 40 || ev.FinishReason != "length" || len(strings.Fields(ev.Text)) != 40 {
		t.Fatalf("event %+v", ev)
	}
	st2 := ev.ServerTiming
	inference := tr.TokenTimes[39].Sub(tr.Arrived.Add(tr.Queued)).Seconds()
	// Whole milliseconds, truncated, and measured a little after the last token.
	if d := inference - st2["inference_s"]; d < -0.003 || d > 0.002 {
		t.Errorf("inference_s %v, trace %v", st2["inference_s"], inference)
	}
	for _, k := range []string{"total_s", "validation_s", "queue_s", "time_per_token_s", "compute_s"} {
		if _, ok := st2[k]; !ok {
			t.Errorf("no %s in %v", k, st2)
		}
	}
	if st2["compute_s"] < st2["inference_s"] || st2["compute_s"]-st2["total_s"] > 0.001 {
		t.Errorf("compute_s %v (seconds) vs total_s %v, inference_s %v", st2["compute_s"], st2["total_s"], st2["inference_s"])
	}
}

// TestSimOverload: TGI reports overload inside a 200 stream, and with a
// 429 on /generate; both are overloaded.
func TestSimOverload(t *testing.T) {
	_, p := newSim(t, sim.Options{MaxConcurrentRequests: 1, TimeScale: 1})
	ctx := t.Context()
	first, err := p.Start(ctx, &llm.Request{Prompt: "x", MaxTokens: 500, IgnoreEOS: true, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Next(); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []bool{true, false} {
		st, err := p.Start(ctx, &llm.Request{Prompt: "x", MaxTokens: 5, Stream: stream})
		if err == nil {
			_, err = collect(st)
			st.Close()
		}
		if kindOf(err) != llm.KindOverloaded {
			t.Errorf("stream %v: err %v, want overloaded", stream, err)
		}
	}
}

// TestSimErrors: validation is a client error; the invocation timeout is
// an in-stream timeout; the quota is throttled.
func TestSimErrors(t *testing.T) {
	_, p := newSim(t, sim.Options{InvocationTimeout: 150 * time.Millisecond, TimeScale: 1, RPM: 2})
	ctx := t.Context()
	run := func(req llm.Request) error {
		st, err := p.Start(ctx, &req)
		if err != nil {
			return err
		}
		defer st.Close()
		_, err = collect(st)
		return err
	}
	if err := run(llm.Request{Prompt: "x", MaxTokens: 1 << 20, Stream: true}); kindOf(err) != llm.KindClient || !strings.Contains(err.Error(), "max_new_tokens") {
		t.Errorf("too long: %v", err)
	}
	if err := run(llm.Request{Prompt: "x", MaxTokens: 200, IgnoreEOS: true, Stream: true}); kindOf(err) != llm.KindTimeout {
		t.Errorf("timeout: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = run(llm.Request{Prompt: "x", MaxTokens: 2, Stream: true}) })
	}
	wg.Wait()
	throttled := 0
	for _, err := range errs {
		if kindOf(err) == llm.KindThrottled {
			throttled++
		}
	}
	if throttled < 2 { // RPM 2: one was the timeout's, so at most one of these gets in
		t.Errorf("errors %v: want at least 2 throttled", errs)
	}
}
