package report

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// LLMPerf compatibility.
//
// We follow ray-project/llmperf (https://github.com/ray-project/llmperf):
//   - token_benchmark_ray.py: run_token_benchmark (file names),
//     get_token_throughput_latencies (per-request post-processing) and
//     metrics_summary (the summary);
//   - src/llmperf/common_metrics.py: the key names;
//   - src/llmperf/utils.py: LLMPerfResults.to_dict and flatten_dict (the
//     summary is the metadata dict flattened with "_": results.ttft_s.
//     quantiles.p25 becomes results_ttft_s_quantiles_p25), RESULTS_VERSION;
//   - src/llmperf/ray_clients/openai_chat_completions_client.py: what each
//     per-request value means.
//
// What LLMPerf does, and we reproduce:
//   - Per request (individual responses, in completion order, errors
//     included): inter_token_latency_s is sum(time_to_next_token) / n_out,
//     where time_to_next_token holds TTFT and then the gap before each
//     later content chunk — so the sum is the arrival of the last content
//     chunk, and this "ITL" includes TTFT (0 when n_out is 0).
//     request_output_throughput_token_per_s is n_out / end_to_end_latency_s
//     (0 when E2E is 0). number_total_tokens = input + output. A failed
//     request keeps error_code (the HTTP status, or -1 when there was
//     none) and error_msg, its E2E is 0 (LLMPerf sets it only on success)
//     and so is its throughput; its TTFT is kept if output had arrived.
//   - The summary describes the successful requests only (error_code is
//     null) for inter_token_latency_s, ttft_s, end_to_end_latency_s,
//     request_output_throughput_token_per_s, number_input_tokens and
//     number_output_tokens: quantiles p25 p50 p75 p90 p95 p99 (pandas,
//     linear), mean, min, max, stddev (ddof=1) — stats.Describe computes
//     them the same way. num_requests_started counts every request,
//     error_rate = errors/started, error_code_frequency is str() of a
//     Python dict {code: count}, mean_output_throughput_token_per_s is
//     Σ n_out of successes / test time, num_completed_requests counts
//     successes and num_completed_requests_per_min = that / time × 60.
//   - json.dump(..., indent=4, default=str): the min and max of the token
//     counts are numpy int64, which json cannot encode, so LLMPerf writes
//     them as strings ("131"); we write them the same way.
//
// Where we differ, necessarily: test time is stats.Summary.WindowS (first
// send to last end; LLMPerf times from before its first send to after its
// loop); token counts are the Record's (the server's usage when reported,
// not LLMPerf's Llama tokenizer); values LLMPerf would write as NaN (no
// successes, stddev of one value) are null, because NaN is not JSON;
// additional_sampling_params is not known here and, being empty, is
// omitted, as flatten_dict omits an empty dict; warm-up requests are left
// out (LLMPerf has none).

// llmperfResultsVersion is LLMPerf's RESULTS_VERSION (src/llmperf/utils.py).
const llmperfResultsVersion = "2023-08-31"

// LLMPerfName returns LLMPerf's file-name stem for a run, as
// run_token_benchmark builds it: f"{model}_{mean_input}_{mean_output}",
// then re.sub(r"[^\w\d-]+", "-", ·) and re.sub(r"-{2,}", "-", ·). Python's
// \w is Unicode-aware: letters, numbers and "_". For example
// ("meta-llama/Llama-2-7b-chat-hf", 550, 150) gives
// "meta-llama-Llama-2-7b-chat-hf_550_150".
func LLMPerfName(model string, meanIn, meanOut int) string {
	name := fmt.Sprintf("%s_%d_%d", model, meanIn, meanOut)
	var b strings.Builder
	inRun := false
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-' {
			b.WriteRune(r)
			inRun = false
			continue
		}
		if !inRun {
			b.WriteByte('-')
			inRun = true
		}
	}
	// -{2,} → -
	var out strings.Builder
	prevDash := false
	for _, r := range b.String() {
		if r == '-' && prevDash {
			continue
		}
		prevDash = r == '-'
		out.WriteRune(r)
	}
	return out.String()
}

