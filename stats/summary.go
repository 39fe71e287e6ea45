package stats

import (
	"math"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// SummarySchemaVersion is the version of the Summary JSON schema written to
// summary.json. A change of meaning of any field bumps it.
const SummarySchemaVersion = 1

// RunInfo describes the run a summary is about. The CLI fills it in;
// Summarize passes it through to summary.json's "run".
type RunInfo struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
	BaseURL  string `json:"base_url"`
	API      string `json:"api"`
	Stream   bool   `json:"stream"`

	Mode           string  `json:"mode"`
	Concurrency    int     `json:"concurrency"`
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

	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	StopReason  string    `json:"stop_reason"`
	Interrupted bool      `json:"interrupted"`
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
		sumIn, sumOut                        float64
		first, last                          = math.Inf(1), math.Inf(-1)
		inDiff, outDiff                      float64
	)
	for i := range recs {
		r := &recs[i]
		if r.Warmup {
			s.Requests.WarmupExcluded++
			continue
		}
		s.Requests.Total++
		first = math.Min(first, r.SentS)
		last = math.Max(last, r.SentS+r.E2ES)
		lag = append(lag, r.SentS-r.ScheduledS)
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

		if t, ok := TTFT(r); ok {
			ttft = append(ttft, t)
		}
		e2e = append(e2e, r.E2ES)
		if r.Stream {
			for j := 1; j < len(r.ChunkTimesS); j++ {
				itl = append(itl, r.ChunkTimesS[j]-r.ChunkTimesS[j-1])
			}
			if t, ok := TTFT(r); ok && r.OutputTokens > 1 {
				tp := (r.E2ES - t) / float64(r.OutputTokens-1)
				tpot = append(tpot, tp)
				if tp > 0 {
					speed = append(speed, 1/tp)
				}
			}
		}
		if r.E2ES > 0 {
			reqTput = append(reqTput, float64(r.OutputTokens)/r.E2ES)
		}
		nIn = append(nIn, float64(r.InputTokens))
		nOut = append(nOut, float64(r.OutputTokens))
		sumIn += float64(r.InputTokens)
		sumOut += float64(r.OutputTokens)

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
	s.Concurrency = concurrency(recs, w)
	tc := &s.TokenCounts
	tc.MeanInputDiff = div(inDiff, float64(tc.InputMismatchRequests))
	tc.MeanOutputDiff = div(outDiff, float64(tc.OutputMismatchRequests))
	return s
}

// TTFT returns the time to first token of r in seconds, and whether r has
// one. It is r.TTFTS; else the first chunk time; else, for a non-streamed
// response, E2E (the body is the first and only arrival of output). A
// streamed response without output text has none.
func TTFT(r *record.Record) (float64, bool) {
	switch {
	case r.TTFTS > 0:
		return r.TTFTS, true
	case len(r.ChunkTimesS) > 0:
		return r.ChunkTimesS[0], true
	case !r.Stream && r.OK():
		return r.E2ES, true
	}
	return 0, false
}
