package llm

import (
	"net/http"
	"testing"
	"time"
)

// Odd values real servers send: none panics or asks a silly wait.
func TestParseRetryAfterOddValues(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},                                    // absent
		{"5", 5 * time.Second},                     // delay seconds
		{" 7 ", 7 * time.Second},                   // padded
		{"0.25", 250 * time.Millisecond},           // fractional seconds (some gateways)
		{"1.5e1", 15 * time.Second},                // exponent form parses as a number
		{"0", 0},                                   // retry now
		{"-3", 0},                                  // negative: ignored
		{"NaN", 0},                                 // not a duration
		{"Inf", MaxRetryAfter},                     // unbounded: read as the longest
		{"3600", time.Hour},                        // an hour: the runner caps the wait
		{"100000", MaxRetryAfter},                  // beyond a day
		{"1e400", MaxRetryAfter},                   // overflows float64
		{"99999999999999999999", MaxRetryAfter},    // overflows Duration
		{date(90 * time.Second), 90 * time.Second}, // HTTP-date ahead
		{date(-time.Minute), 0},                    // HTTP-date in the past
		{date(48 * time.Hour), MaxRetryAfter},      // HTTP-date far ahead
		{"Mon, 32 Foo 2026 99:00:00 GMT", 0},       // malformed date
		{"soon", 0},                                // garbage
	} {
		if got := ParseRetryAfter(c.v, now); got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", c.v, got, c.want)
		}
	}
}
