package stats

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

func TestPerRequestHelpers(t *testing.T) {
	ok := record.Record{Stream: true, TTFTS: 0.5, E2ES: 1.5, OutputTokens: 5, ChunkTimesS: []float64{0.5, 0.75, 1.25, 1.5}}
	if tp, has := TPOT(&ok); !has || tp != 0.25 {
		t.Errorf("TPOT = %g %v, want (1.5−0.5)/4 = 0.25", tp, has)
	}
	if sp, has := OutputSpeed(&ok); !has || sp != 4 {
		t.Errorf("OutputSpeed = %g %v, want 4", sp, has)
	}
	if m, has := MaxITL(&ok); !has || m != 0.5 {
		t.Errorf("MaxITL = %g %v, want 0.5", m, has)
	}
	failed := ok
	failed.ErrorKind = llm.KindTimeout
	one := ok
	one.OutputTokens, one.ChunkTimesS = 1, []float64{0.5}
	body := record.Record{E2ES: 1, OutputTokens: 9}
	for name, r := range map[string]*record.Record{"failed": &failed, "one token": &one, "not streamed": &body} {
		if _, has := TPOT(r); has {
			t.Errorf("%s has a TPOT", name)
		}
		if _, has := MaxITL(r); has {
			t.Errorf("%s has an ITL", name)
		}
	}
	flat := ok
	flat.E2ES = 0.5 // every token at once: TPOT 0, no speed
	if _, has := OutputSpeed(&flat); has {
		t.Error("TPOT 0 has an output speed")
	}
}

// setRecords: two prompt sets and a warm-up from a third.
//
//	short: 3 requests, 1 failed; TTFT 0.1 0.3; E2E 0.5 1.5; n_out 5 9 → TPOT 0.1 0.15
//	long:  1 request; TTFT 1, E2E 3, n_out 3 → TPOT 1; server latency_s 2.5, queue_s 0.25
func setRecords() []record.Record {
	return []record.Record{
		{PromptSet: "chat", Warmup: true, Stream: true, TTFTS: 1, E2ES: 1, OutputTokens: 1},
		{PromptSet: "short", Stream: true, TTFTS: 0.1, E2ES: 0.5, InputTokens: 10, OutputTokens: 5,
			ServerTimingS: map[string]float64{"latency_s": 0.25}},
		{PromptSet: "short", SentS: 1, Stream: true, TTFTS: 0.3, E2ES: 1.5, InputTokens: 20, OutputTokens: 9},
		{PromptSet: "short", SentS: 2, Stream: true, E2ES: 0.2, ErrorKind: llm.KindServer,
			ServerTimingS: map[string]float64{"latency_s": 99}},
		{PromptSet: "long", SentS: 3, Stream: true, TTFTS: 1, E2ES: 3, InputTokens: 1000, OutputTokens: 3,
			ServerTimingS: map[string]float64{"latency_s": 2.5, "queue_s": 0.25}},
	}
}

func TestByPromptSet(t *testing.T) {
	s := Summarize(setRecords(), RunInfo{})
	if len(s.ByPromptSet) != 2 {
		t.Fatalf("sets = %v, want short and long (the warm-up's set is not one)", SortedKeys(s.ByPromptSet))
	}
	sh := s.ByPromptSet["short"]
	if sh.Requests != 3 || sh.Succeeded != 2 || !near(sh.ErrorRate, 1.0/3) {
		t.Errorf("short counts: %+v", sh)
	}
	if sh.TTFT.Count != 2 || !near(sh.TTFT.Mean, 0.2) || sh.E2E.Max != 1.5 ||
		sh.TPOT.Count != 2 || !near(sh.TPOT.Min, 0.1) || !near(sh.TPOT.Max, 0.15) ||
		sh.InputTokens.Mean != 15 || sh.OutputTokens.Mean != 7 {
		t.Errorf("short dists: %+v", sh)
	}
	lg := s.ByPromptSet["long"]
	if lg.Requests != 1 || lg.ErrorRate != 0 || lg.TPOT.Mean != 1 || lg.InputTokens.Max != 1000 {
		t.Errorf("long: %+v", lg)
	}
	// One set (or none): no split.
	recs := setRecords()[1:4]
	if s := Summarize(recs, RunInfo{}); s.ByPromptSet != nil {
		t.Errorf("one set split: %v", s.ByPromptSet)
	}
	// Unnamed records beside named ones form their own set.
	recs = setRecords()
	recs[4].PromptSet = ""
	if s := Summarize(recs, RunInfo{}); s.ByPromptSet[NoPromptSet].Requests != 1 {
		t.Errorf("unnamed set: %v", SortedKeys(s.ByPromptSet))
	}
}

