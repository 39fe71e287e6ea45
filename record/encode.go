package record

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/llmload/llmload/internal/jsonenc"
)

// AppendJSON appends r as encoding/json marshals it, byte for byte
// (TestAppendJSONIsEncodingJSON), without its trailing newline.
//
// It exists for the run's hot path: one record per request, written as
// the request ends, most of it chunk times. encoding/json spends most of
// a record of 129 chunk times formatting the floats through strconv's
// shortest-representation search; a time that is a whole number of
// nanoseconds, as every time llmload measures is, is written here
// straight from its integer (jsonenc.AppendFloat), and the record takes
// ≈ 0.23× encoding/json's CPU (BenchmarkWriteRecord). encoding/json
// cannot be told to do that: it re-scans the output of a field's
// MarshalJSON, which made a custom marshaler slower, not faster.
//
// A NaN or infinite float is an error, as it is for encoding/json.
func AppendJSON(b []byte, r *Record) ([]byte, error) {
	e := encoder{b: b}
	e.b = append(e.b, '{')
	e.int(`"schema_version":`, int64(r.SchemaVersion))
	e.int(`,"id":`, r.ID)
	if r.Attempt != 0 {
		e.int(`,"attempt":`, int64(r.Attempt))
	}
	if r.Retried {
		e.b = append(e.b, `,"retried":true`...)
	}
	if r.LimiterWaitS != 0 {
		e.float(`,"limiter_wait_s":`, r.LimiterWaitS)
	}
	e.int(`,"worker":`, int64(r.Worker))
	if r.Warmup {
		e.b = append(e.b, `,"warmup":true`...)
	}
	if r.PromptSet != "" {
		e.string(`,"prompt_set":`, r.PromptSet)
	}
	if r.SessionID != nil {
		e.int(`,"session_id":`, *r.SessionID)
	}
	if r.Turn != 0 {
		e.int(`,"turn":`, int64(r.Turn))
	}
	if r.SessionTurns != 0 {
		e.int(`,"session_turns":`, int64(r.SessionTurns))
	}
	if r.Batch != 0 {
		e.int(`,"batch":`, int64(r.Batch))
	}
	e.float(`,"target_load":`, r.TargetLoad)
	e.float(`,"scheduled_s":`, r.ScheduledS)
	e.float(`,"sent_s":`, r.SentS)
	e.omitFloat(`,"ttft_s":`, r.TTFTS)
	e.omitFloat(`,"ttft_reasoning_s":`, r.TTFTReasoningS)
	e.omitFloat(`,"ttft_answer_s":`, r.TTFTAnswerS)
	e.omitFloat(`,"ttft_tool_call_s":`, r.TTFTToolCallS)
	e.omitInt(`,"reasoning_chunks":`, r.ReasoningChunks)
	e.omitInt(`,"reasoning_tokens":`, r.ReasoningTokens)
	e.omitInt(`,"tool_calls":`, r.ToolCalls)
	e.omitInt(`,"tool_call_chunks":`, r.ToolCallChunks)
	e.float(`,"e2e_s":`, r.E2ES)
	if len(r.ChunkTimesS) > 0 {
		e.b = append(e.b, `,"chunk_times_s":[`...)
		for i, t := range r.ChunkTimesS {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.value(t)
		}
		e.b = append(e.b, ']')
	}
	if r.ReceiveStamps {
		e.b = append(e.b, `,"receive_stamps":true`...)
	}
	e.omitFloat(`,"read_lag_max_s":`, r.ReadLagMaxS)
	e.omitInt(`,"bunched_chunks":`, r.BunchedChunks)
	if r.BunchedLastChunk {
		e.b = append(e.b, `,"bunched_last_chunk":true`...)
	}
	e.int(`,"input_tokens":`, int64(r.InputTokens))
	e.int(`,"output_tokens":`, int64(r.OutputTokens))
	e.string(`,"token_source":`, r.TokenSource)
	e.int(`,"input_tokens_local":`, int64(r.InputTokensLocal))
	e.int(`,"output_tokens_local":`, int64(r.OutputTokensLocal))
	if r.CachedInputTokens != nil {
		e.int(`,"cached_input_tokens":`, int64(*r.CachedInputTokens))
	}
	e.omitInt(`,"inputs":`, r.Inputs)
	e.int(`,"requested_output_tokens":`, int64(r.RequestedOutputTokens))
	if r.InputTokensClipped {
		e.b = append(e.b, `,"input_tokens_clipped":true`...)
	}
	if r.RequestedOutputTokensClipped {
		e.b = append(e.b, `,"requested_output_tokens_clipped":true`...)
	}
	if r.Stream {
		e.b = append(e.b, `,"stream":true`...)
	} else {
		e.b = append(e.b, `,"stream":false`...)
	}
	if r.FinishReason != "" {
		e.string(`,"finish_reason":`, r.FinishReason)
	}
	if r.ResponseID != "" {
		e.string(`,"response_id":`, r.ResponseID)
	}
	e.omitInt(`,"status":`, r.Status)
	if len(r.ServerTimingS) > 0 {
		// encoding/json sorts a map's keys.
		names := make([]string, 0, len(r.ServerTimingS))
		for name := range r.ServerTimingS {
			names = append(names, name)
		}
		slices.Sort(names)
		e.b = append(e.b, `,"server_timing_s":{`...)
		for i, name := range names {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(name)
			e.b = append(e.b, ':')
			e.value(r.ServerTimingS[name])
		}
		e.b = append(e.b, '}')
	}
	if r.ErrorKind != "" {
		e.string(`,"error_kind":`, string(r.ErrorKind))
	}
	if r.Error != "" {
		e.string(`,"error":`, r.Error)
	}
	if r.NewConnection {
		e.b = append(e.b, `,"new_connection":true`...)
	}
	e.omitInt(`,"replays":`, r.Replays)
	e.omitFloat(`,"dial_s":`, r.DialS)
	e.omitFloat(`,"tls_s":`, r.TLSS)
	e.omitFloat(`,"retry_after_s":`, r.RetryAfterS)
	e.omitFloat(`,"retry_after_wait_s":`, r.RetryAfterWaitS)
	e.omitFloat(`,"conn_backoff_s":`, r.ConnBackoffS)
	e.b = append(e.b, '}')
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// encoder appends JSON; err keeps the first unsupported value.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) int(key string, v int64) {
	e.b = strconv.AppendInt(append(e.b, key...), v, 10)
}

func (e *encoder) omitInt(key string, v int) {
	if v != 0 {
		e.int(key, int64(v))
	}
}

func (e *encoder) float(key string, v float64) {
	e.b = append(e.b, key...)
	e.value(v)
}

func (e *encoder) omitFloat(key string, v float64) {
	if v != 0 {
		e.float(key, v)
	}
}

func (e *encoder) value(v float64) {
	var ok bool
	if e.b, ok = jsonenc.AppendFloat(e.b, v); !ok && e.err == nil {
		e.err = fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(v, 'g', -1, 64))
	}
}

func (e *encoder) string(key, s string) {
	e.b = append(e.b, key...)
	e.str(s)
}

// str appends s as a JSON string.
func (e *encoder) str(s string) { e.b = jsonenc.AppendString(e.b, s) }
