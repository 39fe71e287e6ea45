package analysis

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

func TestSweepRowOf(t *testing.T) {
	s := &stats.Summary{
		Requests:     stats.Requests{Total: 100, Succeeded: 95, Failed: 5},
		ErrorRate:    0.05,
		ErrorsByKind: map[llm.ErrorKind]int{llm.KindTimeout: 2, llm.KindThrottled: 3},
		Throughput:   stats.Throughput{OutputTokensPerS: 1255, RequestsPerS: 12.5},
		Metrics: stats.Metrics{
			OutputSpeed: stats.Dist{Count: 95, P25: 18, P50: 20, P75: 22},
			TTFT:        stats.Dist{Count: 95, P50: 0.3, P90: 0.5, P99: 0.9},
			E2E:         stats.Dist{Count: 95, P50: 5, P90: 7, P99: 9},
		},
		Concurrency: stats.Concurrency{Mean: 62.5, Max: 64},
	}
	r := SweepRowOf(64, "c064", s)
	want := SweepRow{Level: 64, Dir: "c064", Requests: 100, Succeeded: 95, ErrorRate: 0.05,
		OutputTokensPerS: 1255, RequestsPerS: 12.5, OutputSpeedP25: 18, OutputSpeedP50: 20, OutputSpeedP75: 22,
		TTFTP50: 0.3, TTFTP90: 0.5, TTFTP99: 0.9, E2EP50: 5, E2EP90: 7, E2EP99: 9,
		ConcurrencyMean: 62.5, ConcurrencyMax: 64, Timeouts: 2}
	if r != want {
		t.Errorf("SweepRowOf:\n got %+v\nwant %+v", r, want)
	}
	s.Goodput = &stats.Goodput{Share: 0.8}
	r = SweepRowOf(64, "c064", s)
	if r.GoodputShare == nil || *r.GoodputShare != 0.8 {
		t.Errorf("goodput share: %v", r.GoodputShare)
	}
	s.Goodput.Share = 0.1 // the row holds its own copy
	if *r.GoodputShare != 0.8 {
		t.Error("row aliases the summary's goodput")
	}
	if r := SweepRowOf(2, "r2", nil); r.Level != 2 || r.Dir != "r2" || r.Requests != 0 {
		t.Errorf("nil summary: %+v", r)
	}
}

func TestStopCheck(t *testing.T) {
	s := &stats.Summary{ErrorRate: 0.075, ErrorsByKind: map[llm.ErrorKind]int{llm.KindTimeout: 2}}
	tests := []struct {
		maxErr    float64
		onTimeout bool
		stop      bool
		reason    string
	}{
		{0.05, false, true, "error rate 7.5% > 5%"},
		{0.05, true, true, "error rate 7.5% > 5%; 2 timed-out requests"},
		{0.1, true, true, "2 timed-out requests"},
		{0.075, false, false, ""}, // equal is not above
		{0, false, false, ""},     // 0 disables the error check
	}
	for _, tt := range tests {
		stop, reason := StopCheck(s, tt.maxErr, tt.onTimeout)
		if stop != tt.stop || reason != tt.reason {
			t.Errorf("StopCheck(%g, %v) = %v %q, want %v %q", tt.maxErr, tt.onTimeout, stop, reason, tt.stop, tt.reason)
		}
	}
	one := &stats.Summary{ErrorRate: 1.0 / 3, ErrorsByKind: map[llm.ErrorKind]int{llm.KindTimeout: 1}}
	if _, reason := StopCheck(one, 0.25, true); reason != "error rate 33.33% > 25%; 1 timed-out request" {
		t.Errorf("reason %q", reason)
	}
	if stop, _ := StopCheck(nil, 0.01, true); stop {
		t.Error("nil summary stops")
	}
}

func TestAutoRates(t *testing.T) {
	// GuideLLM: np.linspace(sync, max, size-1)[1:]; with sync 1, max 5 and
	// 4 rates (size 6): linspace(1, 5, 5) = 1 2 3 4 5 → 2 3 4 5.
	got, err := AutoRates(1, 5, 4)
	if err != nil || len(got) != 4 || got[0] != 2 || got[1] != 3 || got[2] != 4 || got[3] != 5 {
		t.Errorf("AutoRates(1, 5, 4) = %v, %v", got, err)
	}
	// Step 0.9/3 = 0.3: 0.4 0.7 1.0, the last exactly the max.
	got, err = AutoRates(0.1, 1, 3)
	if err != nil || len(got) != 3 || got[2] != 1 || got[0] < 0.4-1e-12 || got[0] > 0.4+1e-12 || got[1] < 0.7-1e-12 || got[1] > 0.7+1e-12 {
		t.Errorf("AutoRates(0.1, 1, 3) = %v, %v", got, err)
	}
	if got, err := AutoRates(2, 3, 1); err != nil || len(got) != 1 || got[0] != 3 {
		t.Errorf("one level is the max: %v %v", got, err)
	}
	bad := []struct {
		sync, max float64
		n         int
		want      string
	}{
		{1, 5, 0, "at least 1"},
		{0, 5, 3, "synchronous rate 0"},
		{-1, 5, 3, "synchronous rate -1"},
		{1, 0, 3, "maximum rate 0"},
		{5, 1, 3, "not above the synchronous rate"},
		{2, 2, 3, "not above"},
	}
	for _, tt := range bad {
		if _, err := AutoRates(tt.sync, tt.max, tt.n); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("AutoRates(%g, %g, %d) error %v, want %q", tt.sync, tt.max, tt.n, err, tt.want)
		}
	}
}
