package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// This file is the Amazon SageMaker runtime wire protocol: InvokeEndpoint
// (POST /endpoints/{name}/invocations) and InvokeEndpointWithResponseStream
// (POST /endpoints/{name}/invocations-response-stream), in front of a
// container that speaks TGI's /invocations body or an OpenAI-style body
// (LMI/vLLM). SigV4 signatures are not checked.
//
// Streams are AWS event streams (application/vnd.amazon.eventstream) of
// PayloadPart events whose payload is raw container bytes: TGI lines
// `data:{"token":…}` + "\n\n", or OpenAI chunks `data: {…}` + "\n\n" ending
// with `data: [DONE]`. Every sageMakerSplitEvery-th line is split across two
// PayloadParts, as the real service may cut the container's bytes anywhere,
// so clients must reassemble lines.

// SageMakerInvocationTimeout is SageMaker's invocation timeout in simulated
// time. The handler applies Options.InvocationTimeout when it is set, else
// this × TimeScale.
const SageMakerInvocationTimeout = 60 * time.Second

// SageMaker's limits and the identity the simulator reports in messages.
const (
	sageMakerMaxBody     = 6 << 20 // InvokeEndpoint's payload limit
	sageMakerSplitEvery  = 7       // every 7th streamed line spans two PayloadParts
	sageMakerTGIDefault  = 100     // TGI's default max_new_tokens
	sageMakerAccount     = "123456789012"
	sageMakerRegion      = "us-east-1"
	sageMakerVariant     = "AllTraffic"
	sageMakerTimeoutText = "Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)

// sageMakerName is SageMaker's EndpointName pattern.
var sageMakerName = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`)

// smFormat is the shape of an invocation body.
type smFormat int

const (
	smTGI        smFormat = iota + 1 // {"inputs", "parameters"}: TGI lines out
	smChat                           // {"messages"}: OpenAI chat chunks out
	smCompletion                     // {"prompt"}: OpenAI completion chunks out
)

// smBody is an invocation body in any of the accepted shapes: the OpenAI
// fields of genRequest, or TGI's inputs and parameters.
type smBody struct {
	genRequest
	Inputs     json.RawMessage `json:"inputs"`
	Parameters *struct {
		MaxNewTokens *int   `json:"max_new_tokens"`
		Seed         *int64 `json:"seed"`
		Details      bool   `json:"details"`
	} `json:"parameters"`
}

// serveSageMaker serves the SageMaker runtime protocol.
func (s *Server) serveSageMaker(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	rest := strings.TrimPrefix(r.URL.Path, "/endpoints/")
	name, op, _ := strings.Cut(rest, "/")
	var stream bool
	switch op {
	case "invocations":
	case "invocations-response-stream":
		stream = true
	default:
		writeAWSError(w, http.StatusNotFound, "UnknownOperationException", "", map[string]any{"message": "unknown operation " + r.URL.Path})
		return
	}
	if r.Method != http.MethodPost {
		writeAWSError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "", map[string]any{"message": "method " + r.Method + " not allowed; use POST"})
		return
	}
	if len(name) > 63 || !sageMakerName.MatchString(name) {
		writeValidationError(w, fmt.Sprintf("1 validation error detected: Value '%s' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*", name))
		return
	}
	// X-Amzn-SageMaker-Inference-Component, -Custom-Attributes,
	// -Target-Variant and the SigV4 headers are accepted and ignored.
	raw, err := io.ReadAll(io.LimitReader(r.Body, sageMakerMaxBody+1))
	io.Copy(io.Discard, r.Body) // read to EOF so that r.Context() tracks the client
	if err != nil {
		return
	}
	if len(raw) > sageMakerMaxBody {
		writeValidationError(w, fmt.Sprintf("Request payload size exceeds the limit of %d bytes", sageMakerMaxBody))
		return
	}
	em := &smEmitter{s: s, w: w, rc: http.NewResponseController(w), endpoint: name, stream: stream, created: arrived.Unix()}

	var body smBody
	if err := json.Unmarshal(raw, &body); err != nil {
		em.modelError(http.StatusUnprocessableEntity, tgiError("Failed to deserialize the JSON body into the target type: "+err.Error(), "validation"))
		return
	}
	var (
		prompt int
		parts  []string
		gp     genParams
	)
	switch {
	case len(body.Inputs) > 0 && string(body.Inputs) != "null":
		em.format = smTGI
		var inputs string
		if err := json.Unmarshal(body.Inputs, &inputs); err != nil {
			em.modelError(http.StatusUnprocessableEntity, tgiError("Failed to deserialize the JSON body into the target type: inputs: expected a string", "validation"))
			return
		}
		// TGI generates max_new_tokens (default 100); the simulator emits
		// exactly that many, as if EOS never came.
		limit := sageMakerTGIDefault
		if p := body.Parameters; p != nil && p.MaxNewTokens != nil {
			limit = *p.MaxNewTokens
		}
		if limit < 1 {
			em.modelError(http.StatusUnprocessableEntity, tgiError("Input validation error: `max_new_tokens` must be strictly positive", "validation"))
			return
		}
		gp = genParams{MaxTokens: &limit, IgnoreEOS: true}
		if p := body.Parameters; p != nil && p.Seed != nil {
			gp.Seed = *p.Seed
		}
		prompt, parts = s.tok.Count(inputs), []string{inputs}
	case len(body.Messages) > 0:
		em.format = smChat
	case len(body.Prompt) > 0 && string(body.Prompt) != "null":
		em.format = smCompletion
	default:
		em.modelError(http.StatusUnprocessableEntity, tgiError("Failed to deserialize the JSON body into the target type: missing field `inputs`", "validation"))
		return
	}
	if em.format != smTGI {
		// OpenAI-style bodies follow the OpenAI handler's rules (ignore_eos,
		// min_tokens, natural lengths), as LMI/vLLM containers do.
		if prompt, parts, err = s.countPrompt(&body.genRequest, em.format == smChat); err != nil {
			em.modelError(http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid_request_error", err.Error()))
			return
		}
		gp = body.genRequest.params()
		em.usage = body.StreamOptions != nil && body.StreamOptions.IncludeUsage
	}
	pl, msg := s.planRequest(gp, prompt, parts)
	if msg != "" {
		if em.format == smTGI {
			em.modelError(http.StatusUnprocessableEntity, tgiError("Input validation error: "+msg, "validation"))
		} else {
			em.modelError(http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid_request_error", msg))
		}
		return
	}

	// The endpoint's own request quota (a managed endpoint's throttling):
	// SageMaker answers ThrottlingException with HTTP 400.
	if ok, _ := s.quota.Take(time.Now(), pl.reserve); !ok {
		writeAWSError(w, http.StatusBadRequest, "ThrottlingException", "", map[string]any{"message": "Rate exceeded"})
		return
	}

	em.id = fmt.Sprintf("sm-%d", s.ids.Add(1))
	em.pl = pl
	q, err := s.enqueue(em.id, pl, arrived)
	switch err {
	case nil:
	case errOverloaded:
		// TGI answers 429 {"error":"Model is overloaded"}; SageMaker wraps a
		// container's 4xx in a ModelError (HTTP 424).
		em.modelError(http.StatusTooManyRequests, tgiError(errOverloaded.Error(), "overloaded"))
		return
	default:
		writeAWSError(w, http.StatusServiceUnavailable, "ServiceUnavailable", em.id, map[string]any{"message": "The service is unavailable. Try your call again."})
		return
	}
	limit := s.timeout
	if limit == 0 {
		limit = time.Duration(float64(SageMakerInvocationTimeout) * s.scale)
	}
	s.deliverWithin(r, q, pl, arrived, em, limit)
}

// tgiError is TGI's error body.
func tgiError(msg, typ string) []byte {
	b, _ := json.Marshal(map[string]string{"error": msg, "error_type": typ})
	return b
}

// writeAWSError writes a REST-JSON AWS error: the type in X-Amzn-ErrorType
// (which the SDK resolves to a typed error) and a JSON body.
func writeAWSError(w http.ResponseWriter, status int, typ, id string, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", typ)
	if id != "" {
		h.Set("X-Amzn-RequestId", id)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeValidationError(w http.ResponseWriter, msg string) {
	// The service appends a URI to the type; the SDK strips it.
	writeAWSError(w, http.StatusBadRequest, "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/", "",
		map[string]any{"message": msg})
}

// smEmitter writes one SageMaker response, streamed or not.
type smEmitter struct {
	s        *Server
	w        http.ResponseWriter
	rc       *http.ResponseController
	endpoint string
	format   smFormat
	stream   bool
	usage    bool // stream_options.include_usage (OpenAI bodies)
	id       string
	created  int64
	pl       plan

	started bool                 // streaming headers sent
	enc     *eventstream.Encoder // streaming only
	lines   int                  // lines streamed so far
	line    []byte               // scratch for one line
	text    strings.Builder      // the output so far (TGI's generated_text, non-streamed responses)
}

// modelError answers like SageMaker when the container returned a non-2xx
// status: HTTP 424, X-Amzn-ErrorType ModelError, the container's status
// and body in OriginalStatusCode and OriginalMessage. orig 0 means the
// container never answered (the invocation timeout).
func (em *smEmitter) modelError(orig int, origBody []byte) {
	kind, code := "client", "CLIENT_ERROR_FROM_MODEL"
	if orig == 0 || orig >= 500 {
		kind, code = "server", "SERVER_ERROR_FROM_MODEL"
	}
	group := "/aws/sagemaker/Endpoints/" + em.endpoint
	msg := fmt.Sprintf("Received %s error (%d) from primary with message %q. See https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logEventViewer:group=%s in account %s for more information.",
		kind, orig, origBody, sageMakerRegion, sageMakerRegion, group, sageMakerAccount)
	writeAWSError(em.w, 424, "ModelError", em.id, map[string]any{
		"ErrorCode":          code,
		"LogStreamArn":       fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", sageMakerRegion, sageMakerAccount, group),
		"Message":            msg,
		"OriginalMessage":    string(origBody),
		"OriginalStatusCode": orig,
	})
}

func (em *smEmitter) start() {
	em.started = true
	h := em.w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-Invoked-Production-Variant", sageMakerVariant)
	h.Set("X-Amzn-SageMaker-Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", em.id)
	em.w.WriteHeader(http.StatusOK)
	em.enc = eventstream.NewEncoder()
}

// part writes one PayloadPart event.
func (em *smEmitter) part(b []byte) error {
	var msg eventstream.Message
	msg.Headers.Set(":event-type", eventstream.StringValue("PayloadPart"))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/octet-stream"))
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Payload = b
	return em.enc.Encode(em.w, msg)
}

// send streams one line: one PayloadPart, or two for every
// sageMakerSplitEvery-th line, cut in its middle.
func (em *smEmitter) send(line []byte) error {
	em.lines++
	var err error
	if em.lines%sageMakerSplitEvery == 0 && len(line) > 1 {
		mid := len(line) / 2
		if err = em.part(line[:mid]); err == nil {
			err = em.part(line[mid:])
		}
	} else {
		err = em.part(line)
	}
	if err != nil {
		return err
	}
	return em.rc.Flush()
}

// sendJSON streams v as an SSE data line with prefix ("data:" for TGI,
// "data: " for OpenAI chunks).
func (em *smEmitter) sendJSON(prefix string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	em.line = append(append(append(em.line[:0], prefix...), b...), "\n\n"...)
	return em.send(em.line)
}

// tgiToken is TGI's token object.
type tgiToken struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob"`
	Special bool    `json:"special"`
}

