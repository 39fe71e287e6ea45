package analysis

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/stats"
)

// thSummary is a crafted summary: every number below is what the
// thresholds read.
func thSummary() *stats.Summary {
	return &stats.Summary{
		Requests:   stats.Requests{Total: 40, Succeeded: 37, Failed: 3},
		ErrorRate:  0.075,
		WindowS:    20,
		Throughput: stats.Throughput{OutputTokensPerS: 150, InputTokensPerS: 600, TotalTokensPerS: 750, RequestsPerS: 1.85},
		Metrics: stats.Metrics{
			TTFT:         stats.Dist{Count: 37, Mean: 0.3, Median: 0.25, Min: 0.1, Max: 0.9, Stddev: 0.05, P25: 0.2, P50: 0.25, P75: 0.4, P90: 0.6, P95: 0.7123, P99: 0.85},
			E2E:          stats.Dist{Count: 37, Mean: 4, P99: 9.5},
			ITL:          stats.Dist{Count: 300, P99: 0.12},
			OutputSpeed:  stats.Dist{Count: 37, P50: 25, Min: 12},
			InputTokens:  stats.Dist{Count: 37, Mean: 512},
			OutputTokens: stats.Dist{Count: 37, Max: 256},
			ScheduleLag:  stats.Dist{Count: 40, P99: 0.0004},
			// TPOT and request output throughput: no data (Count 0).
		},
		Concurrency: stats.Concurrency{Mean: 7.5, Max: 9},
	}
}

func TestThresholdEvaluate(t *testing.T) {
	s := thSummary()
	tests := []struct {
		th       string
		pass     bool
		value    float64
		measured string
		unit     string
	}{
		{"ttft_p95<500ms", false, 0.7123, "712.3ms", "s"},        // the docs' example
		{"ttft_p95<1s", true, 0.7123, "0.7123s", "s"},            // measured in the bound's unit
		{"ttft_p95>=0", true, 0.7123, "0.7123s", "s"},            // zero needs no unit
		{"schedule_lag_p99<1s", true, 0.0004, "0.0004000s", "s"}, // small values keep their digits
		{"ttft_median<=250ms", true, 0.25, "250.0ms", "s"},       // <= includes equality
		{"ttft_p50<250ms", false, 0.25, "250.0ms", "s"},          // < does not
		{"ttft_min>=100ms", true, 0.1, "100.0ms", "s"},           // min
		{"ttft_stddev<60ms", true, 0.05, "50.00ms", "s"},         // stddev is a time too
		{"e2e_p99<=10s", true, 9.5, "9.500s", "s"},               // e2e
		{"itl_p99<100000us", false, 0.12, "120000us", "s"},       // microseconds
		{"schedule_lag_p99<1ms", true, 0.0004, "0.4000ms", "s"},  // schedule lag
		{"output_speed_p50>=20", true, 25, "25.00", "tokens/s"},
		{"output_speed_min>15", false, 12, "12.00", "tokens/s"},
		{"input_tokens_mean>=500", true, 512, "512.0", "tokens"},
		{"output_tokens_max<=256", true, 256, "256.0", "tokens"},
		{"error_rate<0.01", false, 0.075, "0.07500", "fraction"},
		{"error_rate<=10%", true, 0.075, "7.500%", "fraction"},
		{"output_tokens_per_s>100", true, 150, "150.0", "tokens/s"},
		{"input_tokens_per_s>=600", true, 600, "600.0", "tokens/s"},
		{"total_tokens_per_s>1000", false, 750, "750.0", "tokens/s"},
		{"requests_per_s>=2", false, 1.85, "1.850", "requests/s"},
		{"concurrency_mean<8", true, 7.5, "7.500", "requests"},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.th)
		if err != nil {
			t.Errorf("%s: %v", tt.th, err)
			continue
		}
		r := th.Evaluate(s)
		if r.Pass != tt.pass || r.Value != tt.value || r.Measured != tt.measured || r.Unit != tt.unit || r.Note != "" {
			t.Errorf("%s: %+v, want pass %v value %g measured %q unit %q", tt.th, r, tt.pass, tt.value, tt.measured, tt.unit)
		}
	}
	r := mustThreshold(t, "ttft_p95 < 500ms").Evaluate(s)
	if r.Threshold != "ttft_p95<500ms" || r.Metric != "ttft_p95" || r.Op != "<" || r.Bound != "500ms" || r.Limit != 0.5 {
		t.Errorf("parts: %+v", r)
	}
}

