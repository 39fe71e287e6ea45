package analysis

import (
	"encoding"
	"errors"
	"fmt"
	"strings"

	"github.com/llmload/llmload/stats"
)

// Threshold is a pass/fail check on a run's summary, such as
// "ttft_p95<500ms" or "error_rate<0.01": a summary metric, an operator and
// a limit. Parse one with ParseThreshold or UnmarshalText.
//
// A metric is either <metric>_<stat> over a distribution of
// stats.Metrics — metric one of ttft, e2e, itl, tpot, schedule_lag (times,
// needing a unit: us, ms or s), output_speed, request_output_throughput
// (tokens/s), input_tokens, output_tokens (tokens); stat one of mean,
// median, min, max, stddev, p25, p50, p75, p90, p95, p99 — or one of the
// scalars error_rate, goodput_share (fractions: 0.01 or 1%),
// output_tokens_per_s, input_tokens_per_s, total_tokens_per_s (tokens/s),
// requests_per_s, goodput_rate_per_s (requests/s), concurrency_mean
// (requests). See docs/slo-and-thresholds.md.
//
// The zero Threshold is invalid: it never passes.
type Threshold struct {
	metric string
	op     op
	num    float64 // the limit as written, in unit
	unit   string
	limit  float64 // the limit in the metric's base unit
	m      thMetric
}

var (
	_ encoding.TextUnmarshaler = (*Threshold)(nil)
	_ encoding.TextMarshaler   = Threshold{}
)

// ThresholdResult is a threshold judged against a summary.
type ThresholdResult struct {
	// Threshold is the canonical text, e.g. "ttft_p95<500ms".
	Threshold string `json:"threshold"`
	// Metric, Op and Bound are its parts as written: "ttft_p95", "<",
	// "500ms".
	Metric string `json:"metric"`
	Op     string `json:"op"`
	Bound  string `json:"bound"`
	// Limit is the bound in the metric's base unit (Unit).
	Limit float64 `json:"limit"`
	// Value is the measured value in the base unit; 0 when there was no
	// data (see Note).
	Value float64 `json:"value"`
	// Unit is the base unit of Value and Limit: s, tokens/s, tokens,
	// requests/s, requests or fraction.
	Unit string `json:"unit"`
	// Measured is Value written in the bound's unit ("712.3ms"); empty
	// when there was no data.
	Measured string `json:"measured,omitempty"`
	// Pass tells whether Value satisfied the threshold. A metric without
	// data never passes.
	Pass bool `json:"pass"`
	// Note says why a threshold failed without a measurement.
	Note string `json:"note,omitempty"`
}

// thMetric is one metric a threshold can check.
type thMetric struct {
	kind kind
	unit string // base unit
	// get returns the value, or ok false and why there is none.
	get func(*stats.Summary) (v float64, ok bool, note string)
}

// distMetric is a distribution of stats.Metrics a threshold can read.
type distMetric struct {
	kind kind
	unit string
	get  func(*stats.Metrics) stats.Dist
	what string // for "no data" notes: "no request had a TTFT"
}

var distMetrics = map[string]distMetric{
	"ttft":                      {kindTime, "s", func(m *stats.Metrics) stats.Dist { return m.TTFT }, "no successful request had a TTFT"},
	"e2e":                       {kindTime, "s", func(m *stats.Metrics) stats.Dist { return m.E2E }, "no request succeeded"},
	"itl":                       {kindTime, "s", func(m *stats.Metrics) stats.Dist { return m.ITL }, "no successful streamed request had two content chunks"},
	"tpot":                      {kindTime, "s", func(m *stats.Metrics) stats.Dist { return m.TPOT }, "no successful streamed request had more than one output token"},
	"schedule_lag":              {kindTime, "s", func(m *stats.Metrics) stats.Dist { return m.ScheduleLag }, "no request was measured"},
	"output_speed":              {kindPlain, "tokens/s", func(m *stats.Metrics) stats.Dist { return m.OutputSpeed }, "no request had a TPOT above 0"},
	"request_output_throughput": {kindPlain, "tokens/s", func(m *stats.Metrics) stats.Dist { return m.RequestOutputThroughput }, "no successful request had an E2E above 0"},
	"input_tokens":              {kindPlain, "tokens", func(m *stats.Metrics) stats.Dist { return m.InputTokens }, "no request succeeded"},
	"output_tokens":             {kindPlain, "tokens", func(m *stats.Metrics) stats.Dist { return m.OutputTokens }, "no request succeeded"},
}