// tgiDetails is the details object TGI sends with the last streamed token
// and in a non-streamed response (details: true). prompt_tokens is reported
// as the TGI versions that have it do.
type tgiDetails struct {
	FinishReason    string `json:"finish_reason"`
	PromptTokens    int    `json:"prompt_tokens"`
	GeneratedTokens int    `json:"generated_tokens"`
	Seed            *int64 `json:"seed"`
}

type tgiStreamLine struct {
	Index         int         `json:"index"`
	Token         tgiToken    `json:"token"`
	GeneratedText *string     `json:"generated_text"`
	Details       *tgiDetails `json:"details"`
}

func (em *smEmitter) details() *tgiDetails {
	return &tgiDetails{FinishReason: em.pl.finish, PromptTokens: em.pl.prompt, GeneratedTokens: em.pl.target}
}

// token handles output token i.
func (em *smEmitter) token(i int) error {
	text := word(em.pl.hash, i)
	if !em.stream {
		em.text.WriteString(text)
		return nil
	}
	if !em.started {
		em.start()
		if em.format == smChat {
			if err := em.sendJSON("data: ", em.chunkOf(chunkChoice{Delta: &delta{Role: "assistant"}})); err != nil {
				return err
			}
		}
	}
	last := i == em.pl.target-1
	if em.format == smTGI {
		em.text.WriteString(text)
		l := tgiStreamLine{Index: i + 1, Token: tgiToken{ID: int(splitmix64(em.pl.hash+uint64(i)) % 32000), Text: text, Logprob: -0.25}}
		if last {
			full := em.text.String()
			l.GeneratedText, l.Details = &full, em.details()
		}
		return em.sendJSON("data:", &l)
	}
	c := chunkChoice{}
	if em.format == smChat {
		c.Delta = &delta{Content: text}
	} else {
		c.Text = &text
	}
	if last {
		c.FinishReason = &em.pl.finish
	}
	return em.sendJSON("data: ", em.chunkOf(c))
}

