// Package awsx holds what the AWS SDK providers (bedrock, sagemaker)
// share on top of the SDK.
package awsx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/llmload/llmload/llm"
)

// QuietBodyClient sends requests through the SDK's HTTP client with a
// request body whose Close never fails.
//
// Why: net/http's write loop closes the request body after writing it and,
// if that Close returns an error, closes the connection. When a response
// starts before the write loop got there (the server answered as soon as
// it had read the body), the SDK may already have closed the body itself;
// the second Close fails, and net/http tears down the connection under an
// event stream that is still being read: "read tcp …: use of closed
// network connection" mid-response (seen under the race detector here;
// also reported upstream, aws/aws-sdk-go-v2#1825 and #2737). Nothing is
// lost by ignoring a request body's Close error: the body was sent.
//
// It also makes the request replayable, as wire.MarkReplayable does for the
// HTTP providers: the SDK's request body has no GetBody, so a body of
// known length up to maxReplayBody is read into memory and GetBody serves
// it again; net/http then re-sends the request on another connection when
// a kept-alive one closed before any response byte (the server never saw
// it). The SigV4 signature covers the same bytes, so it stays valid.
type QuietBodyClient struct{ aws.HTTPClient }

// maxReplayBody bounds the request body kept in memory for a replay.
const maxReplayBody = 8 << 20

// Do implements aws.HTTPClient.
func (c QuietBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil && r.ContentLength > 0 && r.ContentLength <= maxReplayBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
			r.Body.Close()
			if err != nil {
				return nil, err
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
			if _, ok := r.Header["Idempotency-Key"]; !ok {
				r.Header["Idempotency-Key"] = nil // replayable; not sent (net/http)
			}
		}
		r.Body = quietCloser{r.Body}
	}
	return c.HTTPClient.Do(r)
}

type quietCloser struct{ io.ReadCloser }

func (q quietCloser) Close() error {
	q.ReadCloser.Close()
	return nil
}

// RetryAfter is the delay a failed AWS call's HTTP response asked for in a
// Retry-After header, 0 when there was no response or no header.
func RetryAfter(err error) time.Duration {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return 0
	}
	return llm.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
}
