package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// testRecords is a small hand-built run. Intervals [sent, end):
//
//	R0 warm-up  [0.00, 1.00)  excluded from everything
//	R1 stream   [1.00, 1.60)  ok  chunks 0.2 0.3 0.5  n_in 10 n_out 4 (local out 5)
//	R2 stream   [1.50, 2.50)  ok  chunks 0.4 0.6      n_in 20 n_out 3 (local in 18), lag 0.1
//	R3 body     [1.55, 2.05)  ok  non-streamed        n_in 30 n_out 5, local counts
//	R4 429      [2.70, 2.80)  throttled, lag 0.2
//	R5 timeout  [3.00, 5.00)  timeout
//	R6 stream   [3.50, 3.80)  ok  chunk 0.3           n_in 5  n_out 1
func testRecords() []record.Record {
	return []record.Record{
		{ID: 0, Warmup: true, ScheduledS: 0, SentS: 0, TTFTS: 0.5, E2ES: 1, ChunkTimesS: []float64{0.5, 0.9},
			InputTokens: 100, OutputTokens: 100, TokenSource: record.SourceServer, Stream: true},
		{ID: 1, ScheduledS: 1, SentS: 1, TTFTS: 0.2, E2ES: 0.6, ChunkTimesS: []float64{0.2, 0.3, 0.5},
			InputTokens: 10, OutputTokens: 4, TokenSource: record.SourceServer,
			InputTokensLocal: 10, OutputTokensLocal: 5, Stream: true, Status: 200},
		{ID: 2, ScheduledS: 1.4, SentS: 1.5, TTFTS: 0.4, E2ES: 1.0, ChunkTimesS: []float64{0.4, 0.6},
			InputTokens: 20, OutputTokens: 3, TokenSource: record.SourceServer,
			InputTokensLocal: 18, OutputTokensLocal: 3, Stream: true, Status: 200},
		{ID: 3, ScheduledS: 1.55, SentS: 1.55, E2ES: 0.5,
			InputTokens: 30, OutputTokens: 5, TokenSource: record.SourceLocal,
			InputTokensLocal: 30, OutputTokensLocal: 5, Stream: false, Status: 200},
		{ID: 4, ScheduledS: 2.5, SentS: 2.7, E2ES: 0.1, InputTokens: 7, TokenSource: record.SourceLocal,
			InputTokensLocal: 7, Stream: true, Status: 429, ErrorKind: llm.KindThrottled, Error: "rate limited"},
		{ID: 5, ScheduledS: 3, SentS: 3, E2ES: 2, InputTokens: 9, TokenSource: record.SourceLocal,
			InputTokensLocal: 9, Stream: true, ErrorKind: llm.KindTimeout, Error: "request timed out"},
		{ID: 6, ScheduledS: 3.5, SentS: 3.5, TTFTS: 0.3, E2ES: 0.3, ChunkTimesS: []float64{0.3},
			InputTokens: 5, OutputTokens: 1, TokenSource: record.SourceServer,
			InputTokensLocal: 5, OutputTokensLocal: 1, Stream: true, Status: 200},
	}
}