var distStats = map[string]func(stats.Dist) float64{
	"mean":   func(d stats.Dist) float64 { return d.Mean },
	"median": func(d stats.Dist) float64 { return d.Median },
	"min":    func(d stats.Dist) float64 { return d.Min },
	"max":    func(d stats.Dist) float64 { return d.Max },
	"stddev": func(d stats.Dist) float64 { return d.Stddev },
	"p25":    func(d stats.Dist) float64 { return d.P25 },
	"p50":    func(d stats.Dist) float64 { return d.P50 },
	"p75":    func(d stats.Dist) float64 { return d.P75 },
	"p90":    func(d stats.Dist) float64 { return d.P90 },
	"p95":    func(d stats.Dist) float64 { return d.P95 },
	"p99":    func(d stats.Dist) float64 { return d.P99 },
}

// Names for error messages, in documentation order.
const (
	distMetricNames = "ttft, e2e, itl, tpot, schedule_lag, output_speed, request_output_throughput, input_tokens, output_tokens"
	distStatNames   = "mean, median, min, max, stddev, p25, p50, p75, p90, p95, p99"
	scalarNames     = "error_rate, goodput_share, goodput_rate_per_s, output_tokens_per_s, input_tokens_per_s, total_tokens_per_s, requests_per_s, concurrency_mean"
)

const noRequests = "no request was measured"

// measured returns v when the run measured any request.
func measured(v func(*stats.Summary) float64) func(*stats.Summary) (float64, bool, string) {
	return func(s *stats.Summary) (float64, bool, string) {
		if s.Requests.Total == 0 {
			return 0, false, noRequests
		}
		return v(s), true, ""
	}
}

// throughput returns v when the run had a window to divide by.
func throughput(v func(*stats.Summary) float64) func(*stats.Summary) (float64, bool, string) {
	return func(s *stats.Summary) (float64, bool, string) {
		if s.Requests.Total == 0 {
			return 0, false, noRequests
		}
		if !(s.WindowS > 0) {
			return 0, false, "the measured window is 0 s"
		}
		return v(s), true, ""
	}
}

// goodput returns v when SLOs were set and judged requests.
func goodput(v func(*stats.Goodput) float64) func(*stats.Summary) (float64, bool, string) {
	return func(s *stats.Summary) (float64, bool, string) {
		switch {
		case s.Goodput == nil:
			return 0, false, "no SLO was set: goodput needs at least one --slo"
		case s.Goodput.Requests == 0:
			return 0, false, noRequests
		}
		return v(s.Goodput), true, ""
	}
}

var scalarMetrics = map[string]thMetric{
	"error_rate":          {kindFraction, "fraction", measured(func(s *stats.Summary) float64 { return s.ErrorRate })},
	"goodput_share":       {kindFraction, "fraction", goodput(func(g *stats.Goodput) float64 { return g.Share })},
	"goodput_rate_per_s":  {kindPlain, "requests/s", goodput(func(g *stats.Goodput) float64 { return g.RatePerS })},
	"output_tokens_per_s": {kindPlain, "tokens/s", throughput(func(s *stats.Summary) float64 { return s.Throughput.OutputTokensPerS })},
	"input_tokens_per_s":  {kindPlain, "tokens/s", throughput(func(s *stats.Summary) float64 { return s.Throughput.InputTokensPerS })},
	"total_tokens_per_s":  {kindPlain, "tokens/s", throughput(func(s *stats.Summary) float64 { return s.Throughput.TotalTokensPerS })},
	"requests_per_s":      {kindPlain, "requests/s", throughput(func(s *stats.Summary) float64 { return s.Throughput.RequestsPerS })},
	"concurrency_mean":    {kindPlain, "requests", throughput(func(s *stats.Summary) float64 { return s.Concurrency.Mean })},
}

