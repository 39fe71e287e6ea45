package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/health"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// fixture is a small run: a warm-up, four successes (three streamed, one
// not), a 429 and a timeout that had streamed two chunks.
func fixture() ([]record.Record, stats.RunInfo) {
	recs := []record.Record{
		{ID: 0, Warmup: true, SentS: 0, TTFTS: 0.5, E2ES: 1, ChunkTimesS: []float64{0.5, 0.9},
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
			InputTokensLocal: 7, Stream: true, Status: 429, ErrorKind: llm.KindThrottled, Error: `{"error":"rate limited"}`},
		{ID: 5, ScheduledS: 3, SentS: 3, TTFTS: 0.5, E2ES: 2, ChunkTimesS: []float64{0.5, 0.75}, InputTokens: 9,
			OutputTokens: 2, TokenSource: record.SourceLocal, InputTokensLocal: 9, OutputTokensLocal: 2,
			Stream: true, Status: 200, ErrorKind: llm.KindTimeout, Error: "request timed out"},
		{ID: 6, ScheduledS: 3.5, SentS: 3.5, TTFTS: 0.3, E2ES: 0.3, ChunkTimesS: []float64{0.3},
			InputTokens: 5, OutputTokens: 1, TokenSource: record.SourceServer,
			InputTokensLocal: 5, OutputTokensLocal: 1, Stream: true, Status: 200},
	}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	run := stats.RunInfo{
		Name: "fixture", Provider: "openai", Model: "meta-llama/Llama-2-7b-chat-hf",
		BaseURL: "http://127.0.0.1:8000/v1", API: "chat", Stream: true,
		Mode: "closed-loop", Concurrency: 3, MaxRequests: 6, WarmupRequests: 1, TimeoutS: 2,
		MeanInputTokens: 550, StddevInputTokens: 150, MeanOutputTokens: 150, StddevOutputTokens: 10,
		Tokenizer: "cl100k_base", Version: "test",
		StartedAt: start, EndedAt: start.Add(5 * time.Second), StopReason: "max_requests",
	}
	return recs, run
}

func TestLLMPerfName(t *testing.T) {
	tests := []struct {
		model   string
		in, out int
		want    string
		why     string
	}{
		{"meta-llama/Llama-2-7b-chat-hf", 550, 150, "meta-llama-Llama-2-7b-chat-hf_550_150", "README example: / → -"},
		{"tinyLlama/TinyLlama-1.1B-Chat-v1.0", 256, 100, "tinyLlama-TinyLlama-1-1B-Chat-v1-0_256_100", "dots → -, as in a published LLMPerf result"},
		{"gpt-3.5-turbo", 550, 150, "gpt-3-5-turbo_550_150", "the dot becomes a dash"},
		{"a//b", 1, 2, "a-b_1_2", "a run of non-word characters is one dash"},
		{"x-/y", 1, 2, "x-y_1_2", "dash then slash: -- collapses to -"},
		{"org/modèle:v2", 10, 20, "org-modèle-v2_10_20", "Python's \\w keeps non-ASCII letters"},
		{"", 0, 0, "_0_0", "empty model"},
	}
	for _, tt := range tests {
		if got := LLMPerfName(tt.model, tt.in, tt.out); got != tt.want {
			t.Errorf("LLMPerfName(%q, %d, %d) = %q, want %q (%s)", tt.model, tt.in, tt.out, got, tt.want, tt.why)
		}
	}
}

// llmperfSummaryKeys is LLMPerf's summary file, key by key, in order, as
// token_benchmark_ray.py's metrics_summary and utils.LLMPerfResults.to_dict
// build it (additional_sampling_params {} flattens to nothing).
func llmperfSummaryKeys() []string {
	keys := []string{"version", "name", "model", "mean_input_tokens", "stddev_input_tokens",
		"mean_output_tokens", "stddev_output_tokens", "num_concurrent_requests"}
	for _, m := range []string{"inter_token_latency_s", "ttft_s", "end_to_end_latency_s",
		"request_output_throughput_token_per_s", "number_input_tokens", "number_output_tokens"} {
		for _, q := range []string{"p25", "p50", "p75", "p90", "p95", "p99"} {
			keys = append(keys, "results_"+m+"_quantiles_"+q)
		}
		for _, s := range []string{"mean", "min", "max", "stddev"} {
			keys = append(keys, "results_"+m+"_"+s)
		}
	}
	return append(keys, "results_num_requests_started", "results_error_rate", "results_number_errors",
		"results_error_code_frequency", "results_mean_output_throughput_token_per_s",
		"results_num_completed_requests", "results_num_completed_requests_per_min", "timestamp")
}