func TestSummarize(t *testing.T) {
	recs := testRecords()
	s := Summarize(recs, RunInfo{Name: "t", Model: "m"})

	check := func(name string, got, want float64) {
		t.Helper()
		if !near(got, want) {
			t.Errorf("%s = %.17g, want %.17g", name, got, want)
		}
	}
	checkInt := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}

	if s.SchemaVersion != SummarySchemaVersion || s.Run.Name != "t" {
		t.Errorf("schema/run not passed through: %d %+v", s.SchemaVersion, s.Run)
	}
	// 6 non-warm-up requests: R1 R2 R3 R6 succeeded, R4 R5 failed.
	checkInt("total", s.Requests.Total, 6)
	checkInt("succeeded", s.Requests.Succeeded, 4)
	checkInt("failed", s.Requests.Failed, 2)
	checkInt("warmup_excluded", s.Requests.WarmupExcluded, 1)
	check("error_rate", s.ErrorRate, 2.0/6)
	if len(s.ErrorsByKind) != 2 || s.ErrorsByKind[llm.KindThrottled] != 1 || s.ErrorsByKind[llm.KindTimeout] != 1 {
		t.Errorf("errors_by_kind = %v", s.ErrorsByKind)
	}
	// Window: first sent 1.0 (R0 is warm-up), last end R5 3+2 = 5 → 4 s.
	check("window_s", s.WindowS, 4)
	// Successes: Σn_out = 4+3+5+1 = 13, Σn_in = 10+20+30+5 = 65.
	check("output_tokens_per_s", s.Throughput.OutputTokensPerS, 13.0/4)
	check("input_tokens_per_s", s.Throughput.InputTokensPerS, 65.0/4)
	check("total_tokens_per_s", s.Throughput.TotalTokensPerS, 78.0/4)
	check("requests_per_s", s.Throughput.RequestsPerS, 4.0/4)

	m := s.Metrics
	// TTFT: R1 0.2, R2 0.4, R3 0.5 (non-streamed: = E2E), R6 0.3.
	checkInt("ttft.count", m.TTFT.Count, 4)
	check("ttft.mean", m.TTFT.Mean, 0.35)
	check("ttft.p50", m.TTFT.P50, 0.35) // sorted .2 .3 .4 .5, h=1.5
	check("ttft.max", m.TTFT.Max, 0.5)
	// E2E: 0.6 1.0 0.5 0.3 → mean 2.4/4 = 0.6.
	checkInt("e2e.count", m.E2E.Count, 4)
	check("e2e.mean", m.E2E.Mean, 0.6)
	// ITL pooled from streamed: R1 gaps 0.1, 0.2; R2 gap 0.2; R6 none.
	// mean 0.5/3; sorted [.1 .2 .2], p25 h=0.5 → 0.15.
	checkInt("itl.count", m.ITL.Count, 3)
	check("itl.mean", m.ITL.Mean, 0.5/3)
	check("itl.p25", m.ITL.P25, 0.15)
	check("itl.min", m.ITL.Min, 0.1)
	// TPOT: R1 (0.6−0.2)/(4−1) = 0.4/3; R2 (1.0−0.4)/(3−1) = 0.3;
	// R3 not streamed, R6 n_out = 1: excluded.
	checkInt("tpot.count", m.TPOT.Count, 2)
	check("tpot.mean", m.TPOT.Mean, (0.4/3+0.3)/2)
	// Output speed 1/TPOT: 7.5 and 3.333…
	checkInt("speed.count", m.OutputSpeed.Count, 2)
	check("speed.max", m.OutputSpeed.Max, 7.5)
	check("speed.min", m.OutputSpeed.Min, 1/0.3)
	// Request output throughput n_out/E2E: 4/0.6, 3/1, 5/0.5, 1/0.3.
	checkInt("reqtput.count", m.RequestOutputThroughput.Count, 4)
	check("reqtput.mean", m.RequestOutputThroughput.Mean, (4/0.6+3+10+1/0.3)/4)
	check("input_tokens.mean", m.InputTokens.Mean, 65.0/4)
	check("output_tokens.mean", m.OutputTokens.Mean, 13.0/4)
	check("output_tokens.min", m.OutputTokens.Min, 1)
	// Schedule lag over all 6: 0, 0.1, 0, 0.2, 0, 0.
	checkInt("lag.count", m.ScheduleLag.Count, 6)
	check("lag.max", m.ScheduleLag.Max, 0.2)
	check("lag.mean", m.ScheduleLag.Mean, 0.3/6)

	// Concurrency: Σe2e = 0.6+1.0+0.5+0.1+2.0+0.3 = 4.5 over 4 s → 1.125.
	// At 1.55 R1, R2 and R3 are all in flight: max 3.
	check("concurrency.mean", s.Concurrency.Mean, 4.5/4)
	checkInt("concurrency.max", s.Concurrency.Max, 3)

	// Token sources: server R1 R2 R6; local R3 R4 R5. Mismatches among
	// server-counted successes: R1 output 4 vs 5 (−1), R2 input 20 vs 18 (+2).
	tc := s.TokenCounts
	checkInt("source_server", tc.SourceServer, 3)
	checkInt("source_local", tc.SourceLocal, 3)
	checkInt("input_mismatch", tc.InputMismatchRequests, 1)
	checkInt("output_mismatch", tc.OutputMismatchRequests, 1)
	check("mean_input_diff", tc.MeanInputDiff, 2)
	check("mean_output_diff", tc.MeanOutputDiff, -1)
}

