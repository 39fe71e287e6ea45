package stats

import (
	"fmt"

	"github.com/llmload/llmload/record"
)

// RequestedLengths describes the lengths the workload asked for, over
// every non-warm-up request (failed ones included: they were asked too).
type RequestedLengths struct {
	// OutputTokens describes the max_tokens sent, over requests that
	// sent one (record.Record.RequestedOutputTokens > 0).
	OutputTokens Dist `json:"output_tokens"`
	// OutputClipped counts the requests whose drawn max_tokens was raised
	// to the workload's floor; InputClipped those whose drawn prompt
	// length was.
	OutputClipped int `json:"output_clipped"`
	InputClipped  int `json:"input_clipped"`
	// Requests counts the requests described.
	Requests int `json:"requests"`
}

// ClipWarnShare is the share of clipped lengths above which a summary
// warns: the length distribution is not the one asked for.
const ClipWarnShare = 0.05

// requestedLengths aggregates the requested lengths of recs; nil when
// there are no requests.
func requestedLengths(recs []record.Record) *RequestedLengths {
	var l RequestedLengths
	var out []float64
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Attempt > 0 {
			continue // one per request: the first attempt
		}
		l.Requests++
		if r.RequestedOutputTokens > 0 {
			out = append(out, float64(r.RequestedOutputTokens))
		}
		if r.RequestedOutputTokensClipped {
			l.OutputClipped++
		}
		if r.InputTokensClipped {
			l.InputClipped++
		}
	}
	if l.Requests == 0 {
		return nil
	}
	l.OutputTokens = Describe(out)
	return &l
}

// clipWarning warns when more than ClipWarnShare of lengths were clipped.
func clipWarning(l *RequestedLengths) string {
	if l == nil {
		return ""
	}
	var parts []string
	if float64(l.OutputClipped) > ClipWarnShare*float64(l.Requests) {
		parts = append(parts, fmt.Sprintf("max_tokens of %d", l.OutputClipped))
	}
	if float64(l.InputClipped) > ClipWarnShare*float64(l.Requests) {
		parts = append(parts, fmt.Sprintf("the prompt length of %d", l.InputClipped))
	}
	if len(parts) == 0 {
		return ""
	}
	msg := parts[0]
	if len(parts) > 1 {
		msg += " and " + parts[1]
	}
	return fmt.Sprintf("%s of %d requests were drawn below the length floor and raised to it:"+
		" the standard deviation is large for the mean, so lengths are not Normal(mean, stddev) (see docs/workload.md)", msg, l.Requests)
}
