package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// This file is the Amazon Bedrock runtime wire protocol:
//
//	POST /model/{modelId}/converse-stream              ConverseStream (AWS event stream)
//	POST /model/{modelId}/converse                     Converse (JSON)
//	POST /model/{modelId}/invoke-with-response-stream  InvokeModelWithResponseStream (event stream of "chunk")
//	POST /model/{modelId}/invoke                       InvokeModel (model-native JSON)
//
// Any model id is accepted (users pass real Bedrock ids and ARNs, URL-escaped
// in the path). SigV4 signatures and API keys are not checked. The
// model-native body is Meta Llama's ({"prompt", "max_gen_len"}).
//
// Bedrock has no ignore_eos: a request that sets maxTokens (max_gen_len)
// gets exactly that many tokens, so benchmarks get exact lengths; without
// it the natural length applies (Converse), or Llama's default 512
// (invoke).

// llamaDefaultMaxGenLen is Bedrock's default max_gen_len for Meta Llama.
const llamaDefaultMaxGenLen = 512

// Bedrock operations, by the last path segment.
const (
	bedrockConverseStream = "converse-stream"
	bedrockConverse       = "converse"
	bedrockInvokeStream   = "invoke-with-response-stream"
	bedrockInvoke         = "invoke"
)

// Bedrock error messages, as the service words them.
const (
	bedrockThrottledMsg   = "Too many requests, please wait before trying again."
	bedrockUnavailableMsg = "Bedrock is unable to process your request."
	bedrockTimeoutMsg     = "Model has timed out in processing the request. Try your request again."
)

// converseRequest is the body of Converse and ConverseStream.
type converseRequest struct {
	Messages []struct {
		Role    string             `json:"role"`
		Content []converseTextPart `json:"content"`
	} `json:"messages"`
	System          []converseTextPart `json:"system"`
	InferenceConfig *struct {
		MaxTokens *int `json:"maxTokens"`
	} `json:"inferenceConfig"`
}

// converseTextPart is a content or system block; blocks other than text
// (images, documents, tool use) count no tokens.
type converseTextPart struct {
	Text string `json:"text"`
}

// llamaRequest is Meta Llama's native InvokeModel body.
type llamaRequest struct {
	Prompt    *string `json:"prompt"`
	MaxGenLen *int    `json:"max_gen_len"`
}

// writeBedrockError writes a Bedrock error: the X-Amzn-ErrorType header the
// SDK reads the exception type from, and {"message": ...}.
func writeBedrockError(w http.ResponseWriter, status int, typ, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Write(append(b, '\n'))
}

// bedrockOp splits /model/{modelId}/{op}; the model id may hold escaped
// slashes and colons (ARNs, inference profiles).
func bedrockOp(r *http.Request) (model, op string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSuffix(r.URL.EscapedPath(), "/"), "/model/")
	i := strings.LastIndexByte(rest, '/')
	if !found || i <= 0 {
		return "", "", false
	}
	model, err := url.PathUnescape(rest[:i])
	if err != nil || model == "" {
		return "", "", false
	}
	return model, rest[i+1:], true
}

// serveBedrock serves one Bedrock runtime request.
func (s *Server) serveBedrock(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	_, op, ok := bedrockOp(r)
	switch {
	case !ok || (op != bedrockConverseStream && op != bedrockConverse && op != bedrockInvokeStream && op != bedrockInvoke):
		writeBedrockError(w, http.StatusNotFound, "UnknownOperationException",
			"unknown path "+r.URL.Path+" (serving POST /model/{modelId}/converse-stream, /converse, /invoke-with-response-stream, /invoke)")
		return
	case r.Method != http.MethodPost:
		writeBedrockError(w, http.StatusMethodNotAllowed, "ValidationException", "method "+r.Method+" not allowed; use POST")
		return
	}
	body := io.LimitReader(r.Body, maxBodyBytes)
	raw, err := io.ReadAll(body)
	io.Copy(io.Discard, r.Body) // read to EOF so net/http notices a client that goes away
	if err != nil {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", "reading body: "+err.Error())
		return
	}
	converse := op == bedrockConverseStream || op == bedrockConverse
	var (
		prompt int
		parts  []string
		params genParams
	)
	if converse {
		prompt, parts, params, err = s.parseConverse(raw)
	} else {
		prompt, parts, params, err = s.parseLlama(raw)
	}
	if err != nil {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	pl, msg := s.planRequest(params, prompt, parts)
	if msg != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", msg)
		return
	}
	if ok, wait := s.quota.Take(time.Now(), pl.reserve); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeBedrockError(w, http.StatusTooManyRequests, "ThrottlingException", bedrockThrottledMsg)
		return
	}
	id := fmt.Sprintf("bedrock-%d", s.ids.Add(1))
	q, err := s.enqueue(id, pl, arrived)
	switch err {
	case nil:
	case errOverloaded:
		writeBedrockError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", bedrockUnavailableMsg)
		return
	default:
		writeBedrockError(w, http.StatusInternalServerError, "InternalServerException", "server shutting down")
		return
	}
	br := &bedrockResponder{w: w, rc: http.NewResponseController(w), op: op, converse: converse,
		stream: op == bedrockConverseStream || op == bedrockInvokeStream, id: id, pl: pl, arrived: arrived}
	s.deliver(r, q, pl, arrived, br)
}