func mustThreshold(t *testing.T, s string) Threshold {
	t.Helper()
	th, err := ParseThreshold(s)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestThresholdNoData(t *testing.T) {
	s := thSummary()
	tests := []struct {
		th   string
		note string
	}{
		{"tpot_p95<80ms", "no data: no successful streamed request had more than one output token"},
		{"request_output_throughput_mean>1", "no data"},
		// A "<" on an empty distribution would pass on its zero value; it must not.
		{"tpot_mean<1s", "no data"},
		{"goodput_share>=0.9", "no SLO was set"},
		{"goodput_rate_per_s>=1", "no SLO was set"},
	}
	for _, tt := range tests {
		r := mustThreshold(t, tt.th).Evaluate(s)
		if r.Pass || !strings.Contains(r.Note, tt.note) || r.Measured != "" {
			t.Errorf("%s: %+v, want a failure noting %q", tt.th, r, tt.note)
		}
	}
	// Nothing measured at all: even error_rate<=0 and a lag bound fail.
	empty := &stats.Summary{}
	for _, th := range []string{"error_rate<=0", "schedule_lag_p99<1s", "requests_per_s>=0", "concurrency_mean<1"} {
		if r := mustThreshold(t, th).Evaluate(empty); r.Pass || r.Note == "" {
			t.Errorf("%s on an empty run: %+v", th, r)
		}
	}
	// A zero window fails throughput checks but not error_rate.
	zw := &stats.Summary{Requests: stats.Requests{Total: 1, Failed: 1}, ErrorRate: 1}
	if r := mustThreshold(t, "output_tokens_per_s>=0").Evaluate(zw); r.Pass || !strings.Contains(r.Note, "window") {
		t.Errorf("zero window: %+v", r)
	}
	if r := mustThreshold(t, "error_rate<=100%").Evaluate(zw); !r.Pass {
		t.Errorf("error_rate on a zero window: %+v", r)
	}
	if r := mustThreshold(t, "error_rate<1").Evaluate(nil); r.Pass || r.Note != "no summary" {
		t.Errorf("nil summary: %+v", r)
	}
	if r := (Threshold{}).Evaluate(s); r.Pass {
		t.Errorf("zero threshold passed: %+v", r)
	}
}

func TestThresholdGoodput(t *testing.T) {
	s := thSummary()
	s.Goodput = &stats.Goodput{Requests: 40, Met: 36, Share: 0.9, RatePerS: 1.8}
	for th, pass := range map[string]bool{
		"goodput_share>=0.9": true, "goodput_share>90%": false, "goodput_rate_per_s>=1.8": true,
	} {
		if r := mustThreshold(t, th).Evaluate(s); r.Pass != pass {
			t.Errorf("%s: %+v, want pass %v", th, r, pass)
		}
	}
	s.Goodput = &stats.Goodput{}
	if r := mustThreshold(t, "goodput_share>=0").Evaluate(s); r.Pass || r.Note != noRequests {
		t.Errorf("goodput over nothing: %+v", r)
	}
}

func TestEvaluateAll(t *testing.T) {
	ths, err := ParseThresholds([]string{"ttft_p95<1s", "error_rate<0.01"})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := EvaluateAll(ths, thSummary())
	if ok || len(res) != 2 || !res[0].Pass || res[1].Pass {
		t.Errorf("EvaluateAll = %+v, %v", res, ok)
	}
	if res, ok := EvaluateAll(ths[:1], thSummary()); !ok || len(res) != 1 {
		t.Errorf("one passing: %v", ok)
	}
	if _, ok := EvaluateAll(nil, nil); !ok {
		t.Error("no thresholds: all pass")
	}
}

func TestParseThresholdErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ttft<500ms", []string{`"ttft" is a distribution and needs a statistic`, "ttft_p95", "p99"}},
		{"ttft_p42<500ms", []string{`unknown statistic "p42" of ttft`, "p25, p50"}},
		{"latency_p95<1s", []string{`unknown metric "latency_p95"`, "ttft, e2e", "error_rate", "concurrency_mean"}},
		{"ttft_p95<500", []string{"needs a unit (us, ms or s)"}},
		{"error_rate<1s", []string{`unit "s"`, "0.01", "1%"}},
		{"output_tokens_per_s>100tok", []string{`unit "tok"`, "bare number"}},
		{"requests_per_s=>2", []string{`operator "=>"`}},
		{"error_rate", []string{"no comparison operator", "e.g. ttft_p95<500ms"}},
		{"error_rate<-0.1", []string{"negative"}},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(tt.in)
		if err == nil {
			t.Errorf("ParseThreshold(%q): no error", tt.in)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseThreshold(%q) error %q lacks %q", tt.in, err, w)
			}
		}
	}
	// Every distribution metric and statistic parses.
	for m := range distMetrics {
		for st := range distStats {
			bound := "1"
			if distMetrics[m].kind == kindTime {
				bound = "1s"
			}
			if _, err := ParseThreshold(m + "_" + st + "<" + bound); err != nil {
				t.Error(err)
			}
		}
	}
	var th Threshold
	if err := th.UnmarshalText([]byte("e2e_p99 <= 10s")); err != nil || th.String() != "e2e_p99<=10s" {
		t.Errorf("UnmarshalText: %v %q", err, th)
	}
	if b, _ := th.MarshalText(); string(b) != "e2e_p99<=10s" {
		t.Errorf("MarshalText: %s", b)
	}
	if _, err := ParseThresholds([]string{"a<1", "b<2"}); err == nil || strings.Count(err.Error(), "unknown metric") != 2 {
		t.Errorf("ParseThresholds joins errors: %v", err)
	}
}