// WriteLLMPerf writes LLMPerf's two result files for a run into dir
// (created if needed): <stem>_summary.json and
// <stem>_individual_responses.json, stem = LLMPerfName(model, mean input
// tokens, mean output tokens) from s.Run. recs are the run's records;
// warm-up ones are left out. Each file is written atomically.
func WriteLLMPerf(dir string, recs []record.Record, s *stats.Summary) error {
	if s == nil {
		return errors.New("llmperf: nil summary")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("llmperf: %w", err)
	}
	rows := llmperfRows(recs)
	if s.Run.MeanInputTokens == 0 {
		// A fixed prompt, a prompt file or a mix sets no input length
		// distribution: LLMPerf's parameter is what was sent.
		c := *s
		c.Run.MeanInputTokens, c.Run.StddevInputTokens = measuredInput(rows)
		s = &c
	}
	stem := LLMPerfName(s.Run.Model, s.Run.MeanInputTokens, s.Run.MeanOutputTokens)
	ind := make([]any, len(rows))
	for i, r := range rows {
		ind[i] = r.object()
	}
	if err := writeFileAtomic(filepath.Join(dir, stem+"_summary.json"), pyDump(llmperfSummary(stem, rows, s))); err != nil {
		return fmt.Errorf("llmperf: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, stem+"_individual_responses.json"), pyDump(ind)); err != nil {
		return fmt.Errorf("llmperf: %w", err)
	}
	return nil
}

// measuredInput returns the mean and standard deviation of the input
// tokens of rows, rounded to whole tokens.
func measuredInput(rows []llmperfRow) (mean, stddev int) {
	xs := make([]float64, 0, len(rows))
	for _, r := range rows {
		if r.nIn > 0 {
			xs = append(xs, float64(r.nIn))
		}
	}
	d := stats.Describe(xs)
	if d.Count == 0 {
		return 0, 0
	}
	return int(math.Round(d.Mean)), int(math.Round(d.Stddev))
}

// pyNum is a number as LLMPerf holds it: a Python int (LLMPerf's literal 0
// defaults) or a float.
type pyNum struct {
	isInt bool
	f     float64
}

func pyIntNum(i int) pyNum       { return pyNum{isInt: true, f: float64(i)} }
func pyFloatNum(f float64) pyNum { return pyNum{f: f} }

func (n pyNum) value() any {
	if n.isInt {
		return pyInt(n.f)
	}
	return n.f
}

// llmperfRow is one of LLMPerf's individual responses.
type llmperfRow struct {
	errorCode *int // nil: success
	errorMsg  string
	// The six metrics, in common_metrics order of the summary:
	// inter_token_latency_s, ttft_s, end_to_end_latency_s,
	// request_output_throughput_token_per_s, number_input_tokens,
	// number_output_tokens.
	itl, ttft, e2e, tput pyNum
	nIn, nOut            int
}

// llmperfMetricKeys are the metrics metrics_summary describes, in its order.
var llmperfMetricKeys = []string{
	"inter_token_latency_s",
	"ttft_s",
	"end_to_end_latency_s",
	"request_output_throughput_token_per_s",
	"number_input_tokens",
	"number_output_tokens",
}

func (r *llmperfRow) metric(i int) pyNum {
	switch i {
	case 0:
		return r.itl
	case 1:
		return r.ttft
	case 2:
		return r.e2e
	case 3:
		return r.tput
	case 4:
		return pyIntNum(r.nIn)
	default:
		return pyIntNum(r.nOut)
	}
}

// object is the row as LLMPerf writes it, keys in its order (the client's
// metrics dict, updated in place by get_token_throughput_latencies).
func (r *llmperfRow) object() pyObject {
	var o pyObject
	if r.errorCode == nil {
		o.add("error_code", nil)
	} else {
		o.add("error_code", pyInt(*r.errorCode))
	}
	o.add("error_msg", r.errorMsg)
	o.add("inter_token_latency_s", r.itl.value())
	o.add("ttft_s", r.ttft.value())
	o.add("end_to_end_latency_s", r.e2e.value())
	o.add("request_output_throughput_token_per_s", r.tput.value())
	o.add("number_total_tokens", pyInt(r.nIn+r.nOut))
	o.add("number_output_tokens", pyInt(r.nOut))
	o.add("number_input_tokens", pyInt(r.nIn))
	return o
}

// llmperfRows converts non-warm-up records into LLMPerf individual
// responses, in the order given.
func llmperfRows(recs []record.Record) []llmperfRow {
	rows := make([]llmperfRow, 0, len(recs))
	for i := range recs {
		rec := &recs[i]
		if rec.Warmup || rec.Retried {
			continue // LLMPerf knows requests, not attempts
		}
		row := llmperfRow{nIn: rec.InputTokens, nOut: rec.OutputTokens}
		ok := rec.OK()
		if !ok {
			// LLMPerf: the HTTP status when it was not 200, else -1.
			code := -1
			if rec.Status != 0 && (rec.Status < 200 || rec.Status > 299) {
				code = rec.Status
			}
			row.errorCode = &code
			row.errorMsg = rec.Error
		}
		// ttft: the first content chunk; LLMPerf's initial value 0 (an
		// int) when none arrived.
		ttft, hasTTFT := stats.TTFT(rec)
		if hasTTFT && ttft > 0 {
			row.ttft = pyFloatNum(ttft)
		} else {
			row.ttft = pyIntNum(0)
		}
		// sum(time_to_next_token) = TTFT + every later gap = the last
		// content chunk's arrival; divided by n_out.
		last := 0.0
		if n := len(rec.ChunkTimesS); n > 0 {
			last = rec.ChunkTimesS[n-1]
		} else if hasTTFT {
			last = ttft
		}
		if rec.OutputTokens != 0 {
			row.itl = pyFloatNum(last / float64(rec.OutputTokens))
		} else {
			row.itl = pyIntNum(0)
		}
		// total_request_time is set only when the request completed.
		if ok && rec.E2ES > 0 {
			row.e2e = pyFloatNum(rec.E2ES)
			row.tput = pyFloatNum(float64(rec.OutputTokens) / rec.E2ES)
		} else {
			row.e2e = pyIntNum(0)
			row.tput = pyIntNum(0)
		}
		rows = append(rows, row)
	}
	return rows
}

// llmperfSummary builds LLMPerf's summary file, keys in its order.
func llmperfSummary(stem string, rows []llmperfRow, s *stats.Summary) pyObject {
	var o pyObject
	o.add("version", llmperfResultsVersion)
	o.add("name", stem+"_summary")
	o.add("model", s.Run.Model)
	o.add("mean_input_tokens", pyInt(s.Run.MeanInputTokens))
	o.add("stddev_input_tokens", pyInt(s.Run.StddevInputTokens))
	o.add("mean_output_tokens", pyInt(s.Run.MeanOutputTokens))
	o.add("stddev_output_tokens", pyInt(s.Run.StddevOutputTokens))
	// LLMPerf's closed loop always has a cap; a shape without one (interval
	// batches, an uncapped open loop) reports the measured peak instead.
	conc := s.Run.Concurrency
	if conc == 0 {
		conc = s.Concurrency.Max
	}
	o.add("num_concurrent_requests", pyInt(conc))
	// additional_sampling_params: {} flattens to nothing.

	var ok []*llmperfRow
	for i := range rows {
		if rows[i].errorCode == nil {
			ok = append(ok, &rows[i])
		}
	}
	for k, key := range llmperfMetricKeys {
		// The DataFrame column is int64 when every row (errors too) holds
		// an int; then min and max are numpy ints, written as strings.
		intCol := true
		for i := range rows {
			intCol = intCol && rows[i].metric(k).isInt
		}
		xs := make([]float64, len(ok))
		for i, r := range ok {
			xs[i] = r.metric(k).f
		}
		d := stats.Describe(xs)
		p := "results_" + key + "_"
		nan := d.Count == 0
		q := func(v float64) any {
			if nan {
				return nil
			}
			return v
		}
		o.add(p+"quantiles_p25", q(d.P25))
		o.add(p+"quantiles_p50", q(d.P50))
		o.add(p+"quantiles_p75", q(d.P75))
		o.add(p+"quantiles_p90", q(d.P90))
		o.add(p+"quantiles_p95", q(d.P95))
		o.add(p+"quantiles_p99", q(d.P99))
		o.add(p+"mean", q(d.Mean))
		minMax := func(v float64) any {
			if nan {
				return nil
			}
			if intCol {
				return strconv.FormatInt(int64(v), 10)
			}
			return v
		}
		o.add(p+"min", minMax(d.Min))
		o.add(p+"max", minMax(d.Max))
		if d.Count < 2 {
			o.add(p+"stddev", nil) // pandas: NaN
		} else {
			o.add(p+"stddev", d.Stddev)
		}
	}

	started := len(rows)
	nErr := started - len(ok)
	o.add("results_num_requests_started", pyInt(started))
	if started > 0 {
		o.add("results_error_rate", float64(nErr)/float64(started))
	} else {
		o.add("results_error_rate", pyInt(0))
	}
	o.add("results_number_errors", pyInt(nErr))
	o.add("results_error_code_frequency", errorCodeFrequency(rows, len(ok) > 0))

	w := s.WindowS
	var sumOut int
	for _, r := range ok {
		sumOut += r.nOut
	}
	perS := func(v float64) any {
		if w <= 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil // LLMPerf divides by zero
		}
		return v / w
	}
	o.add("results_mean_output_throughput_token_per_s", perS(float64(sumOut)))
	o.add("results_num_completed_requests", pyInt(len(ok)))
	if v := perS(float64(len(ok))); v != nil {
		o.add("results_num_completed_requests_per_min", v.(float64)*60)
	} else {
		o.add("results_num_completed_requests_per_min", nil)
	}
	o.add("timestamp", pyInt(timestamp(s.Run.EndedAt)))
	return o
}

