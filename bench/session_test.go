package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// sessionConfig is a closed loop of 3-turn sessions of 1,000-token user
// messages against l's simulator at a fast time scale.
func sessionConfig(t *testing.T, l *promptLog) *config.Config {
	cfg := l.testConfig(t)
	cfg.Concurrency, cfg.MaxRequests = config.IntList{2}, 12
	cfg.MeanInputTokens, cfg.StddevInputTokens = 1000, 0
	cfg.MeanOutputTokens, cfg.StddevOutputTokens = 50, 0
	cfg.Turns = 3
	return cfg
}

// TestSessionsGrowAndHitTheCache: each turn of a session sends the whole
// conversation so far, answers included, so its prompt grows turn by
// turn; the simulator's prefix cache serves the earlier turns, so the
// cached tokens grow too and TTFT stays far below that of a server without
// a cache, whose TTFT grows with the prompt.
func TestSessionsGrowAndHitTheCache(t *testing.T) {
	cached := newPromptLog(t) // prefix cache on
	out, err := Run(t.Context(), sessionConfig(t, cached), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	bt := out.Summary.ByTurn
	if len(bt) != 3 {
		t.Fatalf("by_turn has %d turns, want 3: %+v", len(bt), bt)
	}
	for k := 1; k < 3; k++ {
		if bt[k].InputTokens.Mean < bt[k-1].InputTokens.Mean+1000 {
			t.Errorf("turn %d input %.0f tokens, not ≥ 1,000 more than turn %d's %.0f", k+1, bt[k].InputTokens.Mean, k, bt[k-1].InputTokens.Mean)
		}
		// Everything but the new message and the last answer was cached.
		if got, want := bt[k].CachedInputTokens.Mean, bt[k-1].InputTokens.Mean; got < want-80 {
			t.Errorf("turn %d: %.0f cached tokens, want about %.0f (the previous turn's prompt and answer)", k+1, got, want)
		}
	}
	// Two workers share 12 tickets: one may start a fifth session while the
	// other still needs one for its last turn, which then never runs.
	if s := out.Summary.Sessions; s == nil || s.Sessions < 4 || s.Completed < 3 || s.Completed > 4 {
		t.Errorf("sessions %+v, want 4 or 5 sessions, 3 or 4 completed", s)
	}
	if out.Summary.PromptCache == nil || out.Summary.PromptCache.Requested == "" {
		t.Errorf("prompt_cache %+v does not say caching was requested", out.Summary.PromptCache)
	}
	checkSessionRecords(t, out.Records, 3)
	// Every later turn's request holds the previous user messages.
	cached.mu.Lock()
	n := len(cached.prompts)
	cached.mu.Unlock()
	want := 0
	for _, r := range out.Records {
		want += r.Turn
	}
	if n != want {
		t.Errorf("the server saw %d user messages, want %d (turn k sends k)", n, want)
	}

	// One worker and 3 sessions: no other request shares a prefill step
	// with the one measured.
	plain := newPromptLog(t)
	cfg := sessionConfig(t, plain)
	cfg.Concurrency, cfg.MaxRequests = config.IntList{1}, 9
	cfg.Provider, cfg.BaseURL = config.ProviderSim, ""
	cfg.Sim = config.SimConfig{Profile: config.DefaultSimProfile, TimeScale: 0.1, MaxConcurrentRequests: 128, PrefixCacheBlocks: 0}
	cfg.Model = ""
	if err := Resolve(cfg, func(string) string { return "" }, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	nocache, err := Run(t.Context(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := sessionConfig(t, plain)
	cfg2.Concurrency, cfg2.MaxRequests = config.IntList{1}, 9
	cfg2.Provider, cfg2.BaseURL, cfg2.Model = config.ProviderSim, "", ""
	cfg2.Sim = cfg.Sim
	cfg2.Sim.PrefixCacheBlocks = 1 << 16
	if err := Resolve(cfg2, func(string) string { return "" }, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	withCache, err := Run(t.Context(), cfg2, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	// The simulator's own clock: a prefill of 3,100 tokens against one of
	// about 1,050 uncached ones, which measured 2.2× apart (409 against
	// 183 ms at time scale 0.2); at 0.1, tens of milliseconds of a loaded
	// machine's scheduling noise cannot close the gap to 0.8×.
	a, b := withCache.Summary.ByTurn, nocache.Summary.ByTurn
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("by_turn lengths %d and %d", len(a), len(b))
	}
	if !(a[2].TTFT.P50 < 0.8*b[2].TTFT.P50) {
		t.Errorf("turn 3 TTFT p50 %.1f ms with the prefix cache, %.1f ms without: want a clear drop", 1000*a[2].TTFT.P50, 1000*b[2].TTFT.P50)
	}
	if !(b[2].TTFT.P50 > b[0].TTFT.P50) {
		t.Errorf("without a cache, turn 3 TTFT %.1f ms is not above turn 1's %.1f ms", 1000*b[2].TTFT.P50, 1000*b[0].TTFT.P50)
	}
}

// TestSessionsEndWithTheDuration: a duration limit ends sessions between
// turns (during think time too), and every record is a consecutive turn
// of its session.
func TestSessionsEndWithTheDuration(t *testing.T) {
	l := newPromptLog(t)
	cfg := sessionConfig(t, l)
	cfg.MaxRequests, cfg.Duration = 0, config.Duration(400*time.Millisecond)
	cfg.Turns, cfg.ThinkTime = 50, config.Duration(50*time.Millisecond)
	cfg.MeanInputTokens = 20
	out, err := Run(t.Context(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.StopReason != "duration" {
		t.Errorf("stop reason %q", out.Result.StopReason)
	}
	checkSessionRecords(t, out.Records, 50)
	if s := out.Summary.Sessions; s == nil || s.Completed != 0 {
		t.Errorf("sessions %+v: none of 50 turns can have completed", s)
	}
}

// checkSessionRecords: every record is a turn of a session, and the turns
// of each session are 1, 2, … in the order they were sent.
func checkSessionRecords(t *testing.T, recs []record.Record, turns int) {
	t.Helper()
	bySession := map[int64][]record.Record{}
	for _, r := range recs {
		if r.SessionID == nil || r.Turn < 1 || r.SessionTurns != turns {
			t.Fatalf("record %d: session %v turn %d of %d", r.ID, r.SessionID, r.Turn, r.SessionTurns)
		}
		bySession[*r.SessionID] = append(bySession[*r.SessionID], r)
	}
	for sid, rs := range bySession {
		slices.SortFunc(rs, func(a, b record.Record) int { return int(a.ID - b.ID) })
		for k, r := range rs {
			if r.Turn != k+1 {
				t.Fatalf("session %d: turn %d is its %d-th request", sid, r.Turn, k+1)
			}
			if k > 0 && r.SentS < rs[k-1].SentS+rs[k-1].E2ES {
				t.Fatalf("session %d: turn %d sent before turn %d ended", sid, r.Turn, k)
			}
		}
	}
}

// TestSessionsOpenLoop: in rate mode each arrival starts a session and
// runs its turns on its own goroutine; max_requests counts turns.
func TestSessionsOpenLoop(t *testing.T) {
	l := newPromptLog(t)
	cfg := sessionConfig(t, l)
	cfg.MeanInputTokens = 50
	cfg.Mode, cfg.Rate, cfg.Concurrency = config.ModeRate, config.FloatList{50}, nil
	cfg.MaxConcurrency = 2
	out, err := Run(t.Context(), cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if n := out.Summary.Requests.Total; n != 12 {
		t.Errorf("%d requests, want 12 turns", n)
	}
	checkSessionRecords(t, out.Records, 3)
	if len(out.Summary.ByTurn) < 2 || out.Summary.ByTurn[1].CachedInputTokens.Mean == 0 {
		t.Errorf("by_turn %+v: later turns found nothing cached", out.Summary.ByTurn)
	}
}

// TestSessionsInterrupted: Ctrl-C (the context ending) stops sessions
// between turns, lets in-flight turns finish, and the run says it was
// interrupted; every record is still a consecutive turn of its session.
func TestSessionsInterrupted(t *testing.T) {
	l := newPromptLog(t)
	cfg := sessionConfig(t, l)
	cfg.MaxRequests, cfg.Duration = 0, config.Duration(time.Minute)
	cfg.Turns, cfg.ThinkTime = 50, config.Duration(20*time.Millisecond)
	cfg.MeanInputTokens = 20
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	out, err := Run(ctx, cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Result.Interrupted || len(out.Records) == 0 {
		t.Fatalf("interrupted %t with %d records", out.Result.Interrupted, len(out.Records))
	}
	checkSessionRecords(t, out.Records, 50)
	for _, r := range out.Records {
		if !r.OK() && r.ErrorKind != llm.KindCanceled {
			t.Errorf("record %d failed: %s", r.ID, r.Error)
		}
	}
}
