package report

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/stats"
)

// The arrivals line says how many bunched chunks were a response's last,
// read with its end: a gap between two tokens is lost only in the others.
func TestStampsLineBunchedLast(t *testing.T) {
	st := stats.Stamps{KernelRequests: 30, Chunks: 4203, BunchedChunks: 29}
	for _, c := range []struct {
		last int
		want string
	}{
		{0, "29 of 4203 chunks (0.7%) came in one read with the next event and have its time"},
		{29, "29 of 4203 chunks (0.7%) came in one read with the next event and have its time (each a response's last, read with its end)"},
		{12, "29 of 4203 chunks (0.7%) came in one read with the next event and have its time (12 of them a response's last, read with its end)"},
	} {
		st.BunchedLastChunks = c.last
		if got := stampsLine(&st); !strings.HasSuffix(got, c.want) {
			t.Errorf("%d last: %q, want it to end %q", c.last, got, c.want)
		}
	}
}