// errorCodeFrequency is str(dict(error_codes.value_counts())) as LLMPerf
// writes it: codes by descending count, ties in order of first appearance.
// The error_code column is float64 when some rows are null (successes), so
// the keys print as 429.0; int64 when every request failed (429). This is
// numpy 1's repr; numpy 2 would print np.float64(429.0).
func errorCodeFrequency(rows []llmperfRow, anyNull bool) string {
	var codes []int
	counts := map[int]int{}
	for i := range rows {
		c := rows[i].errorCode
		if c == nil {
			continue
		}
		if counts[*c] == 0 {
			codes = append(codes, *c)
		}
		counts[*c]++
	}
	// Stable: ties keep first-appearance order.
	for i := 1; i < len(codes); i++ {
		for j := i; j > 0 && counts[codes[j]] > counts[codes[j-1]]; j-- {
			codes[j], codes[j-1] = codes[j-1], codes[j]
		}
	}
	parts := make([]string, len(codes))
	for i, c := range codes {
		k := strconv.Itoa(c)
		if anyNull {
			k += ".0"
		}
		parts[i] = fmt.Sprintf("%s: %d", k, counts[c])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// timestamp is LLMPerf's int(time.time()) at writing; we use the run's end
// so that a report rebuilt offline is identical.
func timestamp(end time.Time) int64 {
	if end.IsZero() {
		return time.Now().Unix()
	}
	return end.Unix()
}
