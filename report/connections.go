package report

import (
	"bufio"
	"fmt"

	"github.com/llmload/llmload/stats"
)

// connectionLines writes the console lines about Retry-After waits and
// replays after closed keep-alive connections, when there were any.
func connectionLines(bw *bufio.Writer, s *stats.Summary) {
	if ra := s.RetryAfter; ra != nil {
		txt := fmt.Sprintf("%d waits on Retry-After, %.3g s in all, at most %.3g s; server asked up to %.3g s",
			ra.Waits, ra.TotalWaitS, ra.MaxWaitS, ra.MaxAskedS)
		if ra.Capped > 0 {
			txt += fmt.Sprintf("; %d cut to --max-retry-after", ra.Capped)
		}
		line(bw, "retry-after", txt)
	}
	if c := s.Connections; c != nil && c.Replays > 0 {
		line(bw, "replays", fmt.Sprintf("%d attempts re-sent %d times on a fresh connection after a kept-alive one closed before any response (not errors)",
			c.ReplayedAttempts, c.Replays))
	}
}
