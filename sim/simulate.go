package sim

import (
	"fmt"
	"math"
	"slices"
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
	// RequestsPerSecond is Requests / Duration.
	RequestsPerSecond float64
	// MeanTTFT, MeanTPOT and MeanE2E average the per-request metrics of
	// DESIGN.md (TPOT = (E2E − TTFT) / (n_out − 1)).
	MeanTTFT, MeanTPOT, MeanE2E time.Duration
	// TTFT, TPOT and E2E are the per-request metrics' percentiles.
	TTFT, TPOT, E2E Percentiles
	// MaxBatch is the largest number of sequences that ran at once in one
	// replica.
	MaxBatch int
	// Waited is how many requests the closed loop held back because the
	// server was at MaxConcurrentRequests (a real server refuses them as
	// overloaded; a client that retries gets in when a slot frees).
	Waited int
	// TimedOut is how many requests Workload.Timeout failed; Requests
	// counts only the completed ones.
	TimedOut int
}

// Percentiles are the 50th, 90th, 95th and 99th percentiles of a metric
// (nearest rank) and its maximum.
type Percentiles struct {
	P50, P90, P95, P99, Max time.Duration
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		return d[max(0, int(math.Ceil(q*float64(len(d))))-1)]
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P95: at(0.95), P99: at(0.99), Max: d[len(d)-1]}
}

// Workload is what each closed-loop client sends.
type Workload struct {
	// InputTokens and OutputTokens are every request's prompt and exact
	// output lengths.
	InputTokens, OutputTokens int
	// Requests is how many requests complete per level; 0 means
	// max(10 × concurrency, 200).
	Requests int
	// MaxConcurrentRequests bounds running + queued requests per replica
	// (TGI's MAX_CONCURRENT_REQUESTS); 0 means no bound. Clients beyond
	// it wait for a slot, as a client retrying a refused request would.
	MaxConcurrentRequests int
	// Timeout, when positive, fails a request not finished this long after
	// it was sent (SageMaker's 60 s invocation timeout): it is aborted,
	// frees its KV, counts in TimedOut and not in the throughput, and its
	// client sends the next request.
	Timeout time.Duration
}

// SimulateClosedLoop runs the scheduler of p on a virtual clock against
// concurrency clients that each send a request of inputTokens prompt tokens
// and exactly outputTokens output tokens, and send the next one as soon as
// the last ends, until requests requests have completed. It needs no
// real time: it is how the calibration tests and capacity planning ask
// "what throughput does this profile reach at this concurrency".
func (p Profile) SimulateClosedLoop(concurrency, inputTokens, outputTokens, requests int) (LoopResult, error) {
	return p.simulate(concurrency, Workload{InputTokens: inputTokens, OutputTokens: outputTokens, Requests: requests})
}