// parseConverse counts a Converse request's prompt like a chat template:
// Σ (text tokens + chatTokensPerMessage) over messages and system blocks,
// plus chatTokensReply. maxTokens, when set, is the exact output length.
func (s *Server) parseConverse(raw []byte) (int, []string, genParams, error) {
	var req converseRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return 0, nil, genParams{}, fmt.Errorf("Malformed input request: %v", err)
	}
	if len(req.Messages) == 0 {
		return 0, nil, genParams{}, errors.New("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	n := chatTokensReply
	var parts []string
	for _, b := range req.System {
		n += s.tok.Count(b.Text) + chatTokensPerMessage
		parts = append(parts, "system", b.Text)
	}
	for _, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return 0, nil, genParams{}, fmt.Errorf("1 validation error detected: Value '%s' at 'messages.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role)
		}
		n += chatTokensPerMessage
		parts = append(parts, m.Role)
		for _, c := range m.Content {
			n += s.tok.Count(c.Text)
			parts = append(parts, c.Text)
		}
	}
	var p genParams
	if req.InferenceConfig != nil && req.InferenceConfig.MaxTokens != nil {
		p.MaxTokens, p.IgnoreEOS = req.InferenceConfig.MaxTokens, true
	}
	return n, parts, p, nil
}

// parseLlama counts a Llama native body's prompt (the raw text: the caller
// applies any chat template). The output is exactly max_gen_len tokens
// (default 512).
func (s *Server) parseLlama(raw []byte) (int, []string, genParams, error) {
	var req llamaRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return 0, nil, genParams{}, fmt.Errorf("Malformed input request: %v, please reformat your input and try again.", err)
	}
	if req.Prompt == nil {
		return 0, nil, genParams{}, errors.New("Malformed input request: #: required key [prompt] not found, please reformat your input and try again.")
	}
	limit := req.MaxGenLen
	if limit == nil {
		d := llamaDefaultMaxGenLen
		limit = &d
	}
	return s.tok.Count(*req.Prompt), []string{*req.Prompt}, genParams{MaxTokens: limit, IgnoreEOS: true}, nil
}

// bedrockResponder writes one Bedrock response. Streams are AWS event
// streams (application/vnd.amazon.eventstream): binary frames with the
// headers :event-type, :content-type and :message-type, each flushed as it
// is written.
type bedrockResponder struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	op        string
	converse  bool
	stream    bool
	id        string
	pl        plan
	arrived   time.Time
	started   bool
	firstByte time.Duration // arrival to the first token (invoke streams)
	enc       *eventstream.Encoder
	text      strings.Builder // non-streaming output
}

// frame writes one event-stream message and flushes it.
func (br *bedrockResponder) frame(msgType, typeHeader, name string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var msg eventstream.Message
	msg.Headers.Set(typeHeader, eventstream.StringValue(name))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Headers.Set(":message-type", eventstream.StringValue(msgType))
	msg.Payload = payload
	if err := br.enc.Encode(br.w, msg); err != nil {
		return err
	}
	return br.rc.Flush()
}

func (br *bedrockResponder) event(name string, v any) error {
	return br.frame("event", ":event-type", name, v)
}

// start sends the status and headers of a stream (with the first token, so
// that a timeout before it can still be an HTTP error).
func (br *bedrockResponder) start() error {
	br.started = true
	br.enc = eventstream.NewEncoder()
	h := br.w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-Requestid", br.id)
	if !br.converse {
		h.Set("X-Amzn-Bedrock-Content-Type", "application/json")
	}
	br.w.WriteHeader(http.StatusOK)
	if br.converse {
		return br.event("messageStart", map[string]string{"role": "assistant"})
	}
	return nil
}

