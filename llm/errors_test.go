package llm

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestKindOfStatus(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   ErrorKind
	}{
		{429, `{"error":"rate limit"}`, KindThrottled},                                     // plain 429 is a quota
		{429, `{"error":"Model is overloaded","error_type":"overloaded"}`, KindOverloaded}, // TGI's overload
		{503, `server overloaded`, KindOverloaded},                                         // 503 naming overload
		{503, `unavailable`, KindServer},                                                   // other 503
		{408, ``, KindTimeout},                                                             // request timeout
		{504, ``, KindTimeout},                                                             // gateway timeout
		{500, ``, KindServer},                                                              // 5xx
		{400, ``, KindClient},                                                              // 4xx
		{404, ``, KindClient},                                                              // unknown model
	}
	for _, c := range cases {
		if got := KindOfStatus(c.status, c.body); got != c.want {
			t.Errorf("KindOfStatus(%d, %q) = %s, want %s", c.status, c.body, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	deadline, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-deadline.Done()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	classified := &Error{Kind: KindThrottled}
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want ErrorKind
	}{
		{"already classified", context.Background(), classified, KindThrottled},
		{"deadline", deadline, errors.New("read: use of closed connection"), KindTimeout},
		{"canceled", canceled, errors.New("context canceled"), KindCanceled},
		{"net timeout", context.Background(), &net.OpError{Op: "read", Err: timeoutErr{}}, KindTimeout},
		{"refused", context.Background(), &net.OpError{Op: "dial", Err: errors.New("connection refused")}, KindConnection},
	}
	for _, c := range cases {
		if got := Classify(c.ctx, c.err); got.Kind != c.want {
			t.Errorf("%s: %s, want %s", c.name, got.Kind, c.want)
		}
	}
	if Classify(context.Background(), nil) != nil {
		t.Error("nil error classified")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},                  // absent
		{"3", 3 * time.Second},   // seconds
		{"0.5", time.Second / 2}, // fractional seconds (some gateways)
		{"-1", 0},                // nonsense
		{"soon", 0},              // unreadable
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second}, // HTTP date
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},                    // a date in the past
	}
	for _, c := range cases {
		if got := ParseRetryAfter(c.in, now); got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestErrorTextAfterSuccessStatus: a failure while reading a 200 response
// (a client timeout mid-stream) is not shown as "timeout (HTTP 200)".
func TestErrorTextAfterSuccessStatus(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{Kind: KindTimeout, Status: 200, Message: "deadline"}, "timeout (after HTTP 200, while reading the response): deadline"},
		{Error{Kind: KindThrottled, Status: 429, Message: "slow down"}, "throttled (HTTP 429): slow down"},
		{Error{Kind: KindConnection, Message: "EOF"}, "connection: EOF"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}
