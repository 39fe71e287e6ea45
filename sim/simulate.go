package sim

import (
	"fmt"
	"time"
)

// LoopResult summarizes a closed-loop run of the engine on a virtual clock.
// Every duration is simulated time.
type LoopResult struct {
	Concurrency, Requests int
	// Duration is from the first request sent to the last token emitted.
	Duration time.Duration
	// OutputTokens is the sum of output tokens over all requests.
	OutputTokens int
	// OutputTokensPerSecond is OutputTokens / Duration: system output throughput.
	OutputTokensPerSecond float64
	// MeanTTFT, MeanTPOT and MeanE2E average the per-request metrics of
	// DESIGN.md (TPOT = (E2E − TTFT) / (n_out − 1)).
	MeanTTFT, MeanTPOT, MeanE2E time.Duration
	// MaxBatch is the largest number of sequences that ran at once.
	MaxBatch int
}

// SimulateClosedLoop runs the scheduler of p on a virtual clock against
// concurrency clients that each send a request of inputTokens prompt tokens
// and exactly outputTokens output tokens, and send the next one as soon as
// the last ends, until requests requests have completed. It needs no
// real time: it is how the calibration tests and capacity planning ask
// "what throughput does this profile reach at this concurrency".
func (p Profile) SimulateClosedLoop(concurrency, inputTokens, outputTokens, requests int) (LoopResult, error) {
	if err := p.Validate(); err != nil {
		return LoopResult{}, err
	}
	if concurrency < 1 || inputTokens < 1 || outputTokens < 1 || requests < 1 {
		return LoopResult{}, fmt.Errorf("sim: concurrency, token counts and requests must be positive")
	}
	if need := inputTokens + outputTokens; need > p.KVCapacityTokens() || need > p.Model.MaxContext {
		return LoopResult{}, fmt.Errorf("sim: %d tokens per request do not fit profile %q", need, p.Name)
	}
	b := newBatcher(p)
	start := time.Unix(0, 0)
	now := start
	sent, completed := 0, 0
	var sumTTFT, sumTPOT, sumE2E time.Duration
	send := func() {
		sent++
		b.submit(&seq{prompt: inputTokens, target: outputTokens, reserve: inputTokens + outputTokens, arrived: now})
	}
	b.onDone = func(s *seq) {
		completed++
		ttft := s.times[0].Sub(s.arrived)
		e2e := s.times[len(s.times)-1].Sub(s.arrived)
		sumTTFT += ttft
		sumE2E += e2e
		if n := len(s.times); n > 1 {
			sumTPOT += (e2e - ttft) / time.Duration(n-1)
		}
		if sent < requests {
			send()
		}
	}
	for range min(concurrency, requests) {
		send()
	}
	for {
		st, ok := b.plan(now)
		if !ok {
			break
		}
		now = now.Add(st.dur)
		b.finish(st, now)
	}
	r := LoopResult{
		Concurrency:  concurrency,
		Requests:     completed,
		Duration:     now.Sub(start),
		OutputTokens: completed * outputTokens,
		MaxBatch:     b.maxRunning,
	}
	if completed > 0 {
		n := time.Duration(completed)
		r.MeanTTFT, r.MeanTPOT, r.MeanE2E = sumTTFT/n, sumTPOT/n, sumE2E/n
	}
	if r.Duration > 0 {
		r.OutputTokensPerSecond = float64(r.OutputTokens) / r.Duration.Seconds()
	}
	return r, nil
}
