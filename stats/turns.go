package stats

import (
	"slices"

	"github.com/llmload/llmload/record"
)

// TurnSummary describes the requests of one turn index of multi-turn
// sessions (record.Record.Turn). Dists cover its successful requests.
type TurnSummary struct {
	// Turn is the turn index, from 1.
	Turn      int `json:"turn"`
	Requests  int `json:"requests"`
	Succeeded int `json:"succeeded"`
	// TTFT and E2E are seconds.
	TTFT Dist `json:"ttft_s"`
	E2E  Dist `json:"e2e_s"`
	// InputTokens is the whole prompt of the turn (the conversation so
	// far), tokens; CachedInputTokens the part of it the server reported
	// serving from its prompt cache, tokens, over the requests that
	// reported it.
	InputTokens       Dist `json:"input_tokens"`
	CachedInputTokens Dist `json:"cached_input_tokens"`
}

// Sessions counts the multi-turn sessions of a run.
type Sessions struct {
	// Sessions counts the sessions with at least one measured turn;
	// Completed those that sent all their turns (record.Record.SessionTurns),
	// every one of them successfully. A session cut short
	// by the end of the run (max_requests, duration, Ctrl-C) or by a failed
	// turn is not complete.
	Sessions  int `json:"sessions"`
	Completed int `json:"completed"`
	// Turns describes the turns sent per session.
	Turns Dist `json:"turns"`
	// Duration describes, over completed sessions, the time from the first
	// turn's send to the last turn's end, seconds: what a user spends in
	// the conversation, think times included.
	Duration Dist `json:"duration_s"`
}

// byTurn splits the non-warm-up session records by turn index; nil when
// no record belongs to a session.
func byTurn(recs []record.Record) ([]TurnSummary, *Sessions) {
	type acc struct {
		ts                     TurnSummary
		ttft, e2e, nIn, cached []float64
	}
	turns := map[int]*acc{}
	type sess struct {
		turns, planned int
		ok             bool
		first, last    float64
	}
	sessions := map[int64]*sess{}
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried || r.SessionID == nil || r.Turn < 1 {
			continue
		}
		a := turns[r.Turn]
		if a == nil {
			a = &acc{ts: TurnSummary{Turn: r.Turn}}
			turns[r.Turn] = a
		}
		se := sessions[*r.SessionID]
		if se == nil {
			se = &sess{ok: true, planned: r.SessionTurns, first: r.SentS, last: r.SentS + r.E2ES}
			sessions[*r.SessionID] = se
		}
		se.first, se.last = min(se.first, r.SentS), max(se.last, r.SentS+r.E2ES)
		se.turns++
		a.ts.Requests++
		if !r.OK() {
			se.ok = false
			continue
		}
		a.ts.Succeeded++
		if t, ok := TTFT(r); ok {
			a.ttft = append(a.ttft, t)
		}
		a.e2e = append(a.e2e, r.E2ES)
		a.nIn = append(a.nIn, float64(r.InputTokens))
		if r.CachedInputTokens != nil {
			a.cached = append(a.cached, float64(*r.CachedInputTokens))
		}
	}
	if len(turns) == 0 {
		return nil, nil
	}
	out := make([]TurnSummary, 0, len(turns))
	for _, k := range slices.Sorted(func(yield func(int) bool) {
		for k := range turns {
			if !yield(k) {
				return
			}
		}
	}) {
		a := turns[k]
		a.ts.TTFT, a.ts.E2E = Describe(a.ttft), Describe(a.e2e)
		a.ts.InputTokens, a.ts.CachedInputTokens = Describe(a.nIn), Describe(a.cached)
		out = append(out, a.ts)
	}
	ss := &Sessions{Sessions: len(sessions)}
	n := make([]float64, 0, len(sessions))
	var dur []float64
	for _, se := range sessions {
		n = append(n, float64(se.turns))
		if se.ok && se.turns == se.planned {
			ss.Completed++
			dur = append(dur, se.last-se.first)
		}
	}
	// Sorted: map order is random, and means should not depend on it.
	slices.Sort(n)
	slices.Sort(dur)
	ss.Turns, ss.Duration = Describe(n), Describe(dur)
	return out, ss
}
