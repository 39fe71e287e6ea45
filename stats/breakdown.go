package stats

import (
	"slices"

	"github.com/llmload/llmload/record"
)

// NoPromptSet names, in Summary.ByPromptSet, the records that carry no
// prompt_set while others do.
const NoPromptSet = "(none)"

// byPromptSet splits the non-warm-up records by prompt set and summarizes
// each set compactly, with the definitions Summarize uses. It returns nil
// when the records come from one set only (or none): the split would only
// repeat the summary.
func byPromptSet(recs []record.Record) map[string]SetSummary {
	groups := map[string][]*record.Record{}
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried {
			continue
		}
		name := r.PromptSet
		if name == "" {
			name = NoPromptSet
		}
		groups[name] = append(groups[name], r)
	}
	if len(groups) < 2 {
		return nil
	}
	out := make(map[string]SetSummary, len(groups))
	for name, rs := range groups {
		var ss SetSummary
		var ttft, e2e, tpot, nIn, nOut []float64
		for _, r := range rs {
			ss.Requests++
			if !r.OK() {
				continue
			}
			ss.Succeeded++
			if t, ok := TTFT(r); ok {
				ttft = append(ttft, t)
			}
			e2e = append(e2e, r.E2ES)
			if tp, ok := TPOT(r); ok {
				tpot = append(tpot, tp)
			}
			nIn = append(nIn, float64(r.InputTokens))
			nOut = append(nOut, float64(r.OutputTokens))
		}
		ss.ErrorRate = div(float64(ss.Requests-ss.Succeeded), float64(ss.Requests))
		ss.TTFT = Describe(ttft)
		ss.E2E = Describe(e2e)
		ss.TPOT = Describe(tpot)
		ss.InputTokens = Describe(nIn)
		ss.OutputTokens = Describe(nOut)
		out[name] = ss
	}
	return out
}

// serverTiming describes each server-reported timing over the successful
// non-warm-up records that carry it, in record order. It returns nil when
// no such record carries any.
func serverTiming(recs []record.Record) map[string]Dist {
	vals := map[string][]float64{}
	for i := range recs {
		r := &recs[i]
		if r.Warmup || !r.OK() || len(r.ServerTimingS) == 0 {
			continue
		}
		// Map order is random; the values of one key keep record order
		// whatever it is, so means are reproducible.
		for k, v := range r.ServerTimingS {
			vals[k] = append(vals[k], v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	out := make(map[string]Dist, len(vals))
	for k, v := range vals {
		if d := Describe(v); d.Count > 0 {
			out[k] = d
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// SortedKeys returns the keys of m in order, for rendering maps of the
// summary (ByPromptSet, ServerTiming) deterministically.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