func TestServerTiming(t *testing.T) {
	s := Summarize(setRecords(), RunInfo{})
	// latency_s over successes only: 0.25 and 2.5 (the failure's 99 is out).
	lat := s.ServerTiming["latency_s"]
	if lat.Count != 2 || lat.Min != 0.25 || lat.Max != 2.5 || lat.Mean != 1.375 {
		t.Errorf("latency_s = %+v", lat)
	}
	if q := s.ServerTiming["queue_s"]; q.Count != 1 || q.Mean != 0.25 || len(s.ServerTiming) != 2 {
		t.Errorf("server timing = %+v", s.ServerTiming)
	}
	if s := Summarize(testRecords(), RunInfo{}); s.ServerTiming != nil {
		t.Errorf("no server timing expected: %v", s.ServerTiming)
	}
}

func TestLagLimit(t *testing.T) {
	tests := []struct{ period, want float64 }{
		{0, 0.010},     // unknown: the ceiling
		{10, 0.010},    // slow schedule: the ceiling
		{0.05, 0.005},  // 20 req/s: a tenth of the gap
		{0.001, 0.001}, // 1000 req/s: the floor
		{-1, 0.010},
	}
	for _, tt := range tests {
		if got := LagLimit(tt.period); !near(got, tt.want) {
			t.Errorf("LagLimit(%g) = %g, want %g", tt.period, got, tt.want)
		}
	}
}

// lagRecords: 11 requests scheduled every 50 ms (20 req/s, limit 5 ms);
// the last one sent lag s late, the others on time.
func lagRecords(lag float64) []record.Record {
	recs := make([]record.Record, 11)
	for i := range recs {
		sched := 0.05 * float64(i)
		recs[i] = record.Record{ScheduledS: sched, SentS: sched, E2ES: 0.01, Stream: true}
	}
	recs[10].SentS += lag
	return recs
}

func TestScheduleLagWarning(t *testing.T) {
	// p99 of ten 0s and one lag: h = 10·0.99 = 9.9 → 0.9·lag.
	rate := RunInfo{Mode: "rate", Rate: 20}
	if s := Summarize(lagRecords(0.005), rate); s.ScheduleLagWarning != "" {
		t.Errorf("p99 4.5 ms ≤ 5 ms warned: %s", s.ScheduleLagWarning)
	}
	s := Summarize(lagRecords(0.01), rate) // p99 9 ms > 5 ms
	for _, want := range []string{"p99 schedule lag 9.0 ms exceeds 5.0 ms", "a tenth of the 50.0 ms mean scheduled inter-arrival time", "coordinated omission"} {
		if !strings.Contains(s.ScheduleLagWarning, want) {
			t.Errorf("warning %q lacks %q", s.ScheduleLagWarning, want)
		}
	}
	// A closed loop has no schedule to miss.
	if s := Summarize(lagRecords(1), RunInfo{Mode: "concurrency"}); s.ScheduleLagWarning != "" {
		t.Errorf("closed loop warned: %s", s.ScheduleLagWarning)
	}
	// Batch-interval: a batch is due at once, so the period is the 1 s
	// interval and the limit the 10 ms ceiling: 9 ms is fine, 18 ms is not.
	bi := RunInfo{Mode: "batch-interval", BatchIntervalS: 1}
	if s := Summarize(lagRecords(0.01), bi); s.ScheduleLagWarning != "" {
		t.Errorf("batch-interval warned at p99 9 ms: %s", s.ScheduleLagWarning)
	}
	if s := Summarize(lagRecords(0.02), bi); s.ScheduleLagWarning == "" {
		t.Error("batch-interval did not warn at p99 18 ms")
	}
	// A single request: the planned period, 1/Rate = 1 s → the 10 ms ceiling;
	// the cap reached is named.
	one := []record.Record{{ScheduledS: 0, SentS: 0.02, E2ES: 1}}
	s = Summarize(one, RunInfo{Mode: "rate", Rate: 1, MaxConcurrency: 1})
	if !strings.Contains(s.ScheduleLagWarning, "exceeds 10.0 ms (the 10 ms ceiling)") ||
		!strings.Contains(s.ScheduleLagWarning, "max-concurrency cap of 1 was reached") {
		t.Errorf("warning %q", s.ScheduleLagWarning)
	}
	// 1000 req/s: the 1 ms floor.
	fast := lagRecords(0.002)
	for i := range fast {
		fast[i].ScheduledS /= 50
		fast[i].SentS = fast[i].ScheduledS
	}
	fast[10].SentS += 0.002
	if s := Summarize(fast, rate); !strings.Contains(s.ScheduleLagWarning, "the 1 ms floor") {
		t.Errorf("fast schedule: %q", s.ScheduleLagWarning)
	}
}
