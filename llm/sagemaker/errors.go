package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/awsx"
)

// classify turns an error from an SDK call into an *llm.Error.
//
//	ModelError (HTTP 424: the container answered non-2xx or not at all)
//	  message says the invocation timed out      → timeout
//	  OriginalStatusCode set                     → by that status and the
//	    container's message, as for any HTTP endpoint: 429 → throttled, or
//	    overloaded when the message says so (TGI's "Model is overloaded");
//	    503 + "overloaded" → overloaded; 408/504 → timeout; other 4xx → client;
//	    5xx → server
//	  otherwise                                  → server
//	ModelStreamError ModelInvocationTimeExceeded → timeout; other codes → server
//	InternalFailure, InternalStreamFailure,
//	InternalDependencyException                  → server
//	ServiceUnavailable, ModelNotReadyException   → overloaded
//	ThrottlingException (HTTP 400 on SageMaker)  → throttled
//	ValidationError, AccessDeniedException and
//	the other credential/signature errors, other
//	4xx API errors                               → client
//	an undecodable response                      → malformed_stream
//	the context's deadline                       → timeout
//	a transport failure                          → connection
func classify(ctx context.Context, err error) (e *llm.Error) {
	defer func() {
		if e != nil && e.RetryAfter == 0 {
			e.RetryAfter = awsx.RetryAfter(err)
		}
	}()
	if err == nil {
		return nil
	}
	status := httpStatus(err)
	if e := apiError(err, status); e != nil {
		return e
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) && (ctx == nil || ctx.Err() == nil) {
		return &llm.Error{Kind: llm.KindMalformedStream, Status: status, Message: clip(de.Error()), Err: err}
	}
	e = llm.Classify(ctx, err)
	if e.Status == 0 && status != 0 {
		c := *e
		c.Status = status
		e = &c
	}
	return e
}

// classifyStream classifies an error the SDK's event-stream reader
// reported: an exception event, a transport failure, or a frame it could
// not decode (bad checksum, unknown message type) → malformed_stream.
func classifyStream(ctx context.Context, err error) *llm.Error {
	if e := apiError(err, 200); e != nil {
		return e
	}
	if ctx.Err() != nil || llm.IsTransport(err) {
		return llm.Classify(ctx, err)
	}
	return &llm.Error{Kind: llm.KindMalformedStream, Status: 200, Message: clip(err.Error()), Err: err}
}

// httpStatus is the HTTP status of the response an SDK error came from, 0
// when there was none.
func httpStatus(err error) int {
	var rs interface{ HTTPStatusCode() int }
	if errors.As(err, &rs) {
		return rs.HTTPStatusCode()
	}
	return 0
}

// apiError classifies a service error (nil when err is none).
func apiError(err error, status int) *llm.Error {
	mk := func(kind llm.ErrorKind, msg string) *llm.Error {
		return &llm.Error{Kind: kind, Status: status, Message: clip(msg), Err: err}
	}
	var (
		me  *types.ModelError
		mse *types.ModelStreamError
		api smithy.APIError
	)
	switch {
	case errors.As(err, &me):
		return modelError(me, status, err)
	case errors.As(err, &mse):
		code := deref(mse.ErrorCode_)
		msg := "ModelStreamError"
		if code != "" {
			msg += " " + code
		}
		if m := mse.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if code == "ModelInvocationTimeExceeded" {
			return mk(llm.KindTimeout, msg)
		}
		return mk(llm.KindServer, msg)
	case errors.As(err, &api):
		code, msg := api.ErrorCode(), api.ErrorMessage()
		text := code
		if msg != "" {
			text += ": " + msg
		}
		switch code {
		case "InternalFailure", "InternalStreamFailure", "InternalDependencyException":
			return mk(llm.KindServer, text)
		case "ServiceUnavailable", "ModelNotReadyException":
			return mk(llm.KindOverloaded, text)
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
			return mk(llm.KindThrottled, text)
		case "ValidationError", "ValidationException", "AccessDeniedException", "UnrecognizedClientException",
			"InvalidSignatureException", "ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationToken":
			return mk(llm.KindClient, text)
		}
		if status != 0 && status != 200 {
			return mk(llm.KindOfStatus(status, msg), text)
		}
		return mk(llm.KindServer, text)
	}
	return nil
}

// modelError classifies a ModelError: the container's own answer, wrapped
// by SageMaker in HTTP 424.
func modelError(me *types.ModelError, status int, err error) *llm.Error {
	msg := me.ErrorMessage()
	orig := 0
	if me.OriginalStatusCode != nil {
		orig = int(*me.OriginalStatusCode)
	}
	text := "ModelError"
	if orig != 0 {
		text += fmt.Sprintf(" (container status %d)", orig)
	}
	if msg != "" {
		text += ": " + msg
	}
	body := deref(me.OriginalMessage) + " " + msg
	kind := llm.KindServer
	switch {
	case isInvocationTimeout(body):
		kind = llm.KindTimeout
	case orig >= 400:
		kind = llm.KindOfStatus(orig, body)
	}
	return &llm.Error{Kind: kind, Status: status, Message: clip(text), Err: err}
}

// isInvocationTimeout recognizes SageMaker's invocation timeout: "Received
// server error (0) from primary with message "Your invocation timed out
// while waiting for a response from container primary. …"".
func isInvocationTimeout(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "invocation timed out") || strings.Contains(m, "timed out while waiting")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
