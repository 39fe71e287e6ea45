package stats

import (
	"sync"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

func TestTimeline(t *testing.T) {
	// testRecords' intervals (warm-up R0 excluded), sampled every 0.5 s:
	//
	//	T    in flight        ended in (T−0.5, T]
	//	0.0  -
	//	0.5  -
	//	1.0  R1               (R1 sent)
	//	1.5  R1 R2            (R2 sent)
	//	2.0  R2 R3            R1 at 1.6: 4 tokens (R3 sent at 1.55)
	//	2.5  -                R3 at 2.05, R2 at 2.5 ([sent, end) is half-open): 5+3 tokens
	//	3.0  R5               R4 at 2.8: error (R4, R5 sent)
	//	3.5  R5 R6            (R6 sent)
	//	4.0  R5               R6 at 3.8: 1 token
	//	4.5  R5
	//	5.0  -                R5 at 5.0: error
	pts := Timeline(testRecords(), 0.5)
	want := []Point{
		{T: 0},
		{T: 0.5},
		{T: 1.0, InFlight: 1, Sent: 1},
		{T: 1.5, InFlight: 2, Sent: 1},
		{T: 2.0, InFlight: 2, Sent: 1, Done: 1, OutputTokens: 4},
		{T: 2.5, InFlight: 0, Done: 2, OutputTokens: 8},
		{T: 3.0, InFlight: 1, Sent: 2, Done: 1, Errors: 1},
		{T: 3.5, InFlight: 2, Sent: 1},
		{T: 4.0, InFlight: 1, Done: 1, OutputTokens: 1},
		{T: 4.5, InFlight: 1},
		{T: 5.0, InFlight: 0, Done: 1, Errors: 1},
	}
	if len(pts) != len(want) {
		t.Fatalf("got %d points, want %d: %+v", len(pts), len(want), pts)
	}
	for i := range want {
		if pts[i] != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, pts[i], want[i])
		}
	}
	if Timeline(testRecords(), 0) != nil || Timeline(nil, 1) != nil {
		t.Error("Timeline must return nil for step 0 or no records")
	}
}

func TestTimelineBackToBack(t *testing.T) {
	// A closed-loop worker: [0,1) then [1,2). At T=1 exactly one is in
	// flight; the concurrency max is 1 and the mean (1+1)/2 = 1.
	recs := []record.Record{{SentS: 0, E2ES: 1}, {SentS: 1, E2ES: 1}}
	pts := Timeline(recs, 1)
	if len(pts) != 3 || pts[0].InFlight != 1 || pts[1].InFlight != 1 || pts[2].InFlight != 0 {
		t.Errorf("got %+v", pts)
	}
	s := Summarize(recs, RunInfo{})
	if s.Concurrency.Max != 1 || s.Concurrency.Mean != 1 {
		t.Errorf("concurrency %+v, want mean 1 max 1", s.Concurrency)
	}
}

func TestLive(t *testing.T) {
	var l Live
	if s := l.Snapshot(0); s != (LiveSnapshot{}) {
		t.Errorf("empty snapshot %+v", s)
	}
	l.Add(nil)
	l.Add(&record.Record{Warmup: true, TTFTS: 9, E2ES: 9, OutputTokens: 99})
	// Three successes ending at 1.5, 2.5, 3.5 with 10 tokens each and TTFTs
	// 0.1 0.2 0.3; one failure.
	for i, ttft := range []float64{0.1, 0.2, 0.3} {
		l.Add(&record.Record{SentS: float64(i) + 1, TTFTS: ttft, E2ES: 0.5, OutputTokens: 10, Stream: true})
	}
	l.Add(&record.Record{SentS: 1, E2ES: 1, ErrorKind: llm.KindTimeout})
	s := l.Snapshot(4)
	// Younger than 10 s: 30 tokens since the start, over 4 s = 7.5/s.
	want := LiveSnapshot{Done: 4, Errors: 1, Warmup: 1, TTFTP50: 0.2, OutputTokensPerS: 7.5}
	if s != want {
		t.Errorf("Snapshot(4) = %+v, want %+v", s, want)
	}
	// At 12.5 the window is [3, 12.5]: only the request ending at 3.5
	// counts, 10 tokens over 9.5 s.
	if got := l.Snapshot(12.5).OutputTokensPerS; !near(got, 10/9.5) {
		t.Errorf("Snapshot(12.5).OutputTokensPerS = %v, want %v", got, 10/9.5)
	}
	// Long after, nothing is left in the window.
	if got := l.Snapshot(100).OutputTokensPerS; got != 0 {
		t.Errorf("Snapshot(100).OutputTokensPerS = %v, want 0", got)
	}
}

func TestLiveBoundedAndConcurrent(t *testing.T) {
	// Many writers and a reader at once (run with -race). 8×1000 TTFTs of
	// 1 s then the median of the last 2048 must still be 1.
	var l Live
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				l.Add(&record.Record{SentS: float64(w*1000+i) / 1000, TTFTS: 1, E2ES: 1, OutputTokens: 1})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			_ = l.Snapshot(float64(i) / 10)
		}
	}()
	wg.Wait()
	s := l.Snapshot(9)
	if s.Done != 8000 || s.TTFTP50 != 1 {
		t.Errorf("got %+v", s)
	}
}
