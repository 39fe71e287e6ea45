package bedrock

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/awsx"
)

// kindOfCode classifies a Bedrock error code (the SDK's typed exceptions
// report theirs; a generic smithy.APIError carries the X-Amzn-ErrorType or
// body code). ok is false for a code it does not know.
func kindOfCode(code string) (kind llm.ErrorKind, ok bool) {
	switch code {
	case "ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException":
		return llm.KindThrottled, true
	case "ServiceUnavailableException", "ModelNotReadyException":
		return llm.KindOverloaded, true
	case "ModelTimeoutException":
		return llm.KindTimeout, true
	case "ValidationException", "AccessDeniedException", "ResourceNotFoundException", "ConflictException",
		"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
		"IncompleteSignatureException", "MissingAuthenticationTokenException", "UnknownOperationException":
		return llm.KindClient, true
	case "InternalServerException", "ModelErrorException", "ModelStreamErrorException":
		return llm.KindServer, true
	}
	return "", false
}

// classify turns an error from an SDK operation or event stream into an
// *llm.Error; status is the HTTP status of the response
// that carried it when it came from inside a stream (0 otherwise).
//
// The order matters: a request whose context ended is a timeout or a
// cancellation whatever the transport then said; a Bedrock exception is
// classified by its code (ModelStreamErrorException and
// ModelErrorException by the model's original status code when they carry
// one: a 429 from the model container is throttling); an HTTP error
// without a known code by its status; an undecodable response is a
// malformed stream; anything else (dial, reset) by llm.Classify.
func (p *Provider) classify(ctx context.Context, err error, status int) (e *llm.Error) {
	if err == nil {
		return nil
	}
	defer func() {
		if e != nil && e.RetryAfter == 0 {
			e.RetryAfter = awsx.RetryAfter(err)
		}
	}()
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	err = &redacted{err: err, secrets: p.secrets}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status = re.HTTPStatusCode()
	}
	if ctx != nil && (ctx.Err() != nil || llm.DeadlinePassed(ctx)) {
		ce := llm.Classify(ctx, err)
		return &llm.Error{Kind: ce.Kind, Status: status, Message: ce.Message, Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg := api.ErrorCode(), api.ErrorMessage()
		kind, ok := kindOfCode(code)
		if orig := originalStatus(err); orig >= 400 {
			kind, ok = llm.KindOfStatus(orig, msg), true
		}
		if !ok {
			if status >= 400 {
				kind = llm.KindOfStatus(status, msg)
			} else {
				kind = llm.KindServer
			}
		}
		text := code
		if msg != "" {
			text += ": " + msg
		}
		return &llm.Error{Kind: kind, Status: status, Message: clip(p.secrets.redact(text)), Err: err}
	}
	if status >= 300 && re != nil {
		return &llm.Error{Kind: llm.KindOfStatus(status, ""), Status: status, Message: clip(p.secrets.redact(rootMessage(err))), Err: err}
	}
	if llm.IsTransport(err) {
		// The connection failed under the event-stream decoder ("decode
		// event: read tcp …"): a transport failure, not a malformed stream.
		ce := llm.Classify(ctx, err)
		return &llm.Error{Kind: ce.Kind, Status: status, Message: clip(p.secrets.redact(rootMessage(err))), Err: err}
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) || strings.Contains(err.Error(), "decode event") {
		return &llm.Error{Kind: llm.KindMalformedStream, Status: status, Message: clip(p.secrets.redact(rootMessage(err))), Err: err}
	}
	ce := llm.Classify(ctx, err)
	return &llm.Error{Kind: ce.Kind, Status: status, Message: clip(p.secrets.redact(rootMessage(err))), Err: err}
}

// redacted wraps an SDK error kept in llm.Error.Err: errors.As still
// reaches the SDK's typed exceptions, and its text has the secrets removed.
type redacted struct {
	err     error
	secrets *secrets
}

func (r *redacted) Error() string { return r.secrets.redact(r.err.Error()) }
func (r *redacted) Unwrap() error { return r.err }

// originalStatus is the model's status code carried by a
// ModelStreamErrorException or ModelErrorException, 0 when none.
func originalStatus(err error) int {
	var se *types.ModelStreamErrorException
	if errors.As(err, &se) && se.OriginalStatusCode != nil {
		return int(*se.OriginalStatusCode)
	}
	var me *types.ModelErrorException
	if errors.As(err, &me) && me.OriginalStatusCode != nil {
		return int(*me.OriginalStatusCode)
	}
	return 0
}

// rootMessage is err's text without the SDK's "operation error Bedrock
// Runtime: ConverseStream, https response error StatusCode: …" prefix
// chain when the cause can be found.
func rootMessage(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *smithyhttp.RequestSendError
		if errors.As(oe.Err, &se) && se.Err != nil {
			return oe.Operation() + ": " + se.Err.Error()
		}
		return oe.Operation() + ": " + oe.Err.Error()
	}
	return err.Error()
}

// maxMessage bounds the length of an error message.
const maxMessage = 512

// clip shortens s to maxMessage bytes on a rune boundary and folds it to one line.
func clip(s string) string {
	if len(s) > maxMessage {
		i := maxMessage
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		s = s[:i] + "…"
	}
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}
