package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"

	"github.com/llmload/llmload/llm"
)

// opErr wraps err as the SDK does.
func opErr(err error) error {
	return &smithy.OperationError{ServiceID: "SageMaker Runtime", OperationName: "InvokeEndpoint", Err: err}
}

func TestClassify(t *testing.T) {
	model := func(orig int32, msg, origMsg string) error {
		return opErr(&types.ModelError{Message: aws.String(msg), OriginalStatusCode: aws.Int32(orig), OriginalMessage: aws.String(origMsg)})
	}
	tests := []struct {
		name string
		err  error
		want llm.ErrorKind
	}{
		// SageMaker's invocation timeout: original status 0, "timed out" in the message.
		{"invocation timeout", model(0, `Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.". See https://… for more information.`, ""), llm.KindTimeout},
		// TGI's overload (429 + "overloaded") inside a ModelError.
		{"model 429 overloaded", model(429, `Received client error (429) from primary with message "{"error":"Model is overloaded","error_type":"overloaded"}"`, `{"error":"Model is overloaded","error_type":"overloaded"}`), llm.KindOverloaded},
		// A container's plain 429: throttling.
		{"model 429", model(429, "Received client error (429) from primary", "Too Many Requests"), llm.KindThrottled},
		// A container's validation error.
		{"model 422", model(422, "Received client error (422) from primary", `{"error":"Input validation error","error_type":"validation"}`), llm.KindClient},
		// A container's 503 saying overloaded.
		{"model 503 overloaded", model(503, "Received server error (503) from primary", "server overloaded"), llm.KindOverloaded},
		// A container's 500.
		{"model 500", model(500, "Received server error (500) from primary", "CUDA out of memory"), llm.KindServer},
		// A container's 504 (its own gateway).
		{"model 504", model(504, "Received server error (504) from primary", ""), llm.KindTimeout},
		// A ModelError with no original status.
		{"model no status", opErr(&types.ModelError{Message: aws.String("Received server error from primary")}), llm.KindServer},
		{"stream timeout", opErr(&types.ModelStreamError{ErrorCode_: aws.String("ModelInvocationTimeExceeded"), Message: aws.String("timed out")}), llm.KindTimeout},
		{"stream broken", opErr(&types.ModelStreamError{ErrorCode_: aws.String("StreamBroken")}), llm.KindServer},
		{"internal stream", opErr(&types.InternalStreamFailure{Message: aws.String("x")}), llm.KindServer},
		{"internal", opErr(&types.InternalFailure{}), llm.KindServer},
		{"dependency", opErr(&types.InternalDependencyException{}), llm.KindServer},
		{"unavailable", opErr(&types.ServiceUnavailable{}), llm.KindOverloaded},
		{"not ready", opErr(&types.ModelNotReadyException{}), llm.KindOverloaded},
		{"validation", opErr(&types.ValidationError{Message: aws.String("Endpoint x of account y not found.")}), llm.KindClient},
		{"throttling", opErr(&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}), llm.KindThrottled},
		{"access denied", opErr(&smithy.GenericAPIError{Code: "AccessDeniedException"}), llm.KindClient},
		// An unknown code without an HTTP status.
		{"unknown", opErr(&smithy.GenericAPIError{Code: "SomethingNew"}), llm.KindServer},
		{"deserialization", opErr(&smithy.DeserializationError{Err: errors.New("bad json")}), llm.KindMalformedStream},
		{"dial", opErr(&net.OpError{Op: "dial", Err: errors.New("connection refused")}), llm.KindConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(context.Background(), tt.err); got.Kind != tt.want {
				t.Errorf("got %s (%v), want %s", got.Kind, got, tt.want)
			}
		})
	}
}

func TestClassifyStream(t *testing.T) {
	ctx := context.Background()
	if k := classifyStream(ctx, fmt.Errorf("decode event: %w", errors.New("message checksum mismatch"))).Kind; k != llm.KindMalformedStream {
		t.Errorf("checksum: %s", k)
	}
	if k := classifyStream(ctx, fmt.Errorf("decode event: %w", io.ErrUnexpectedEOF)).Kind; k != llm.KindConnection {
		t.Errorf("cut connection: %s", k)
	}
	if k := classifyStream(ctx, &types.ModelStreamError{ErrorCode_: aws.String("ModelInvocationTimeExceeded")}).Kind; k != llm.KindTimeout {
		t.Errorf("model stream timeout: %s", k)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if k := classifyStream(canceled, errors.New("read: use of closed connection")).Kind; k != llm.KindCanceled {
		t.Errorf("canceled: %s", k)
	}
}