func (em *smEmitter) chunkOf(c chunkChoice) chunk {
	obj := "text_completion"
	if em.format == smChat {
		obj = "chat.completion.chunk"
	}
	return chunk{ID: em.id, Object: obj, Created: em.created, Model: em.s.model, Choices: []chunkChoice{c}}
}

func (em *smEmitter) usageOf() usage {
	return usage{PromptTokens: em.pl.prompt, CompletionTokens: em.pl.target, TotalTokens: em.pl.prompt + em.pl.target}
}

// end completes the response.
func (em *smEmitter) end() {
	if em.stream {
		if em.format == smTGI {
			return // the last token's line carried generated_text and details
		}
		if em.usage {
			u := em.usageOf()
			c := em.chunkOf(chunkChoice{})
			c.Choices, c.Usage = []chunkChoice{}, &u
			if em.sendJSON("data: ", c) != nil {
				return
			}
		}
		em.send([]byte("data: [DONE]\n\n"))
		return
	}
	h := em.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Invoked-Production-Variant", sageMakerVariant)
	h.Set("X-Amzn-RequestId", em.id)
	text := em.text.String()
	var v any
	switch em.format {
	case smTGI:
		v = []any{map[string]any{"generated_text": text, "details": em.details()}}
	case smChat:
		v = fullResponse{ID: em.id, Object: "chat.completion", Created: em.created, Model: em.s.model,
			Choices: []fullChoice{{Message: &message{Role: "assistant", Content: text}, FinishReason: em.pl.finish}}, Usage: em.usageOf()}
	default:
		v = fullResponse{ID: em.id, Object: "text_completion", Created: em.created, Model: em.s.model,
			Choices: []fullChoice{{Text: &text, FinishReason: em.pl.finish}}, Usage: em.usageOf()}
	}
	json.NewEncoder(em.w).Encode(v)
}

