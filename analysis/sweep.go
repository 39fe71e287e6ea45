package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

// SweepSchemaVersion is the version of the SweepSummary JSON schema
// (sweep.json). A change of meaning bumps it.
const SweepSchemaVersion = 1

// Sweep kinds.
const (
	SweepConcurrency = "concurrency" // levels are closed-loop worker counts
	SweepRate        = "rate"        // levels are open-loop rates, requests/s
	SweepBatchSize   = "batch_size"  // levels are batch sizes (batch modes)
)

// SweepRow is one level of a sweep: the numbers of its summary that a
// latency-throughput curve needs. Times are seconds.
type SweepRow struct {
	// Level is the concurrency or the rate (requests/s) of the level.
	Level float64 `json:"level"`
	// Dir is the level's sub-directory of the sweep's run directory.
	Dir string `json:"dir"`
	// Group names the series the level belongs to in an experiment that
	// sweeps several endpoints or prompt mixes (its case without the
	// level); empty in a plain sweep.
	Group string `json:"group,omitempty"`

	Requests         int     `json:"requests"`
	Succeeded        int     `json:"succeeded"`
	ErrorRate        float64 `json:"error_rate"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	RequestsPerS     float64 `json:"requests_per_s"`

	// OutputSpeed* are percentiles of per-request decode speed, 1/TPOT,
	// tokens/s.
	OutputSpeedP25 float64 `json:"output_speed_p25_tokens_per_s"`
	OutputSpeedP50 float64 `json:"output_speed_p50_tokens_per_s"`
	OutputSpeedP75 float64 `json:"output_speed_p75_tokens_per_s"`

	TTFTP50 float64 `json:"ttft_p50_s"`
	TTFTP90 float64 `json:"ttft_p90_s"`
	TTFTP99 float64 `json:"ttft_p99_s"`
	E2EP50  float64 `json:"e2e_p50_s"`
	E2EP90  float64 `json:"e2e_p90_s"`
	E2EP99  float64 `json:"e2e_p99_s"`

	ConcurrencyMean float64 `json:"concurrency_mean"`
	ConcurrencyMax  int     `json:"concurrency_max"`
	// Timeouts counts requests that failed with error kind "timeout".
	Timeouts int `json:"timeouts"`
	// GoodputShare is the level's goodput share; nil when no SLO was set.
	GoodputShare *float64 `json:"goodput_share,omitempty"`
	// StoppedEarly is the StopCheck reason when this level ended the
	// sweep; empty otherwise. The runner sets it.
	StoppedEarly string `json:"stopped_early,omitempty"`
	// ClientLimited is the level's client_health.client_limited: llmload
	// may have distorted its own measurements at this level.
	ClientLimited bool `json:"client_limited"`
	// Probe marks the closed-loop runs of an auto sweep: "sync" (one
	// request at a time) and "throughput" (each step of the search for the
	// maximum); their Level is the request rate they measured. Empty for
	// rate levels and plain sweeps.
	Probe string `json:"probe,omitempty"`
	// Concurrency is a probe's closed-loop concurrency; 0 otherwise.
	Concurrency int `json:"concurrency,omitempty"`

	// TTFTP95, TPOTP95 and E2EP95 are the p95s the knee's target method
	// judges, s; TPOTP50 is the median TPOT, s. 0 in rows written before
	// they existed.
	TTFTP95 float64 `json:"ttft_p95_s,omitempty"`
	TPOTP50 float64 `json:"tpot_p50_s,omitempty"`
	TPOTP95 float64 `json:"tpot_p95_s,omitempty"`
	E2EP95  float64 `json:"e2e_p95_s,omitempty"`
	// CostPer1MOutputTokens is the instance-priced cost of a million output
	// tokens at this level's throughput, in the currency of
	// --price-per-hour; absent without a price.
	CostPer1MOutputTokens *float64 `json:"cost_per_1m_output_tokens,omitempty"`
	// TokenCostPerRequest and TokenCostPer1MOutputTokens are the level's
	// token-priced cost per successful request and per 1M output tokens,
	// every attempt included (summary.json's cost.token), in the
	// currency of the token prices; absent without a token price.
	TokenCostPerRequest        *float64 `json:"token_cost_per_request,omitempty"`
	TokenCostPer1MOutputTokens *float64 `json:"token_cost_per_1m_output_tokens,omitempty"`
}

// SweepRowOf extracts the row of one level from its summary. StoppedEarly
// is left empty.
func SweepRowOf(level float64, dir string, s *stats.Summary) SweepRow {
	row := SweepRow{Level: level, Dir: dir}
	if s == nil {
		return row
	}
	m := s.Metrics
	row.Requests = s.Requests.Total
	row.Succeeded = s.Requests.Succeeded
	row.ErrorRate = s.ErrorRate
	row.OutputTokensPerS = s.Throughput.OutputTokensPerS
	row.RequestsPerS = s.Throughput.RequestsPerS
	row.OutputSpeedP25, row.OutputSpeedP50, row.OutputSpeedP75 = m.OutputSpeed.P25, m.OutputSpeed.P50, m.OutputSpeed.P75
	row.TTFTP50, row.TTFTP90, row.TTFTP99 = m.TTFT.P50, m.TTFT.P90, m.TTFT.P99
	row.E2EP50, row.E2EP90, row.E2EP99 = m.E2E.P50, m.E2E.P90, m.E2E.P99
	row.TTFTP95, row.TPOTP50, row.TPOTP95, row.E2EP95 = m.TTFT.P95, m.TPOT.P50, m.TPOT.P95, m.E2E.P95
	row.ConcurrencyMean = s.Concurrency.Mean
	row.ConcurrencyMax = s.Concurrency.Max
	row.Timeouts = s.ErrorsByKind[llm.KindTimeout]
	if s.Goodput != nil {
		share := s.Goodput.Share
		row.GoodputShare = &share
	}
	row.ClientLimited = s.ClientHealth != nil && s.ClientHealth.ClientLimited
	if s.Cost != nil && s.Cost.Token != nil {
		perReq, perM := s.Cost.Token.CostPerRequest, s.Cost.Token.CostPer1MOutputTokens
		row.TokenCostPerRequest, row.TokenCostPer1MOutputTokens = &perReq, &perM
	}
	return row
}

// SweepSummary is what sweep.json holds: one row per level run, in the
// order run.
type SweepSummary struct {
	SchemaVersion int `json:"schema_version"`
	// Name is the sweep's (or experiment's) name; each level's summary
	// carries it as run.sweep.
	Name string `json:"name,omitempty"`
	// Kind is SweepConcurrency or SweepRate.
	Kind string     `json:"kind"`
	Rows []SweepRow `json:"rows"`
	// StopReason says why the sweep ended before its last level; empty
	// when every level ran.
	StopReason string `json:"stop_reason,omitempty"`
	// Auto tells how an auto sweep placed its rates; nil otherwise.
	Auto *AutoSweep `json:"auto,omitempty"`
	// Knee is where the latency-throughput curve bends, by every method
	// of FindKnee; nil before two levels ran. In an experiment of several
	// series (groups) it is nil and Knees holds one per series.
	Knee  *Knee  `json:"knee,omitempty"`
	Knees []Knee `json:"knees,omitempty"`
	// BreakEven compares the instances (--price-per-hour) with the token
	// price at the knee: the knee level's all-in token cost and its
	// throughput as the capacity. Absent without both prices, a knee, or
	// in an experiment of several series.
	BreakEven *CostBreakEven `json:"break_even,omitempty"`
}

// AutoSweep is how an auto sweep found its range.
type AutoSweep struct {
	// SyncRate is the request rate at concurrency 1, requests/s.
	SyncRate float64 `json:"sync_rate_per_s"`
	// MaxRate is the request rate of the best throughput step, requests/s,
	// and MaxConcurrency the concurrency that reached it.
	MaxRate        float64 `json:"max_rate_per_s"`
	MaxConcurrency int     `json:"max_concurrency"`
	// Method says in words how the maximum was found.
	Method string `json:"method"`
}

// MinThroughputGain is how much more output throughput a doubling of
// concurrency must bring for the auto sweep's search to go on: below it
// the endpoint counts as saturated.
const MinThroughputGain = 0.10

// SaturationCheck tells whether a throughput search step at concurrency c
// (output tokens/s out, error rate errRate, timeouts timeouts) ends the
// search, given the best output throughput before it, and says why.
func SaturationCheck(best, out, errRate float64, timeouts, c, ceiling int) (stop bool, why string) {
	switch {
	case errRate > 0.05 || timeouts > 0:
		return true, fmt.Sprintf("concurrency %d overloaded the endpoint (error rate %s, %d timed out)", c, pct(errRate), timeouts)
	case best > 0 && out < best*(1+MinThroughputGain):
		return true, fmt.Sprintf("doubling to concurrency %d raised output throughput by %s, under %s", c, pct(out/best-1), pct(MinThroughputGain))
	case c >= ceiling:
		return true, fmt.Sprintf("concurrency %d is the ceiling (--concurrency)", c)
	}
	return false, ""
}

// StopCheck tells whether a sweep should stop after the level summarized
// by s: when its error rate exceeds maxErrorRate (> 0; 0 disables the
// check), or when onTimeout is set and any request timed out. reason
// names every cause: "error rate 7.5% > 5%", "2 timed-out requests",
// joined by "; ".
func StopCheck(s *stats.Summary, maxErrorRate float64, onTimeout bool) (stop bool, reason string) {
	if s == nil {
		return false, ""
	}
	var why []string
	if maxErrorRate > 0 && s.ErrorRate > maxErrorRate {
		why = append(why, fmt.Sprintf("error rate %s > %s", pct(s.ErrorRate), pct(maxErrorRate)))
	}
	if n := s.ErrorsByKind[llm.KindTimeout]; onTimeout && n > 0 {
		// The client's --timeout and a server's invocation timeout alike.
		w := "timed-out requests"
		if n == 1 {
			w = "timed-out request"
		}
		why = append(why, fmt.Sprintf("%d %s", n, w))
	}
	return len(why) > 0, strings.Join(why, "; ")
}

// pct writes a fraction as a percentage with at most two decimals:
// 0.075 → "7.5%".
func pct(f float64) string {
	s := strconv.FormatFloat(100*f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// AutoRates plans the rates of an automatic sweep as GuideLLM's sweep
// profile does (vllm-project/guidellm, src/guidellm/benchmark/profiles/
// sweep.py, SweepProfile.next_strategy): after measuring the synchronous
// rate (requests/s at concurrency 1) and the maximum throughput rate, it
// runs numpy.linspace(sync, max, size−1)[1:] — evenly spaced rates above
// the synchronous one, which is not rerun, up to and including the
// maximum. With n = size − 2 rates:
//
//	rate_k = syncRate + k·(maxRate − syncRate)/n,  k = 1 … n
//
// the last one exactly maxRate. Errors: n < 1, a rate that is not a
// positive finite number, or maxRate ≤ syncRate (the endpoint gained
// nothing from concurrency, or the measurements are swapped: there is no
// range to sweep).
func AutoRates(syncRate, maxRate float64, n int) ([]float64, error) {
	bad := func(x float64) bool { return !(x > 0) || math.IsInf(x, 0) }
	switch {
	case n < 1:
		return nil, fmt.Errorf("auto sweep: %d levels; want at least 1", n)
	case bad(syncRate):
		return nil, fmt.Errorf("auto sweep: synchronous rate %g requests/s is not positive (did any request succeed at concurrency 1?)", syncRate)
	case bad(maxRate):
		return nil, fmt.Errorf("auto sweep: maximum rate %g requests/s is not positive (did any request succeed at full load?)", maxRate)
	case maxRate <= syncRate:
		return nil, errors.New("auto sweep: maximum rate " + strconv.FormatFloat(maxRate, 'g', 4, 64) +
			" requests/s is not above the synchronous rate " + strconv.FormatFloat(syncRate, 'g', 4, 64) +
			" requests/s: there is no range to sweep")
	}
	step := (maxRate - syncRate) / float64(n)
	rates := make([]float64, n)
	for k := 1; k <= n; k++ {
		rates[k-1] = syncRate + float64(k)*step
	}
	rates[n-1] = maxRate // as numpy.linspace, the end point exactly
	return rates, nil
}
