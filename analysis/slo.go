package analysis

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// SLO is a per-request service level objective, such as "ttft<=500ms":
// a metric of one request, an operator and a limit. Parse one with
// ParseSLO or through UnmarshalText (flags and YAML share the parser).
//
// The metrics, all per request and defined as in docs/metrics.md:
//
//	ttft          time to first token (s)
//	tpot          time per output token after the first (s)
//	e2e           end-to-end latency (s)
//	itl           the request's largest inter-token gap (s)
//	output_speed  1/TPOT (tokens/s)
//
// Times need a unit (us, ms or s); output_speed is a bare number.
//
// The zero SLO is invalid: it is met by no request.
type SLO struct {
	metric string
	op     op
	num    float64 // the limit as written, in unit
	unit   string
	limit  float64 // the limit in the metric's base unit
}

var (
	_ encoding.TextUnmarshaler = (*SLO)(nil)
	_ encoding.TextMarshaler   = SLO{}
)

// sloMetric is one metric an SLO can judge.
type sloMetric struct {
	kind kind
	// get returns the request's value and whether it has one.
	get func(*record.Record) (float64, bool)
}

var sloMetrics = map[string]sloMetric{
	"ttft":         {kindTime, stats.TTFT},
	"tpot":         {kindTime, stats.TPOT},
	"e2e":          {kindTime, e2e},
	"itl":          {kindTime, stats.MaxITL},
	"output_speed": {kindPlain, stats.OutputSpeed},
}

// sloMetricNames lists sloMetrics in documentation order.
const sloMetricNames = "ttft, tpot, e2e, itl (the request's largest gap), output_speed (tokens/s)"

// e2e is the E2E latency of a successful request.
func e2e(r *record.Record) (float64, bool) {
	return r.E2ES, r.OK() && !math.IsNaN(r.E2ES)
}

// ParseSLO parses "<metric><op><limit>", e.g. "ttft<=500ms", "tpot<100ms",
// "e2e<=10s", "itl<=200ms", "output_speed>=20". Operators: <=, <, >=, >.
// Spaces around the parts are allowed. The limit must not be negative;
// times need a unit (us, ms or s).
func ParseSLO(s string) (SLO, error) {
	name, o, value, err := splitOp(s)
	if err != nil {
		return SLO{}, fmt.Errorf("slo %q: %w; e.g. ttft<=500ms", s, err)
	}
	m, ok := sloMetrics[name]
	if !ok {
		return SLO{}, fmt.Errorf("slo %q: unknown metric %q (valid: %s)", s, name, sloMetricNames)
	}
	num, unit, limit, err := parseValue(value, m.kind)
	if err != nil {
		return SLO{}, fmt.Errorf("slo %q: %w", s, err)
	}
	return SLO{metric: name, op: o, num: num, unit: unit, limit: limit}, nil
}

// MustParseSLO is ParseSLO for constants known to be valid; it panics on
// an error.
func MustParseSLO(s string) SLO {
	slo, err := ParseSLO(s)
	if err != nil {
		panic(err)
	}
	return slo
}

// ParseSLOs parses every string, and returns every error joined.
func ParseSLOs(ss []string) ([]SLO, error) {
	out := make([]SLO, 0, len(ss))
	var errs []error
	for _, s := range ss {
		slo, err := ParseSLO(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, slo)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// String returns the canonical text: "ttft<=500ms".
func (s SLO) String() string {
	if s.metric == "" {
		return ""
	}
	return s.metric + string(s.op) + formatLimit(s.num, s.unit)
}

// MarshalText returns the canonical text.
// Metric names the metric the SLO judges: ttft, tpot, e2e, itl or
// output_speed.
func (s SLO) Metric() string { return s.metric }

// Limit is the SLO's limit in the metric's base unit: seconds for times,
// tokens/s for output_speed.
func (s SLO) Limit() float64 { return s.limit }

func (s SLO) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses text as ParseSLO does.
func (s *SLO) UnmarshalText(text []byte) error {
	v, err := ParseSLO(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Met reports whether the request r meets the objective.
//
// The rule is strict: a failed request never meets an SLO, and neither
// does a request that lacks the metric — a TPOT or output_speed SLO is not
// met by a request with one output token or a non-streamed response, an
// itl SLO not by one with fewer than two content chunks. A request that
// cannot show it met an objective is not counted as meeting it; the
// per-objective counts of Goodput show which objective lost it.
func (s SLO) Met(r *record.Record) bool {
	m, ok := sloMetrics[s.metric]
	if !ok || r == nil || !r.OK() {
		return false
	}
	v, ok := m.get(r)
	if !ok || math.IsNaN(v) {
		return false
	}
	return s.op.holds(v, s.limit)
}

// Goodput judges every non-warm-up request of recs against every SLO and
// counts those that met all of them; RatePerS divides by windowS (the
// summary's window_s; 0 when windowS ≤ 0). Failed requests are judged
// (and never meet an SLO): goodput is a share of everything asked. An SLO
// given twice counts once. With no SLO, the requests that met every SLO
// are the successful ones.
func Goodput(recs []record.Record, slos []SLO, windowS float64) stats.Goodput {
	var uniq []SLO
	for _, s := range slos {
		if !slices.ContainsFunc(uniq, func(u SLO) bool { return u.String() == s.String() }) {
			uniq = append(uniq, s)
		}
	}
	g := stats.Goodput{SLOs: make([]string, len(uniq)), ByObjective: make(map[string]int, len(uniq))}
	for i, s := range uniq {
		g.SLOs[i] = s.String()
		g.ByObjective[s.String()] = 0
	}
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried {
			continue
		}
		g.Requests++
		all := r.OK()
		for _, s := range uniq {
			if s.Met(r) {
				g.ByObjective[s.String()]++
			} else {
				all = false
			}
		}
		if all {
			g.Met++
		}
	}
	if g.Requests > 0 {
		g.Share = float64(g.Met) / float64(g.Requests)
	}
	if windowS > 0 && !math.IsInf(windowS, 0) {
		g.RatePerS = float64(g.Met) / windowS
	}
	return g
}