func TestSummarizeZeroSuccesses(t *testing.T) {
	// Two failures, both at the same instant with zero duration: the window
	// is 0, every rate would divide by zero.
	recs := []record.Record{
		{SentS: 1, E2ES: 0, ErrorKind: llm.KindConnection},
		{SentS: 1, E2ES: 0, ErrorKind: llm.KindConnection},
	}
	for _, in := range [][]record.Record{recs, nil, {{Warmup: true, E2ES: 1}}} {
		s := Summarize(in, RunInfo{})
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !json.Valid(b) || strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Inf") {
			t.Errorf("bad JSON: %s", b)
		}
		if s.Metrics.TTFT.Count != 0 || s.Metrics.E2E.Count != 0 || s.Throughput.OutputTokensPerS != 0 {
			t.Errorf("zero-success metrics not empty: %+v", s.Metrics)
		}
		if !strings.Contains(string(b), `"errors_by_kind":{`) {
			t.Errorf("errors_by_kind must be an object, not null: %s", b)
		}
	}
	s := Summarize(recs, RunInfo{})
	if s.ErrorRate != 1 || s.ErrorsByKind[llm.KindConnection] != 2 || s.WindowS != 0 {
		t.Errorf("got error_rate %v, errors %v, window %v", s.ErrorRate, s.ErrorsByKind, s.WindowS)
	}
}

func TestSummarizeSingleRequest(t *testing.T) {
	// One streamed request, n_out = 1: TTFT = E2E = 0.25, no ITL, no TPOT.
	s := Summarize([]record.Record{{SentS: 2, TTFTS: 0.25, E2ES: 0.25, ChunkTimesS: []float64{0.25},
		InputTokens: 8, OutputTokens: 1, Stream: true}}, RunInfo{})
	if s.WindowS != 0.25 || s.Metrics.TTFT.Count != 1 || s.Metrics.ITL.Count != 0 || s.Metrics.TPOT.Count != 0 {
		t.Errorf("got %+v", s)
	}
	// Throughput 1 token / 0.25 s = 4; the single sample's stddev is 0.
	if s.Throughput.OutputTokensPerS != 4 || s.Metrics.E2E.Stddev != 0 || s.Concurrency.Mean != 1 || s.Concurrency.Max != 1 {
		t.Errorf("throughput %v stddev %v concurrency %+v", s.Throughput.OutputTokensPerS, s.Metrics.E2E.Stddev, s.Concurrency)
	}
}