// fail ends the response early. Before any byte was sent: a ModelError
// whose original status is 0 (the invocation timeout, with SageMaker's
// message) or ServiceUnavailable (the server closed). On an open stream:
// a ModelStreamError exception event (ModelInvocationTimeExceeded) or an
// InternalStreamFailure.
func (em *smEmitter) fail(reason string) {
	if !em.started {
		if reason == reasonTimeout {
			em.modelError(0, []byte(sageMakerTimeoutText))
			return
		}
		writeAWSError(em.w, http.StatusServiceUnavailable, "ServiceUnavailable", em.id, map[string]any{"message": "The service is unavailable. Try your call again."})
		return
	}
	typ := "InternalStreamFailure"
	body := map[string]string{"Message": "The stream processing failed: server shutting down"}
	if reason == reasonTimeout {
		typ = "ModelStreamError"
		body = map[string]string{"ErrorCode": "ModelInvocationTimeExceeded",
			"Message": "Model invocation time exceeded: the model did not finish sending its response within " +
				strconv.Itoa(int(SageMakerInvocationTimeout/time.Second)) + " seconds."}
	}
	b, _ := json.Marshal(body)
	var msg eventstream.Message
	msg.Headers.Set(":exception-type", eventstream.StringValue(typ))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Payload = b
	if em.enc.Encode(em.w, msg) == nil {
		em.rc.Flush()
	}
}
