package stats

import (
	"fmt"
	"math"
	"time"

	"github.com/llmload/llmload/health"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/workload"
)

// SummarySchemaVersion is the version of the Summary JSON schema written to
// summary.json. A change of meaning of any field bumps it.
const SummarySchemaVersion = 1

// RunInfo describes the run a summary is about. The CLI fills it in;
// Summarize passes it through to summary.json's "run".
type RunInfo struct {
	Name string `json:"name"`
	// Sweep names the sweep or experiment the run is a level of, and Case
	// the experiment case ("endpoint=vllm,prompts=chat,c=8"); empty for a
	// run on its own.
	Sweep    string `json:"sweep,omitempty"`
	Case     string `json:"case,omitempty"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
	BaseURL  string `json:"base_url"`
	API      string `json:"api"`
	Stream   bool   `json:"stream"`

	Mode string `json:"mode"`
	// Concurrency is the most requests the load shape let be in flight at
	// once: the workers of the closed loop, the batch size of sequential
	// batches, the --max-concurrency cap of rate mode. 0: the shape had no
	// cap (interval batches may overlap; an uncapped open loop). The
	// measured peak is Summary.Concurrency.Max.
	Concurrency int `json:"concurrency"`
	// Rate is the open-loop arrival rate, requests/s (mode "rate"), and
	// Arrival its process: constant, poisson or gamma.
	Rate    float64 `json:"rate,omitempty"`
	Arrival string  `json:"arrival,omitempty"`
	// BatchSize, Batches and BatchIntervalS (seconds) shape the batch modes.
	BatchSize      int     `json:"batch_size,omitempty"`
	Batches        int     `json:"batches,omitempty"`
	BatchIntervalS float64 `json:"batch_interval_s,omitempty"`
	// MaxConcurrency caps requests in flight in rate mode (0: no cap).
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// RampS is how long, seconds, the load was raised linearly to its
	// target (0: no ramp).
	RampS          float64 `json:"ramp_s,omitempty"`
	MaxRequests    int     `json:"max_requests"`
	WarmupRequests int     `json:"warmup_requests"`
	DurationLimitS float64 `json:"duration_limit_s"`
	TimeoutS       float64 `json:"timeout_s"`

	MeanInputTokens    int `json:"mean_input_tokens"`
	StddevInputTokens  int `json:"stddev_input_tokens"`
	MeanOutputTokens   int `json:"mean_output_tokens"`
	StddevOutputTokens int `json:"stddev_output_tokens"`

	Tokenizer string `json:"tokenizer"`
	Version   string `json:"version"`

	// PrefixTokens and PrefixGroups describe the shared prefixes asked
	// for (--prefix-tokens, tokens; --prefix-groups), 0 without.
	PrefixTokens int `json:"prefix_tokens,omitempty"`
	PrefixGroups int `json:"prefix_groups,omitempty"`
	// Turns is the most turns of a session (--turns; 0: single requests),
	// ThinkTimeS the pause between turns, seconds, or its mean when
	// ThinkTimeDist is "exponential" ("constant": exactly).
	Turns         int     `json:"turns,omitempty"`
	ThinkTimeS    float64 `json:"think_time_s,omitempty"`
	ThinkTimeDist string  `json:"think_time_dist,omitempty"`
	// Dataset tells what the --dataset file held and what its length
	// filters kept; nil without a dataset.
	Dataset *workload.DatasetStats `json:"dataset,omitempty"`

	// Sim describes the built-in simulator when it was the target; nil
	// for a real endpoint.
	Sim *SimInfo `json:"sim,omitempty"`

	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	StopReason  string    `json:"stop_reason"`
	Interrupted bool      `json:"interrupted"`
}

// SimInfo describes a simulated target.
type SimInfo struct {
	// Profile names the simulated model and accelerator, Description says
	// it in words.
	Profile     string `json:"profile"`
	Description string `json:"description"`
	// TimeScale is the simulator's clock: 0.1 runs it ten times faster
	// than the modelled hardware, so every latency in the summary is
	// TimeScale × the modelled one and every throughput 1/TimeScale × it
	// (llmload's own overhead is not scaled). 1: real time.
	TimeScale float64 `json:"time_scale"`
	// DeliveredTokens counts the tokens the in-process simulator wrote
	// during the run; LateTokens those it wrote behind their emit time by
	// more than 1 ms plus half the gap since the previous token of the
	// response, in LateRequests responses; MaxLateS is the most any token
	// was behind, seconds. Clients measure late tokens bunched: a share
	// above LateShareLimit makes a warning.
	DeliveredTokens int64   `json:"delivered_tokens,omitempty"`
	LateTokens      int64   `json:"late_tokens,omitempty"`
	LateRequests    int64   `json:"late_requests,omitempty"`
	MaxLateS        float64 `json:"max_late_s,omitempty"`
}

// LateShareLimit is the share of the simulator's tokens written late
// (SimInfo.LateTokens / DeliveredTokens) above which a run's summary warns
// that the simulator fell behind.
const LateShareLimit = 0.01

// SimLateWarning is the warning for a simulator that wrote more than
// LateShareLimit of its tokens late, "" otherwise.
func SimLateWarning(si *SimInfo) string {
	if si == nil || si.DeliveredTokens == 0 || float64(si.LateTokens) <= LateShareLimit*float64(si.DeliveredTokens) {
		return ""
	}
	return fmt.Sprintf("the simulator fell behind its own engine: %d of %d tokens (%.1f%%), in %d responses, were written more than 1 ms + half a token gap after they were emitted (at most %.0f ms); clients read them in bursts, so ITL, TPOT and output speed are distorted: lower the concurrency or raise --sim-time-scale",
		si.LateTokens, si.DeliveredTokens, 100*float64(si.LateTokens)/float64(si.DeliveredTokens), si.LateRequests, si.MaxLateS*1000)
}

// Summary is exactly what summary.json holds. Durations are seconds (_s),
// rates per second (_per_s). Every number is finite: a quantity with no
// data is 0, and a Dist over nothing has Count 0.
type Summary struct {
	SchemaVersion int     `json:"schema_version"`
	Run           RunInfo `json:"run"`

	Requests Requests `json:"requests"`
	// ErrorRate is Requests.Failed / Requests.Total.
	ErrorRate float64 `json:"error_rate"`
	// ErrorsByKind counts failed requests by llm.ErrorKind.
	ErrorsByKind map[llm.ErrorKind]int `json:"errors_by_kind"`
	// WindowS is the measured window: the last end (sent_s + e2e_s) minus
	// the first sent_s, over non-warmup requests.
	WindowS float64 `json:"window_s"`

	Throughput  Throughput  `json:"throughput"`
	Metrics     Metrics     `json:"metrics"`
	Concurrency Concurrency `json:"concurrency"`
	TokenCounts TokenCounts `json:"token_counts"`

	// Goodput counts the requests that met every SLO. Summarize leaves it
	// nil; analysis.Goodput computes it when SLOs were set.
	Goodput *Goodput `json:"goodput,omitempty"`
	// ByPromptSet splits the main numbers by record.Record.PromptSet, when
	// non-warm-up records come from more than one set; nil otherwise.
	ByPromptSet map[string]SetSummary `json:"by_prompt_set,omitempty"`
	// ByTurn splits the main numbers of multi-turn sessions (--turns) by
	// turn index, in turn order, and Sessions counts the sessions; both
	// nil outside sessions (stats/turns.go).
	ByTurn   []TurnSummary `json:"by_turn,omitempty"`
	Sessions *Sessions     `json:"sessions,omitempty"`
	// ServerTiming describes, per name, the timings the server reported
	// (record.Record.ServerTimingS), seconds, over successful non-warm-up
	// requests that carry that name; nil when none did.
	ServerTiming map[string]Dist `json:"server_timing_s,omitempty"`
	// Stamps tells how arrivals were timed: by the kernel's receive
	// timestamps or by llmload's reads. Nil when no request succeeded.
	Stamps *Stamps `json:"stamps,omitempty"`
	// ScheduleLagWarning is set when an open-loop run ("rate",
	// "batch-interval") could not keep its schedule: see LagLimit.
	ScheduleLagWarning string `json:"schedule_lag_warning,omitempty"`
	// Retries counts the attempts that failed and were retried (--retries),
	// and the tokens they sent and received. Nil when none.
	Retries *Retries `json:"retries,omitempty"`
	// Limiter tells how often the client-side RPM/TPM limiter held
	// attempts back; nil when it never did.
	Limiter *Limiter `json:"limiter,omitempty"`
	// Connections tells how attempts used connections: new ones, replays
	// after a kept-alive connection closed, dial and TLS times; nil when
	// the records say nothing about connections.
	Connections *Connections `json:"connections,omitempty"`
	// RetryAfter tells how often attempts waited on a server's
	// Retry-After, and how long; nil when none did.
	RetryAfter *RetryAfter `json:"retry_after,omitempty"`
	// PromptCache sums the prompt tokens the server reported taking from
	// its cache; nil when it reported none (stats/cache.go).
	PromptCache *PromptCache `json:"prompt_cache,omitempty"`
	// RequestedLengths describes the max_tokens asked for and how many
	// drawn lengths were clipped (stats/lengths.go).
	RequestedLengths *RequestedLengths `json:"requested_lengths,omitempty"`
	// Reasoning describes the reasoning output of successful requests
	// (stats/reasoning.go); nil when no request reasoned.
	Reasoning *Reasoning `json:"reasoning,omitempty"`
	// ToolCalls describes the tool calls of successful requests; nil when
	// none made one.
	ToolCalls *ToolCalls `json:"tool_calls,omitempty"`
	// Warnings are other conditions that make the numbers misleading, one
	// sentence each: most prompt tokens served from cache, many lengths
	// clipped.
	Warnings []string `json:"warnings,omitempty"`
	// ClientHealth is how the llmload process itself fared while it
	// measured (package health), and whether it may have distorted its
	// own measurements (ClientLimited). It is measured live, not computed
	// from the records: Summarize leaves it nil and bench.Run sets it.
	ClientHealth *health.Assessment `json:"client_health,omitempty"`
	// Cost is what the run cost, token- and instance-priced, when prices
	// were given (stats.Cost); Summarize leaves it nil and bench.Run sets
	// it.
	Cost *Cost `json:"cost,omitempty"`
}

// Retries describes the retried attempts of a run (non-warm-up).
type Retries struct {
	// Attempts counts attempts that failed and were retried.
	Attempts int `json:"attempts"`
	// ByKind counts them by the error that caused the retry.
	ByKind map[llm.ErrorKind]int `json:"by_kind"`
	// InputTokens and OutputTokens are the tokens those attempts sent and
	// received (the server's counts when reported, else llmload's).
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// RequestE2E is, over successful requests, the time from the first
	// attempt's send to the final attempt's end: what a user waits,
	// retries and backoff included (the metrics' e2e_s is per attempt).
	RequestE2E Dist `json:"request_e2e_s"`
}

// Limiter describes the client-side rate limiter's effect (non-warm-up).
type Limiter struct {
	// HeldAttempts counts attempts the limiter delayed.
	HeldAttempts int `json:"held_attempts"`
	// TotalWaitS and MaxWaitS are the delays, seconds.
	TotalWaitS float64 `json:"total_wait_s"`
	MaxWaitS   float64 `json:"max_wait_s"`
}

// Goodput is the share and rate of requests that met every SLO (service
// level objective) of a run. A failed request never meets an SLO.
type Goodput struct {
	// SLOs are the objectives, in their canonical text ("ttft<=500ms").
	SLOs []string `json:"slos"`
	// Requests counts the non-warm-up requests judged, failed ones included.
	Requests int `json:"requests"`
	// Met counts the requests that met every SLO.
	Met int `json:"met"`
	// Share is Met / Requests (0 when Requests is 0).
	Share float64 `json:"share"`
	// RatePerS is Met / the measured window, requests/s.
	RatePerS float64 `json:"rate_per_s"`
	// ByObjective counts, per SLO, the requests that met that one.
	ByObjective map[string]int `json:"met_by_objective"`
}

// SetSummary is the compact summary of the requests of one prompt set.
// Dists cover its successful requests, as in Metrics.
type SetSummary struct {
	Requests     int     `json:"requests"`
	Succeeded    int     `json:"succeeded"`
	ErrorRate    float64 `json:"error_rate"`
	TTFT         Dist    `json:"ttft_s"`
	E2E          Dist    `json:"e2e_s"`
	TPOT         Dist    `json:"tpot_s"`
	InputTokens  Dist    `json:"input_tokens"`
	OutputTokens Dist    `json:"output_tokens"`
}

// Requests counts requests. Total, Succeeded and Failed exclude warm-up.
type Requests struct {
	Total          int `json:"total"`
	Succeeded      int `json:"succeeded"`
	Failed         int `json:"failed"`
	WarmupExcluded int `json:"warmup_excluded"`
}

// Throughput is system throughput over the measured window, counting
// successful requests only.
type Throughput struct {
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	InputTokensPerS  float64 `json:"input_tokens_per_s"`
	TotalTokensPerS  float64 `json:"total_tokens_per_s"`
	RequestsPerS     float64 `json:"requests_per_s"`
	// InputsPerS is the inputs of successful embeddings requests per
	// second (each input is one vector); absent for other runs.
	InputsPerS float64 `json:"inputs_per_s,omitempty"`
}

// Metrics are the per-request distributions. All but ScheduleLag cover
// successful non-warm-up requests; see docs/metrics.md for which ones each
// takes.
type Metrics struct {
	// TTFT: t_first − t_send; for a non-streamed response, the arrival of
	// the whole body.
	TTFT Dist `json:"ttft_s"`
	// E2E: t_end − t_send.
	E2E Dist `json:"e2e_s"`
	// ITL: every gap between consecutive content chunks, pooled over
	// streamed requests.
	ITL Dist `json:"itl_s"`
	// TPOT: (E2E − TTFT)/(n_out − 1), streamed requests with n_out > 1.
	TPOT Dist `json:"tpot_s"`
	// OutputSpeed: 1/TPOT, tokens/s, where TPOT > 0.
	OutputSpeed Dist `json:"output_speed_tokens_per_s"`
	// RequestOutputThroughput: n_out/E2E, tokens/s (LLMPerf's
	// request_output_throughput_token_per_s).
	RequestOutputThroughput Dist `json:"request_output_throughput_tokens_per_s"`
	// InputTokens and OutputTokens: the counts statistics use (server's
	// usage when reported, else the local tokenizer's).
	InputTokens  Dist `json:"input_tokens"`
	OutputTokens Dist `json:"output_tokens"`
	// ScheduleLag: t_send − t_sched, over every non-warm-up request,
	// failed ones included.
	ScheduleLag Dist `json:"schedule_lag_s"`
}

// Stamps tells how the arrivals of successful non-warm-up requests were
// timed (docs/metrics.md, "Kernel receive timestamps").
type Stamps struct {
	// KernelRequests counts requests whose every arrival (chunks, TTFT,
	// end) is the kernel's receive time of the packet that completed it
	// (record.Record.ReceiveStamps); ReadRequests the others, timed when
	// llmload read them.
	KernelRequests int `json:"kernel_requests"`
	ReadRequests   int `json:"read_requests"`
	// ReadLagMax describes, over KernelRequests, each request's longest
	// read lag (record.Record.ReadLagMaxS): how long the last packet of a
	// read waited on this host before llmload read it, seconds.
	ReadLagMax Dist `json:"read_lag_max_s"`
	// Chunks counts the output chunks of KernelRequests, BunchedChunks
	// those of them that came in one read with the event after them
	// (record.Record.BunchedChunks): their arrival is that later packet's.
	Chunks        int `json:"chunks"`
	BunchedChunks int `json:"bunched_chunks"`
	// BunchedLastChunks counts the bunched chunks that were a response's
	// last, read with its end (record.Record.BunchedLastChunk): the others
	// were read with a later output chunk, and the ITL between them is 0.
	BunchedLastChunks int `json:"bunched_last_chunks"`
}

// MergedShare is the share of Chunks read in one read with a later output
// chunk, 0–1: the gaps between tokens the run lost (a last chunk read
// with its response's end loses none). 0 without chunks.
func (s *Stamps) MergedShare() float64 {
	if s.Chunks == 0 {
		return 0
	}
	return float64(s.BunchedChunks-s.BunchedLastChunks) / float64(s.Chunks)
}

// Concurrency is the number of requests in flight over the window.
type Concurrency struct {
	// Mean is time-weighted: the integral of the in-flight count over the
	// window divided by the window, i.e. Σ e2e_s / window_s.
	Mean float64 `json:"mean"`
	// Max is the most requests in flight at any instant.
	Max int `json:"max"`
}

// TokenCounts reports where token counts came from and how the server's
// and the local tokenizer's disagree.
type TokenCounts struct {
	// SourceServer and SourceLocal count non-warm-up requests by TokenSource.
	SourceServer int `json:"source_server"`
	SourceLocal  int `json:"source_local"`
	// InputMismatchRequests and OutputMismatchRequests count successful
	// requests with a server count whose local count differs from it.
	InputMismatchRequests  int `json:"input_mismatch_requests"`
	OutputMismatchRequests int `json:"output_mismatch_requests"`
	// MeanInputDiff and MeanOutputDiff are the mean of server − local, in
	// tokens, over the mismatching requests (0 when there are none).
	MeanInputDiff  float64 `json:"mean_input_diff"`
	MeanOutputDiff float64 `json:"mean_output_diff"`
}

// Summarize computes the summary of a run from its records, exactly. Warm-up
// records are excluded from everything but Requests.WarmupExcluded. recs is
// not modified; its order does not matter except for the last bits of means,
// which follow the order given (records.jsonl order, as LLMPerf's).
func Summarize(recs []record.Record, run RunInfo) *Summary {
	s := &Summary{
		SchemaVersion: SummarySchemaVersion,
		Run:           run,
		ErrorsByKind:  map[llm.ErrorKind]int{},
	}
	var (
		ttft, e2e, itl, tpot, speed, reqTput []float64
		nIn, nOut, lag                       []float64
		sumIn, sumOut, sumInputs             float64
		first, last                          = math.Inf(1), math.Inf(-1)
		inDiff, outDiff                      float64
		retries                              = Retries{ByKind: map[llm.ErrorKind]int{}}
		limiterHeld                          int
		limiterWait, limiterMax              float64
		stamps                               Stamps
		readLag                              []float64
	)
	defer func() {
		s.ByTurn, s.Sessions = byTurn(recs)
		s.PromptCache = promptCache(recs)
		if s.PromptCache != nil {
			s.PromptCache.Requested = cachingRequested(run)
		}
		s.RequestedLengths = requestedLengths(recs)
		s.Reasoning = reasoningOf(recs)
		s.ToolCalls = toolCallsOf(recs)
		for _, w := range append([]string{cacheWarning(s.PromptCache), clipWarning(s.RequestedLengths), SimLateWarning(run.Sim)}, reasoningWarnings(s.Reasoning)...) {
			if w != "" {
				s.Warnings = append(s.Warnings, w)
			}
		}
		if retries.Attempts > 0 {
			retries.RequestE2E = requestE2E(recs)
			s.Retries = &retries
		}
		s.Connections = connections(recs)
		s.RetryAfter = retryAfter(recs)
		if limiterHeld > 0 {
			s.Limiter = &Limiter{HeldAttempts: limiterHeld, TotalWaitS: limiterWait, MaxWaitS: limiterMax}
		}
	}()
	for i := range recs {
		r := &recs[i]
		if r.Warmup {
			if !r.Retried {
				s.Requests.WarmupExcluded++
			}
			continue
		}
		first = math.Min(first, r.SentS)
		last = math.Max(last, r.SentS+r.E2ES)
		if r.LimiterWaitS > 0 {
			limiterHeld++
			limiterWait += r.LimiterWaitS
			limiterMax = math.Max(limiterMax, r.LimiterWaitS)
		}
		if r.Attempt == 0 {
			// A retry's wait is backoff, not the client falling behind.
			lag = append(lag, r.SentS-r.ScheduledS)
		}
		if r.Retried {
			// An attempt that failed and was retried: not the request's
			// outcome, but sent and paid for.
			retries.Attempts++
			retries.ByKind[r.ErrorKind]++
			retries.InputTokens += r.InputTokens
			retries.OutputTokens += r.OutputTokens
			continue
		}
		s.Requests.Total++
		switch r.TokenSource {
		case record.SourceServer:
			s.TokenCounts.SourceServer++
		case record.SourceLocal:
			s.TokenCounts.SourceLocal++
		}
		if !r.OK() {
			s.Requests.Failed++
			s.ErrorsByKind[r.ErrorKind]++
			continue
		}
		s.Requests.Succeeded++

		if r.ReceiveStamps {
			stamps.KernelRequests++
			readLag = append(readLag, r.ReadLagMaxS)
			stamps.Chunks += len(r.ChunkTimesS)
			stamps.BunchedChunks += r.BunchedChunks
			if r.BunchedLastChunk {
				stamps.BunchedLastChunks++
			}
		} else {
			stamps.ReadRequests++
		}
		if t, ok := TTFT(r); ok {
			ttft = append(ttft, t)
		}
		e2e = append(e2e, r.E2ES)
		if r.Stream {
			for j := 1; j < len(r.ChunkTimesS); j++ {
				itl = append(itl, r.ChunkTimesS[j]-r.ChunkTimesS[j-1])
			}
		}
		if tp, ok := TPOT(r); ok {
			tpot = append(tpot, tp)
			if tp > 0 {
				speed = append(speed, 1/tp)
			}
		}
		nIn = append(nIn, float64(r.InputTokens))
		sumIn += float64(r.InputTokens)
		if r.Inputs > 0 {
			// An embeddings request: no output, so no output metrics.
			sumInputs += float64(r.Inputs)
		} else {
			if r.E2ES > 0 {
				reqTput = append(reqTput, float64(r.OutputTokens)/r.E2ES)
			}
			nOut = append(nOut, float64(r.OutputTokens))
			sumOut += float64(r.OutputTokens)
		}

		// A disagreement needs both counts: a server count, and a local
		// one (0 means the local tokenizer did not count).
		if r.TokenSource == record.SourceServer {
			if r.InputTokensLocal != 0 && r.InputTokens != r.InputTokensLocal {
				s.TokenCounts.InputMismatchRequests++
				inDiff += float64(r.InputTokens - r.InputTokensLocal)
			}
			if r.OutputTokensLocal != 0 && r.OutputTokens != r.OutputTokensLocal {
				s.TokenCounts.OutputMismatchRequests++
				outDiff += float64(r.OutputTokens - r.OutputTokensLocal)
			}
		}
	}
	if s.Requests.Total == 0 {
		return s
	}
	s.ErrorRate = div(float64(s.Requests.Failed), float64(s.Requests.Total))
	s.WindowS = last - first
	if s.WindowS < 0 || math.IsNaN(s.WindowS) || math.IsInf(s.WindowS, 0) {
		s.WindowS = 0
	}
	w := s.WindowS
	s.Throughput = Throughput{
		OutputTokensPerS: div(sumOut, w),
		InputTokensPerS:  div(sumIn, w),
		TotalTokensPerS:  div(sumIn+sumOut, w),
		RequestsPerS:     div(float64(s.Requests.Succeeded), w),
		InputsPerS:       div(sumInputs, w),
	}
	s.Metrics = Metrics{
		TTFT:                    Describe(ttft),
		E2E:                     Describe(e2e),
		ITL:                     Describe(itl),
		TPOT:                    Describe(tpot),
		OutputSpeed:             Describe(speed),
		RequestOutputThroughput: Describe(reqTput),
		InputTokens:             Describe(nIn),
		OutputTokens:            Describe(nOut),
		ScheduleLag:             Describe(lag),
	}
	if s.Requests.Succeeded > 0 {
		stamps.ReadLagMax = Describe(readLag)
		s.Stamps = &stamps
	}
	s.Concurrency = concurrency(recs, w)
	tc := &s.TokenCounts
	tc.MeanInputDiff = div(inDiff, float64(tc.InputMismatchRequests))
	tc.MeanOutputDiff = div(outDiff, float64(tc.OutputMismatchRequests))
	s.ByPromptSet = byPromptSet(recs)
	s.ServerTiming = serverTiming(recs)
	s.ScheduleLagWarning = scheduleLagWarning(recs, run, s.Metrics.ScheduleLag, s.Concurrency.Max)
	return s
}

// TTFT returns the time to first token of r in seconds, and whether r has
// one. It is r.TTFTS; else the first chunk time; else, for a non-streamed
// response, E2E (the body is the first and only arrival of output). A
// streamed response without output text has none, and neither has an
// embeddings request (Inputs > 0).
func TTFT(r *record.Record) (float64, bool) {
	switch {
	case r.Inputs > 0:
		return 0, false // an embeddings request has no output
	case r.TTFTS > 0:
		return r.TTFTS, true
	case len(r.ChunkTimesS) > 0:
		return r.ChunkTimesS[0], true
	case !r.Stream && r.OK():
		return r.E2ES, true
	}
	return 0, false
}

// TPOT returns the time per output token of r in seconds,
// (E2E − TTFT)/(n_out − 1), and whether r has one: only a successful
// streamed request with a TTFT and more than one output token does.
func TPOT(r *record.Record) (float64, bool) {
	if !r.OK() || !r.Stream || r.OutputTokens <= 1 {
		return 0, false
	}
	t, ok := TTFT(r)
	if !ok {
		return 0, false
	}
	return (r.E2ES - t) / float64(r.OutputTokens-1), true
}

// OutputSpeed returns the per-request decode speed of r, 1/TPOT in
// tokens/s, and whether r has one: it needs a TPOT greater than 0.
func OutputSpeed(r *record.Record) (float64, bool) {
	tp, ok := TPOT(r)
	if !ok || !(tp > 0) {
		return 0, false
	}
	return 1 / tp, true
}

// MaxITL returns the largest gap, seconds, between consecutive content
// chunks of r, and whether r has one: only a successful streamed request
// with at least two content chunks does.
func MaxITL(r *record.Record) (float64, bool) {
	if !r.OK() || !r.Stream || len(r.ChunkTimesS) < 2 {
		return 0, false
	}
	m := math.Inf(-1)
	for j := 1; j < len(r.ChunkTimesS); j++ {
		m = math.Max(m, r.ChunkTimesS[j]-r.ChunkTimesS[j-1])
	}
	return m, true
}

// requestE2E describes, over successful non-warm-up requests, the time
// from each request's first send to its final end, retries included.
func requestE2E(recs []record.Record) Dist {
	first := map[int64]float64{}
	for i := range recs {
		r := &recs[i]
		if f, ok := first[r.ID]; !ok || r.SentS < f {
			first[r.ID] = r.SentS
		}
	}
	var xs []float64
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Retried || !r.OK() {
			continue
		}
		xs = append(xs, r.SentS+r.E2ES-first[r.ID])
	}
	return Describe(xs)
}