// llmperfIndividualKeys are the keys of one individual response, in the
// order of openai_chat_completions_client.py's metrics dict.
var llmperfIndividualKeys = []string{"error_code", "error_msg", "inter_token_latency_s", "ttft_s",
	"end_to_end_latency_s", "request_output_throughput_token_per_s", "number_total_tokens",
	"number_output_tokens", "number_input_tokens"}

// orderedKeys returns the keys of a JSON object in file order.
func orderedKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				depth++
				expectKey = true
				continue
			}
			if v == '}' {
				depth--
			}
		case string:
			if expectKey && depth == 1 {
				keys = append(keys, v)
				expectKey = false
				continue
			}
		}
		expectKey = depth >= 1 && dec.More() && isObjectValueEnd(tok)
	}
	return keys
}

// isObjectValueEnd: after a scalar value inside an object, the next token
// is a key.
func isObjectValueEnd(tok json.Token) bool {
	_, isDelim := tok.(json.Delim)
	return !isDelim || tok == json.Delim('}') || tok == json.Delim(']')
}

func TestWriteLLMPerf(t *testing.T) {
	recs, run := fixture()
	s := stats.Summarize(recs, run)
	dir := t.TempDir()
	if err := WriteLLMPerf(filepath.Join(dir, "llmperf"), recs, s); err != nil {
		t.Fatal(err)
	}
	stem := "meta-llama-Llama-2-7b-chat-hf_550_150"
	sum, err := os.ReadFile(filepath.Join(dir, "llmperf", stem+"_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	ind, err := os.ReadFile(filepath.Join(dir, "llmperf", stem+"_individual_responses.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "llmperf_summary.json.golden", sum)
	golden(t, "llmperf_individual_responses.json.golden", ind)

	// Key by key, in order.
	if got, want := orderedKeys(t, sum), llmperfSummaryKeys(); !slices.Equal(got, want) {
		t.Errorf("summary keys:\n got %q\nwant %q", got, want)
	}
	var rows []map[string]any
	if err := json.Unmarshal(ind, &rows); err != nil {
		t.Fatalf("individual responses are not JSON: %v", err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d individual responses, want 6 (warm-up excluded)", len(rows))
	}
	for _, obj := range bytes.Split(ind, []byte("\n    {"))[1:] {
		if got := orderedKeys(t, append([]byte("{"), bytes.TrimRight(obj, ",\n]")...)); !slices.Equal(got, llmperfIndividualKeys) {
			t.Errorf("individual keys:\n got %q\nwant %q", got, llmperfIndividualKeys)
		}
	}

	var m map[string]any
	if err := json.Unmarshal(sum, &m); err != nil {
		t.Fatalf("summary is not JSON: %v", err)
	}
	checks := map[string]any{
		"version": "2023-08-31",
		"name":    stem + "_summary",
		// Successes R1 R2 R3 R6. TTFT 0.2 0.4 0.5 0.3 → mean 0.35.
		"results_ttft_s_mean": 0.35,
		// LLMPerf ITL = last chunk / n_out: R1 0.5/4 = 0.125, R2 0.6/3 = 0.2,
		// R3 (not streamed: the body at E2E 0.5) 0.5/5 = 0.1, R6 0.3/1 = 0.3;
		// min 0.1, max 0.3.
		"results_inter_token_latency_s_min": 0.1,
		"results_inter_token_latency_s_max": 0.3,
		// Token counts' min and max are strings, as LLMPerf writes numpy ints.
		"results_number_input_tokens_min":  "5",
		"results_number_output_tokens_max": "5",
		"results_num_requests_started":     6.0,
		"results_number_errors":            2.0,
		"results_error_rate":               2.0 / 6,
		// R4's 429, R5's timeout after a 200 (-1); the column has nulls, so
		// float keys.
		"results_error_code_frequency": "{429.0: 1, -1.0: 1}",
		// Σ n_out of successes 13 over the 4 s window.
		"results_mean_output_throughput_token_per_s": 13.0 / 4,
		"results_num_completed_requests":             4.0,
		"results_num_completed_requests_per_min":     4.0 / 4 * 60,
		"timestamp":                                  float64(run.EndedAt.Unix()),
	}
	for k, want := range checks {
		got := m[k]
		if f, ok := want.(float64); ok {
			g, ok := got.(float64)
			if !ok || g-f > 1e-12 || f-g > 1e-12 {
				t.Errorf("%s = %v, want %v", k, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	// R5 (timeout after two chunks): code -1, E2E 0 as LLMPerf, TTFT kept,
	// ITL 0.75/2.
	r5 := rows[4]
	if r5["error_code"] != -1.0 || r5["end_to_end_latency_s"] != 0.0 || r5["ttft_s"] != 0.5 ||
		r5["inter_token_latency_s"] != 0.375 || r5["error_msg"] != "request timed out" {
		t.Errorf("R5 = %v", r5)
	}
	if rows[0]["error_code"] != nil || rows[0]["number_total_tokens"] != 14.0 {
		t.Errorf("R1 = %v", rows[0])
	}
}

func TestWriteLLMPerfNoSuccess(t *testing.T) {
	// Only failures: every statistic is null (LLMPerf: NaN), and the file is
	// valid JSON.
	recs := []record.Record{{SentS: 0, E2ES: 1, Status: 503, ErrorKind: llm.KindServer, Error: "down"}}
	s := stats.Summarize(recs, stats.RunInfo{Model: "m", EndedAt: time.Unix(1700000000, 0)})
	dir := t.TempDir()
	if err := WriteLLMPerf(dir, recs, s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "m_0_0_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	if m["results_ttft_s_mean"] != nil || m["results_error_rate"] != 1.0 ||
		m["results_error_code_frequency"] != "{503: 1}" || m["results_mean_output_throughput_token_per_s"] != 0.0 {
		t.Errorf("got %s", b)
	}
}

func TestWriteSummaryJSON(t *testing.T) {
	recs, run := fixture()
	path := filepath.Join(t.TempDir(), "summary.json")
	for _, s := range []*stats.Summary{stats.Summarize(nil, run), stats.Summarize(recs, run)} {
		if err := WriteSummaryJSON(path, s); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var back stats.Summary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("summary.json does not decode: %v", err)
		}
		if back.SchemaVersion != stats.SummarySchemaVersion || back.Requests != s.Requests ||
			back.Metrics.TTFT != s.Metrics.TTFT || !back.Run.EndedAt.Equal(s.Run.EndedAt) {
			t.Errorf("round trip differs:\n%s", b)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteSummaryJSON(filepath.Join(t.TempDir(), "no", "such", "dir", "s.json"), stats.Summarize(recs, run)); err == nil {
		t.Error("want an error for a missing directory")
	}
}

func TestSummaryJSONGolden(t *testing.T) {
	recs, run := fixture()
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteSummaryJSON(path, stats.Summarize(recs, run)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	golden(t, "summary.json.golden", b)
}

func TestTable(t *testing.T) {
	recs, run := fixture()
	var buf bytes.Buffer
	if err := Table(&buf, stats.Summarize(recs, run)); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", buf.Bytes())

	// An interrupted run with nothing measured still renders.
	run.Interrupted, run.StopReason = true, "interrupted"
	buf.Reset()
	if err := Table(&buf, stats.Summarize(nil, run)); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "stop: interrupted") || !strings.Contains(out, "errors       none") {
		t.Errorf("got:\n%s", out)
	}
	golden(t, "table_empty.golden", buf.Bytes())
}

// TestTableLabelsWhatTheRunWas: a non-streamed run's TTFT row says it is
// E2E; a simulator at another time scale says so; an all-failed run does
// not claim its tokens were counted locally.
func TestTableLabelsWhatTheRunWas(t *testing.T) {
	recs, run := fixture()
	run.Stream = false
	run.Sim = &stats.SimInfo{Profile: "llama2-7b-a10g", TimeScale: 0.1}
	var buf bytes.Buffer
	if err := Table(&buf, stats.Summarize(recs, run)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"TTFT (= E2E, no stream)", "TIME SCALE 0.1: runs 10× faster", "no stream"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var failed []record.Record
	for _, r := range recs {
		if !r.OK() {
			failed = append(failed, r)
		}
	}
	buf.Reset()
	if err := Table(&buf, stats.Summarize(failed, run)); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "none to count: no request succeeded") || strings.Contains(out, "counted by server 0") {
		t.Errorf("all-failed run's token line:\n%s", out)
	}
}

// A run whose client was starved says so twice: a WARNING under the
// header, and the evidence on the client line; a healthy one has only the
// client line.
func TestTableClientHealth(t *testing.T) {
	recs, run := fixture()
	s := stats.Summarize(recs, run)
	r := health.Report{WallS: 10, CPUCores: 2, CPUUtilization: 0.97, CanarySamples: 900, CanaryLagP90S: 0.0004}
	for _, limited := range []bool{false, true} {
		rep := r
		if !limited {
			rep.CPUUtilization = 0.3
		}
		a := health.Assess(rep, health.Reference{ITLP50S: 0.02})
		s.ClientHealth = &a
		var buf bytes.Buffer
		if err := Table(&buf, s); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		warned := strings.Contains(out, "WARNING      client-limited: CPU 97% of 2 cores > 90%")
		client := "client       healthy: CPU 30% of 2 cores (OS run-queue wait 0 ms/s), timer lag p90 0.40 ms"
		if limited {
			client = "client       CLIENT-LIMITED: CPU 97% of 2 cores"
		}
		if warned != limited || !strings.Contains(out, client) {
			t.Errorf("limited=%v:\n%s", limited, out)
		}
	}
}