// llamaChunk is a Meta Llama streamed chunk (or whole response).
type llamaChunk struct {
	Generation           string          `json:"generation"`
	PromptTokenCount     *int            `json:"prompt_token_count"`
	GenerationTokenCount int             `json:"generation_token_count"`
	StopReason           *string         `json:"stop_reason"`
	Metrics              *bedrockMetrics `json:"amazon-bedrock-invocationMetrics,omitempty"`
}

type bedrockMetrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// chunk writes an InvokeModelWithResponseStream "chunk" event; its payload
// is {"bytes": base64(JSON)} (encoding/json encodes []byte as base64).
func (br *bedrockResponder) chunk(c llamaChunk) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return br.event("chunk", struct {
		Bytes []byte `json:"bytes"`
	}{b})
}

func (br *bedrockResponder) token(i int) error {
	text := word(br.pl.hash, i)
	if !br.stream {
		br.text.WriteString(text)
		return nil
	}
	if !br.started {
		if err := br.start(); err != nil {
			return err
		}
	}
	if br.converse {
		return br.event("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]string{"text": text}})
	}
	c := llamaChunk{Generation: text, GenerationTokenCount: i + 1}
	if i == 0 {
		c.PromptTokenCount = &br.pl.prompt
		br.firstByte = time.Since(br.arrived)
	}
	return br.chunk(c)
}

// stopReason is the Converse stopReason of the plan's finish.
func (br *bedrockResponder) stopReason() string {
	if br.pl.finish == "length" {
		return "max_tokens"
	}
	return "end_turn"
}

func (br *bedrockResponder) usage() map[string]int {
	return map[string]int{"inputTokens": br.pl.prompt, "outputTokens": br.pl.target, "totalTokens": br.pl.prompt + br.pl.target}
}

func (br *bedrockResponder) end() {
	latency := time.Since(br.arrived).Milliseconds()
	switch {
	case br.stream && br.converse:
		if !br.started && br.start() != nil {
			return
		}
		if br.event("contentBlockStop", map[string]int{"contentBlockIndex": 0}) != nil ||
			br.event("messageStop", map[string]string{"stopReason": br.stopReason()}) != nil {
			return
		}
		br.event("metadata", map[string]any{"usage": br.usage(), "metrics": map[string]int64{"latencyMs": latency}})
	case br.stream:
		if !br.started && br.start() != nil {
			return
		}
		finish := br.pl.finish
		br.chunk(llamaChunk{GenerationTokenCount: br.pl.target, StopReason: &finish,
			Metrics: &bedrockMetrics{InputTokenCount: br.pl.prompt, OutputTokenCount: br.pl.target,
				InvocationLatency: latency, FirstByteLatency: br.firstByte.Milliseconds()}})
	case br.converse:
		h := br.w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", br.id)
		json.NewEncoder(br.w).Encode(map[string]any{
			"output": map[string]any{"message": map[string]any{
				"role": "assistant", "content": []map[string]string{{"text": br.text.String()}}}},
			"stopReason": br.stopReason(),
			"usage":      br.usage(),
			"metrics":    map[string]int64{"latencyMs": latency},
		})
	default:
		h := br.w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", br.id)
		h.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(br.pl.prompt))
		h.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(br.pl.target))
		h.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(latency, 10))
		finish := br.pl.finish
		json.NewEncoder(br.w).Encode(llamaChunk{Generation: br.text.String(), PromptTokenCount: &br.pl.prompt,
			GenerationTokenCount: br.pl.target, StopReason: &finish})
	}
}

// fail ends the response early. Before anything was sent: HTTP 408
// ModelTimeoutException (timeout) or 500 InternalServerException (server
// closed). On an open stream, an exception frame: for ConverseStream,
// whose union has no modelTimeoutException, a timeout is a
// modelStreamErrorException with originalStatusCode 408; for
// InvokeModelWithResponseStream it is a modelTimeoutException.
func (br *bedrockResponder) fail(reason string) {
	timeout := reason == reasonTimeout
	if !br.started {
		if timeout {
			writeBedrockError(br.w, http.StatusRequestTimeout, "ModelTimeoutException", bedrockTimeoutMsg)
		} else {
			writeBedrockError(br.w, http.StatusInternalServerError, "InternalServerException", "server shutting down")
		}
		return
	}
	switch {
	case !timeout:
		br.frame("exception", ":exception-type", "internalServerException", map[string]string{"message": "server shutting down"})
	case br.converse:
		br.frame("exception", ":exception-type", "modelStreamErrorException", map[string]any{
			"message": bedrockTimeoutMsg, "originalStatusCode": http.StatusRequestTimeout, "originalMessage": reasonTimeout})
	default:
		br.frame("exception", ":exception-type", "modelTimeoutException", map[string]string{"message": bedrockTimeoutMsg})
	}
}
