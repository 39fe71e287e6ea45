package ollama

import (
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/sim"
)

func newSim(t *testing.T, opts sim.Options, api string) (*sim.Server, *Provider) {
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
	p, err := New(Options{BaseURL: ts.URL, API: api})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

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

// TestSim reads the simulator's NDJSON and checks the done line against
// the engine's ground truth: eval_count is the tokens emitted, and the
// durations (ns on the wire, seconds in ServerTiming) are the trace's.
func TestSim(t *testing.T) {
	for _, tc := range []struct {
		api    string
		stream bool
	}{{APIChat, true}, {APIGenerate, true}, {APIChat, false}, {APIGenerate, false}} {
		s, p := newSim(t, sim.Options{ModelName: "llama2:7b"}, tc.api)
		st, err := p.Start(t.Context(), &llm.Request{Model: "llama2:7b", Prompt: "Tell me a story.", MaxTokens: 60, IgnoreEOS: true, Stream: tc.stream})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := collect(st)
		st.Close()
		if err != io.EOF {
			t.Fatalf("%+v: %v", tc, err)
		}
		tr := lastTrace(t, s)
		var text strings.Builder
		for _, ev := range evs {
			text.WriteString(ev.Text)
		}
		last := evs[len(evs)-1]
		if n := len(strings.Fields(text.String())); n != 60 || tr.OutputTokens != 60 ||
			last.Usage == nil || last.Usage.CompletionTokens != tr.OutputTokens || last.Usage.PromptTokens != tr.PromptTokens || last.FinishReason != "length" {
			t.Fatalf("%+v: %d words, trace %d tokens, last %+v", tc, n, tr.OutputTokens, last)
		}
		if tc.stream && len(evs) != 61 {
			t.Errorf("%+v: %d events, want 60 tokens + done", tc, len(evs))
		}
		ts := last.ServerTiming
		eval := tr.TokenTimes[59].Sub(tr.TokenTimes[0]).Seconds()
		prefill := tr.FirstToken.Sub(tr.Arrived.Add(tr.Queued)).Seconds()
		if math.Abs(ts["eval_s"]-eval) > 1e-6 || math.Abs(ts["prompt_eval_s"]-prefill) > 1e-6 {
			t.Errorf("%+v: eval_s %v prompt_eval_s %v, trace %v %v", tc, ts["eval_s"], ts["prompt_eval_s"], eval, prefill)
		}
		if e2e := tr.TokenTimes[59].Sub(tr.Arrived).Seconds(); ts["total_s"] < e2e || ts["total_s"] > e2e+0.005 || ts["load_s"] <= 0 {
			t.Errorf("%+v: total_s %v, trace end %v; %v", tc, ts["total_s"], e2e, ts)
		}
	}
}

// TestSimErrors: an unknown model is a client error, a full queue is
// overloaded (503 "server busy"), the invocation timeout mid-stream is a
// timeout.
func TestSimErrors(t *testing.T) {
	s, p := newSim(t, sim.Options{ModelName: "llama2:7b", MaxConcurrentRequests: 1, InvocationTimeout: 150 * time.Millisecond, TimeScale: 1}, APIChat)
	ctx := t.Context()
	if _, err := p.Start(ctx, &llm.Request{Model: "nope", Prompt: "x", Stream: true}); kindOf(err) != llm.KindClient || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown model: %v", err)
	}
	first, err := p.Start(ctx, &llm.Request{Model: "llama2:7b", Prompt: "x", MaxTokens: 200, IgnoreEOS: true, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := p.Start(ctx, &llm.Request{Model: "llama2:7b", Prompt: "x", Stream: true}); kindOf(err) != llm.KindOverloaded {
		t.Errorf("second request: %v, want overloaded", err)
	}
	evs, err := collect(first)
	if len(evs) == 0 || kindOf(err) != llm.KindTimeout {
		t.Errorf("first: %d events, %v; want a timeout mid-stream", len(evs), err)
	}
	_ = s
}
