package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrorKind classifies a failed request. The values are stable: they are
// written to records.jsonl and summary.json.
type ErrorKind string

// The error kinds of DESIGN.md's metric definitions.
const (
	KindThrottled       ErrorKind = "throttled"        // HTTP 429 for rate/quota, ThrottlingException
	KindOverloaded      ErrorKind = "overloaded"       // the server refused: too many concurrent requests
	KindTimeout         ErrorKind = "timeout"          // the per-request timeout or a server invocation timeout
	KindServer          ErrorKind = "server_error"     // HTTP 5xx
	KindClient          ErrorKind = "client_error"     // HTTP 4xx other than 429
	KindConnection      ErrorKind = "connection"       // dial, reset, EOF before a response
	KindMalformedStream ErrorKind = "malformed_stream" // a response that could not be parsed or ended early
	KindCanceled        ErrorKind = "canceled"         // llmload itself stopped the request (Ctrl-C)
)

// Error is a classified request failure.
type Error struct {
	Kind ErrorKind
	// Status is the HTTP status code, 0 when there was none.
	Status int
	// Message is a short human-readable description (server message when known).
	Message string
	// Err is the underlying error, if any.
	Err error
	// RetryAfter is how long the server asked the client to wait before
	// retrying (a Retry-After header), 0 when it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := string(e.Kind)
	switch {
	case e.Status >= 200 && e.Status < 300:
		// The response had begun: the failure came while reading it.
		s += fmt.Sprintf(" (after HTTP %d, while reading the response)", e.Status)
	case e.Status != 0:
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOfStatus classifies a non-2xx HTTP status. body is the start of the
// response body, used to tell overload from throttling on a 429.
func KindOfStatus(status int, body string) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		if containsFold(body, "overloaded") {
			return KindOverloaded
		}
		return KindThrottled
	case status == http.StatusServiceUnavailable && containsFold(body, "overloaded"):
		return KindOverloaded
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindClient
	}
	return KindServer
}

// Classify turns an error from a transport or stream into an *Error. ctx is
// the request's context: when it ended, the cause decides between timeout
// and cancellation.
func Classify(ctx context.Context, err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctx != nil && ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Kind: KindTimeout, Message: "request timed out", Err: err}
		}
		return &Error{Kind: KindCanceled, Message: "request canceled", Err: err}
	}
	if DeadlinePassed(ctx) {
		// The deadline passed and tore the connection down, but the read
		// error got here before the context reported it.
		return &Error{Kind: KindTimeout, Message: "request timed out", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Err: err}
	}
	return &Error{Kind: KindConnection, Err: err}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// MaxRetryAfter bounds what ParseRetryAfter returns: a longer (or
// overflowing) delay is read as this. The load runner caps the actual wait
// far lower (load.DefaultMaxRetryAfter).
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay seconds (fractions
// accepted, as some servers send them) or an HTTP date (relative to now).
// It returns 0 for an absent, unreadable, zero, negative or past value,
// and at most MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case math.IsNaN(secs) || secs <= 0:
			return 0
		case secs >= MaxRetryAfter.Seconds():
			return MaxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// DeadlinePassed reports whether ctx has a deadline that is already past,
// even if ctx has not yet reported it through Err.
func DeadlinePassed(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// IsTransport reports whether err is a failure to read from or write to
// the connection (reset, closed, cut short) rather than something the
// server said: such failures are KindConnection (or a timeout).
func IsTransport(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