// SimulateSweep simulates a closed-loop sweep of p over the concurrency
// levels, with no network and no real time: for each level, that many
// clients send w's requests back to back until w.Requests have completed,
// and the result gives the level's throughput and latency percentiles.
// It is deterministic; a level of 128 clients and 1,280 requests takes
// under 0.1 s (BenchmarkSimulateLevel).
func SimulateSweep(p Profile, levels []int, w Workload) ([]LoopResult, error) {
	if len(levels) == 0 {
		return nil, fmt.Errorf("sim: no concurrency levels")
	}
	out := make([]LoopResult, 0, len(levels))
	for _, c := range levels {
		r, err := p.simulate(c, w)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// replicaState is one engine of the virtual run.
type replicaState struct {
	b    *batcher
	busy bool
	st   step
	end  time.Time
}

func (p Profile) simulate(concurrency int, w Workload) (LoopResult, error) {
	if err := p.Validate(); err != nil {
		return LoopResult{}, err
	}
	requests := w.Requests
	if requests == 0 {
		requests = max(10*concurrency, 200)
	}
	if concurrency < 1 || w.InputTokens < 1 || w.OutputTokens < 1 || requests < 1 || w.MaxConcurrentRequests < 0 || w.Timeout < 0 {
		return LoopResult{}, fmt.Errorf("sim: concurrency, token counts and requests must be positive")
	}
	if need := w.InputTokens + w.OutputTokens; need > p.KVCapacityTokens() || need > p.Model.MaxContext {
		return LoopResult{}, fmt.Errorf("sim: %d tokens per request do not fit profile %q", need, p.Name)
	}
	start := time.Unix(0, 0)
	now := start
	reps := make([]*replicaState, p.replicas())
	sent, completed, waited := 0, 0, 0
	var ttft, tpot, e2e []time.Duration
	// Requests in flight between client and engine (FrontendOverhead),
	// in send order, which is arrival order.
	type pending struct {
		at time.Time
		s  *seq
	}
	var arriving []pending
	// Deadlines of requests in send order, which is deadline order.
	var deadlines []pending
	where := map[*seq]*replicaState{}
	timedOut := 0
	var blocked int // clients waiting for a server slot
	outstanding := func(r *replicaState) int { return len(r.b.running) + len(r.b.queue) }
	inflight := 0 // sent and not completed, all replicas, incl. arriving
	limit := w.MaxConcurrentRequests * len(reps)
	send := func() {
		if limit > 0 && inflight >= limit {
			blocked++
			waited++
			return
		}
		sent++
		inflight++
		s := &seq{prompt: w.InputTokens, target: w.OutputTokens, reserve: w.InputTokens + w.OutputTokens, arrived: now}
		arriving = append(arriving, pending{now.Add(p.FrontendOverhead), s})
		if w.Timeout > 0 {
			deadlines = append(deadlines, pending{now.Add(w.Timeout), s})
		}
	}
	// next is what a client does when its request ends: send another.
	next := func() {
		if blocked > 0 && sent < requests {
			blocked--
			send()
		}
		if sent < requests {
			send()
		}
	}
	for i := range reps {
		b := newBatcher(p)
		b.onDone = func(s *seq) {
			completed++
			inflight--
			first := s.times[0].Sub(s.arrived)
			total := s.times[len(s.times)-1].Sub(s.arrived)
			ttft, e2e = append(ttft, first), append(e2e, total)
			if n := len(s.times); n > 1 {
				tpot = append(tpot, (total-first)/time.Duration(n-1))
			}
			delete(where, s)
			next()
		}
		reps[i] = &replicaState{b: b}
	}
	for range min(concurrency, requests) {
		send()
	}
	for {
		// Deliver arrivals due now, each to the least outstanding replica.
		for len(arriving) > 0 && !arriving[0].at.After(now) {
			best := reps[0]
			for _, r := range reps[1:] {
				if outstanding(r) < outstanding(best) {
					best = r
				}
			}
			best.b.submit(arriving[0].s)
			where[arriving[0].s] = best
			arriving = arriving[1:]
		}
		// Fail requests past their deadline.
		for len(deadlines) > 0 && !deadlines[0].at.After(now) {
			s := deadlines[0].s
			deadlines = deadlines[1:]
			if s.ended {
				continue
			}
			if r, ok := where[s]; ok {
				r.b.abort(s, reasonTimeout)
				delete(where, s)
			} else {
				s.ended = true // still in front of the engine
				arriving = slices.DeleteFunc(arriving, func(a pending) bool { return a.s == s })
			}
			timedOut++
			inflight--
			next()
		}
		for _, r := range reps {
			if !r.busy {
				if st, ok := r.b.plan(now); ok {
					r.busy, r.st, r.end = true, st, now.Add(st.dur)
				}
			}
		}
		// Advance to the next event: a step's end, an arrival or, while
		// anything is in flight, a deadline.
		var at time.Time
		for _, r := range reps {
			if r.busy && (at.IsZero() || r.end.Before(at)) {
				at = r.end
			}
		}
		if len(arriving) > 0 && (at.IsZero() || arriving[0].at.Before(at)) {
			at = arriving[0].at
		}
		if at.IsZero() {
			break
		}
		for len(deadlines) > 0 && deadlines[0].s.ended {
			deadlines = deadlines[1:]
		}
		if len(deadlines) > 0 && deadlines[0].at.Before(at) {
			at = deadlines[0].at
		}
		now = at
		for _, r := range reps {
			if r.busy && !r.end.After(now) {
				r.busy = false
				r.b.finish(r.st, now)
			}
		}
	}
	r := LoopResult{
		Concurrency:  concurrency,
		Requests:     completed,
		Duration:     now.Sub(start),
		OutputTokens: completed * w.OutputTokens,
		Waited:       waited,
		TimedOut:     timedOut,
	}
	for _, rep := range reps {
		r.MaxBatch = max(r.MaxBatch, rep.b.maxRunning)
	}
	mean := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return sum / time.Duration(len(d))
	}
	r.MeanTTFT, r.MeanTPOT, r.MeanE2E = mean(ttft), mean(tpot), mean(e2e)
	r.TTFT, r.TPOT, r.E2E = percentiles(ttft), percentiles(tpot), percentiles(e2e)
	if r.Duration > 0 {
		r.OutputTokensPerSecond = float64(r.OutputTokens) / r.Duration.Seconds()
		r.RequestsPerSecond = float64(completed) / r.Duration.Seconds()
	}
	return r, nil
}