func TestSummaryJSONNames(t *testing.T) {
	b, err := json.Marshal(Summarize(testRecords(), RunInfo{}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "run", "requests", "error_rate", "errors_by_kind",
		"window_s", "throughput", "metrics", "concurrency", "token_counts"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	metrics := m["metrics"].(map[string]any)
	for _, k := range []string{"ttft_s", "e2e_s", "itl_s", "tpot_s", "output_speed_tokens_per_s",
		"request_output_throughput_tokens_per_s", "input_tokens", "output_tokens", "schedule_lag_s"} {
		d, ok := metrics[k].(map[string]any)
		if !ok {
			t.Errorf("metrics lacks %q", k)
			continue
		}
		for _, f := range []string{"count", "mean", "median", "min", "max", "stddev", "p25", "p50", "p75", "p90", "p95", "p99"} {
			if v, ok := d[f].(float64); !ok || math.IsNaN(v) {
				t.Errorf("metrics.%s.%s missing", k, f)
			}
		}
	}
}

func TestRetriesAreCountedApartFromRequests(t *testing.T) {
	recs := []record.Record{
		// Request 0: a throttled attempt at 0 s (ended 0.1 s), retried at
		// 0.5 s and succeeding at 1.5 s.
		{ID: 0, Attempt: 0, Retried: true, SentS: 0, ScheduledS: 0, E2ES: 0.1, ErrorKind: llm.KindThrottled, InputTokens: 100},
		{ID: 0, Attempt: 1, SentS: 0.5, ScheduledS: 0, E2ES: 1.0, TTFTS: 0.2, InputTokens: 100, OutputTokens: 10, Stream: true},
		// Request 1: one attempt, 0.2 s to 1.2 s.
		{ID: 1, SentS: 0.2, ScheduledS: 0.2, E2ES: 1.0, TTFTS: 0.3, InputTokens: 100, OutputTokens: 10, Stream: true},
	}
	s := Summarize(recs, RunInfo{})
	if s.Requests.Total != 2 || s.Requests.Succeeded != 2 || s.Requests.Failed != 0 {
		t.Errorf("requests %+v: a retried attempt is not a request", s.Requests)
	}
	if s.Retries == nil || s.Retries.Attempts != 1 || s.Retries.ByKind[llm.KindThrottled] != 1 || s.Retries.InputTokens != 100 {
		t.Fatalf("retries %+v", s.Retries)
	}
	// What users waited: request 0 from 0 to 1.5 s, request 1 1.0 s.
	if d := s.Retries.RequestE2E; d.Count != 2 || d.Max != 1.5 || d.Min != 1.0 {
		t.Errorf("request_e2e_s %+v, want 1.0 and 1.5", d)
	}
	// Schedule lag from first attempts only: both 0, not request 0's 0.5 s backoff.
	if s.Metrics.ScheduleLag.Max != 0 {
		t.Errorf("schedule lag max %v; a retry's backoff is not lag", s.Metrics.ScheduleLag.Max)
	}
	// The window runs from the first attempt's send.
	if s.WindowS != 1.5 {
		t.Errorf("window %v, want 1.5", s.WindowS)
	}
}

// Stamps counts, over successful non-warm-up requests, those timed by
// the kernel's receive timestamps and the others, with the kernel-timed
// ones' read lags, chunks and bunched chunks.
func TestSummarizeStamps(t *testing.T) {
	recs := testRecords()
	recs[0].ReceiveStamps, recs[0].ReadLagMaxS, recs[0].BunchedChunks, recs[0].BunchedLastChunk = true, 9, 1, true // warm-up: not counted
	recs[1].ReceiveStamps, recs[1].ReadLagMaxS, recs[1].BunchedChunks, recs[1].BunchedLastChunk = true, 0.002, 1, true
	recs[2].ReceiveStamps, recs[2].ReadLagMaxS = true, 0.004
	recs[4].ReceiveStamps = true // failed: not counted
	s := Summarize(recs, RunInfo{})
	st := s.Stamps
	if st == nil || st.KernelRequests != 2 || st.ReadRequests != 2 || st.Chunks != 5 || st.BunchedChunks != 1 || st.BunchedLastChunks != 1 || st.MergedShare() != 0 ||
		st.ReadLagMax.Count != 2 || st.ReadLagMax.Max != 0.004 {
		t.Fatalf("stamps %+v", st)
	}
	if s := Summarize(recs[4:6], RunInfo{}); s.Stamps != nil {
		t.Errorf("stamps %+v with no successful request", s.Stamps)
	}
}
