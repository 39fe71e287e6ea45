// Package record holds the per-request Record, the unit of truth of a run,
// and its JSONL encoding. Every field and its unit is documented in
// docs/run-directory.md; a change of meaning bumps SchemaVersion.
package record

import "github.com/llmload/llmload/llm"

// SchemaVersion is the version of the Record JSON schema written to
// records.jsonl. Readers reject lines with a newer major version.
const SchemaVersion = 1

// Token count sources.
const (
	SourceServer = "server" // the server's usage report
	SourceLocal  = "local"  // llmload's tokenizer
)

// Record is what llmload knows about one request. Times are seconds:
// absolute ones since the run's start (monotonic clock), the rest relative
// to the moment the request was sent.
type Record struct {
	SchemaVersion int `json:"schema_version"`
	// ID numbers requests in the order they were scheduled, from 0.
	ID int64 `json:"id"`
	// Attempt numbers the attempts of a retried request from 0; (ID,
	// Attempt) is unique. Retried marks an attempt that failed and was
	// retried: it is not the request's outcome, but it was sent (and paid
	// for), so it is kept.
	Attempt int  `json:"attempt,omitempty"`
	Retried bool `json:"retried,omitempty"`
	// LimiterWaitS is how long the client-side rate limiter held this
	// attempt back before sending, seconds (within the schedule lag).
	LimiterWaitS float64 `json:"limiter_wait_s,omitempty"`
	// Worker is the closed-loop worker that sent it.
	Worker int `json:"worker"`
	// Warmup requests are excluded from every statistic.
	Warmup bool `json:"warmup,omitempty"`
	// PromptSet names the prompt set of a mixed workload the request was
	// drawn from; absent for a single workload.
	PromptSet string `json:"prompt_set,omitempty"`
	// SessionID numbers the multi-turn session (--turns) the request is a
	// turn of, from 0, and Turn is its turn within it, from 1; both absent
	// outside sessions.
	SessionID *int64 `json:"session_id,omitempty"`
	Turn      int    `json:"turn,omitempty"`
	// SessionTurns is how many turns the session has (the last one's
	// Turn), whether or not the run sent them all; absent outside sessions.
	SessionTurns int `json:"session_turns,omitempty"`
	// Batch numbers the batch of the batch modes, from 1; absent otherwise.
	Batch int `json:"batch,omitempty"`
	// TargetLoad is the load the schedule aimed for when it scheduled the
	// request: workers (closed loop, batches) or requests per second (rate
	// mode); it changes during a ramp.
	TargetLoad float64 `json:"target_load"`
	// ScheduledS is t_sched: when the schedule wanted the request sent,
	// seconds since run start.
	ScheduledS float64 `json:"scheduled_s"`
	// SentS is t_send: when the request was handed to the HTTP client,
	// seconds since run start.
	SentS float64 `json:"sent_s"`
	// TTFTS is t_first − t_send in seconds, t_first the arrival of the
	// first chunk carrying output of any kind (answer, reasoning or tool
	// call); absent when no output arrived.
	TTFTS float64 `json:"ttft_s,omitempty"`
	// TTFTReasoningS, TTFTAnswerS and TTFTToolCallS are the arrivals of
	// the first chunk carrying reasoning, answer text (other than
	// whitespace) and a tool call, seconds since t_send. They are written
	// only for a response that carried reasoning or tool calls (for any
	// other, the first answer token is TTFTS), each absent when its kind
	// never arrived.
	TTFTReasoningS float64 `json:"ttft_reasoning_s,omitempty"`
	TTFTAnswerS    float64 `json:"ttft_answer_s,omitempty"`
	TTFTToolCallS  float64 `json:"ttft_tool_call_s,omitempty"`
	// ReasoningChunks counts the chunks that carried reasoning (a
	// reasoning delta, or text or tags of a think block). ReasoningTokens
	// is the server's usage.completion_tokens_details.reasoning_tokens
	// when it reported it, else the local tokenizer's count of the
	// reasoning text; reasoning tokens are part of OutputTokens.
	ReasoningChunks int `json:"reasoning_chunks,omitempty"`
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
	// ToolCalls counts the tool calls the response made (distinct
	// tool_calls indices), ToolCallChunks the chunks that carried them.
	ToolCalls      int `json:"tool_calls,omitempty"`
	ToolCallChunks int `json:"tool_call_chunks,omitempty"`
	// E2ES is t_end − t_send in seconds: to the end of the response, or to
	// the failure.
	E2ES float64 `json:"e2e_s"`
	// ChunkTimesS holds the arrival of every chunk carrying output of
	// any kind, seconds since t_send; the first equals TTFTS.
	ChunkTimesS []float64 `json:"chunk_times_s,omitempty"`
	// ReceiveStamps tells that every arrival of this response (its chunk
	// times, TTFT and end) is the kernel's receive time of the packet that
	// completed it (SO_TIMESTAMPNS, the lean HTTP client on Linux), not
	// the moment llmload read it (docs/metrics.md, "Kernel receive
	// timestamps"); absent when any arrival is llmload's read time.
	ReceiveStamps bool `json:"receive_stamps,omitempty"`
	// ReadLagMaxS is, with ReceiveStamps, the longest time between a
	// read's receive time and llmload's read, seconds: how long the last
	// packet of a read waited on this host. A packet that came earlier
	// and was read with a later one waited longer: see BunchedChunks.
	ReadLagMaxS float64 `json:"read_lag_max_s,omitempty"`
	// BunchedChunks counts, with ReceiveStamps, the output chunks that
	// came in one read with the event after them (the next chunk, the
	// usage, the end), so that their arrival is that later packet's: a
	// server that writes several events at once, or llmload reading more
	// than a token gap late. The kernel keeps one receive time per read,
	// its last packet's.
	BunchedChunks int `json:"bunched_chunks,omitempty"`
	// BunchedLastChunk tells, with ReceiveStamps, that the response's last
	// output chunk is one of BunchedChunks: it came in one read with the
	// end of the response (the usage, [DONE]), which servers usually
	// write right after it, so that only its own time can be late, by the
	// server's pause between the two. Every other bunched chunk was read
	// with a later output chunk, and the gap between them is lost.
	BunchedLastChunk bool `json:"bunched_last_chunk,omitempty"`
	// InputTokens and OutputTokens are the counts statistics use: the
	// server's usage when it reported one (TokenSource "server"), else the
	// local tokenizer's ("local").
	InputTokens  int    `json:"input_tokens"`
	OutputTokens int    `json:"output_tokens"`
	TokenSource  string `json:"token_source"`
	// InputTokensLocal and OutputTokensLocal are llmload's own tokenizer
	// counts of the prompt sent and the text received, kept so that a
	// disagreement with the server can be reported.
	InputTokensLocal  int `json:"input_tokens_local"`
	OutputTokensLocal int `json:"output_tokens_local"`
	// CachedInputTokens is how many of InputTokens the server reported
	// taking from its prompt (prefix) cache, tokens; absent when the server
	// reported nothing about its cache (see docs/providers.md).
	CachedInputTokens *int `json:"cached_input_tokens,omitempty"`
	// Inputs is the number of inputs of an embeddings request (one vector
	// each); absent for every other request.
	Inputs int `json:"inputs,omitempty"`
	// RequestedOutputTokens is the max_tokens sent (0: none).
	RequestedOutputTokens int `json:"requested_output_tokens"`
	// InputTokensClipped and RequestedOutputTokensClipped tell that the
	// drawn synthetic prompt length or max_tokens fell below the workload's
	// floor (docs/workload.md) and was raised to it.
	InputTokensClipped           bool `json:"input_tokens_clipped,omitempty"`
	RequestedOutputTokensClipped bool `json:"requested_output_tokens_clipped,omitempty"`
	// Stream tells whether the response was streamed.
	Stream bool `json:"stream"`
	// FinishReason is the server's ("stop", "length"), when given.
	FinishReason string `json:"finish_reason,omitempty"`
	// ResponseID is the server's id for the response, when given.
	ResponseID string `json:"response_id,omitempty"`
	// Status is the HTTP status code of a failed request, when a response
	// arrived (0 for successes and for failures before any response).
	Status int `json:"status,omitempty"`
	// ServerTimingS holds the timings the server reported about this
	// request, seconds, by name (see docs/providers.md); absent when the
	// server reports none.
	ServerTimingS map[string]float64 `json:"server_timing_s,omitempty"`
	// ErrorKind is empty for a success.
	ErrorKind llm.ErrorKind `json:"error_kind,omitempty"`
	// Error is a one-line description of the failure.
	Error string `json:"error,omitempty"`

	// NewConnection tells that the attempt was sent on a connection opened
	// for it rather than one reused from the keep-alive pool.
	NewConnection bool `json:"new_connection,omitempty"`
	// Replays counts the times the attempt was sent again on another
	// connection because a reused one closed before any response byte
	// arrived (the server never saw it). Not retries, not errors.
	Replays int `json:"replays,omitempty"`
	// DialS is the time spent opening TCP connections for the attempt
	// (connect start to connect done), seconds; TLSS the TLS handshake
	// time, seconds. Absent when no connection was opened.
	DialS float64 `json:"dial_s,omitempty"`
	TLSS  float64 `json:"tls_s,omitempty"`
	// RetryAfterS is how long the server's Retry-After asked the client to
	// wait before the next attempt, seconds, as parsed; RetryAfterWaitS
	// is how long it waited for it (capped, see --max-retry-after). Set
	// on retried attempts whose error carried a Retry-After.
	RetryAfterS     float64 `json:"retry_after_s,omitempty"`
	RetryAfterWaitS float64 `json:"retry_after_wait_s,omitempty"`
	// ConnBackoffS is how long the closed-loop worker waited before this
	// request because its previous request failed with a connection error
	// (exponential from 10 ms to 1 s), seconds; absent otherwise.
	ConnBackoffS float64 `json:"conn_backoff_s,omitempty"`
}

// OK reports whether the request succeeded.
func (r *Record) OK() bool { return r.ErrorKind == "" }