// lookupMetric resolves a threshold's metric name.
func lookupMetric(name string) (thMetric, error) {
	if m, ok := scalarMetrics[name]; ok {
		return m, nil
	}
	if _, ok := distMetrics[name]; ok {
		return thMetric{}, fmt.Errorf("%q is a distribution and needs a statistic, e.g. %s_p95 (statistics: %s)", name, name, distStatNames)
	}
	i := strings.LastIndexByte(name, '_')
	if i > 0 {
		dm, okM := distMetrics[name[:i]]
		stat, okS := distStats[name[i+1:]]
		switch {
		case okM && okS:
			return thMetric{dm.kind, dm.unit, func(s *stats.Summary) (float64, bool, string) {
				d := dm.get(&s.Metrics)
				if d.Count == 0 {
					return 0, false, "no data: " + dm.what
				}
				return stat(d), true, ""
			}}, nil
		case okM:
			return thMetric{}, fmt.Errorf("unknown statistic %q of %s (valid: %s)", name[i+1:], name[:i], distStatNames)
		}
	}
	return thMetric{}, fmt.Errorf("unknown metric %q (valid: <metric>_<stat> with metric one of %s and stat one of %s; or one of %s)",
		name, distMetricNames, distStatNames, scalarNames)
}

// ParseThreshold parses "<metric><op><limit>", e.g. "ttft_p95<500ms",
// "error_rate<0.01", "error_rate<1%", "output_tokens_per_s>100".
// Operators: <=, <, >=, >. Times need a unit (us, ms or s); fractions take
// a bare number or a percentage; other metrics a bare number. The limit
// must not be negative.
func ParseThreshold(s string) (Threshold, error) {
	name, o, value, err := splitOp(s)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w; e.g. ttft_p95<500ms", s, err)
	}
	m, err := lookupMetric(name)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", s, err)
	}
	num, unit, limit, err := parseValue(value, m.kind)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", s, err)
	}
	return Threshold{metric: name, op: o, num: num, unit: unit, limit: limit, m: m}, nil
}

// ParseThresholds parses every string, and returns every error joined.
func ParseThresholds(ss []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(ss))
	var errs []error
	for _, s := range ss {
		t, err := ParseThreshold(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// String returns the canonical text: "ttft_p95<500ms".
func (t Threshold) String() string {
	if t.metric == "" {
		return ""
	}
	return t.metric + string(t.op) + formatLimit(t.num, t.unit)
}

// MarshalText returns the canonical text.
func (t Threshold) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses text as ParseThreshold does.
func (t *Threshold) UnmarshalText(text []byte) error {
	v, err := ParseThreshold(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Evaluate judges the threshold against s. A metric with no data (a
// distribution with Count 0, no request at all, a zero window, goodput
// without SLOs) fails, with a Note saying why: a check that cannot be made
// never passes silently.
func (t Threshold) Evaluate(s *stats.Summary) ThresholdResult {
	res := ThresholdResult{Threshold: t.String(), Metric: t.metric, Op: string(t.op),
		Bound: formatLimit(t.num, t.unit), Limit: t.limit, Unit: t.m.unit}
	switch {
	case t.m.get == nil:
		res.Note = "invalid threshold"
		return res
	case s == nil:
		res.Note = "no summary"
		return res
	}
	v, ok, note := t.m.get(s)
	if !ok {
		res.Note = note
		return res
	}
	res.Value = v
	res.Measured = formatIn(v, t.unit)
	res.Pass = t.op.holds(v, t.limit)
	return res
}

// EvaluateAll judges every threshold against s, in order; allPass is true
// when every one passed (and for none).
func EvaluateAll(ts []Threshold, s *stats.Summary) (results []ThresholdResult, allPass bool) {
	allPass = true
	results = make([]ThresholdResult, len(ts))
	for i, t := range ts {
		results[i] = t.Evaluate(s)
		allPass = allPass && results[i].Pass
	}
	return results, allPass
}
