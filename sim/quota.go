package sim

import (
	"strconv"
	"sync"
	"time"
)

// Default Bedrock on-demand quotas from CALIBRATION.md (Llama 3.3 70B,
// us-west-2): requests and tokens per minute.
const (
	BedrockDefaultRPM = 800
	BedrockDefaultTPM = 600_000
)

// quota enforces requests-per-minute and tokens-per-minute limits over a
// sliding window, the way managed endpoints throttle. The window is one
// simulated minute (60 s × time scale), so a sped-up simulator keeps its
// quota in proportion. A zero limit is no limit.
type quota struct {
	rpm, tpm int
	window   time.Duration

	mu      sync.Mutex
	entries []quotaEntry // admissions inside the window, oldest first
	tokens  int          // Σ entries[i].tokens
	start   int          // entries[start:] are live (amortized ring)
}

type quotaEntry struct {
	at     time.Time
	tokens int
}

func newQuota(rpm, tpm int, scale float64) *quota {
	if rpm <= 0 && tpm <= 0 {
		return nil
	}
	return &quota{rpm: rpm, tpm: tpm, window: time.Duration(float64(time.Minute) * scale)}
}

// take admits a request that will cost tokens (prompt + requested output,
// as Bedrock counts at admission) at now. When the quota is spent it
// returns false and how long until enough of the window frees up. A nil
// quota admits everything.
func (q *quota) take(now time.Time, tokens int) (ok bool, retryAfter time.Duration) {
	if q == nil {
		return true, 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	cut := now.Add(-q.window)
	for q.start < len(q.entries) && !q.entries[q.start].at.After(cut) {
		q.tokens -= q.entries[q.start].tokens
		q.start++
	}
	if q.start > 1024 && q.start*2 > len(q.entries) {
		q.entries = append(q.entries[:0], q.entries[q.start:]...)
		q.start = 0
	}
	live := q.entries[q.start:]
	reqOK := q.rpm <= 0 || len(live)+1 <= q.rpm
	tokOK := q.tpm <= 0 || q.tokens+tokens <= q.tpm || len(live) == 0
	if reqOK && tokOK {
		q.entries = append(q.entries, quotaEntry{at: now, tokens: tokens})
		q.tokens += tokens
		return true, 0
	}
	// Wait until enough old admissions leave the window.
	need, freed := 0, 0
	for i, e := range live {
		freed += e.tokens
		need = i
		if (q.rpm <= 0 || len(live)-(i+1)+1 <= q.rpm) && (q.tpm <= 0 || q.tokens-freed+tokens <= q.tpm) {
			break
		}
	}
	return false, max(live[need].at.Add(q.window).Sub(now), time.Millisecond)
}

// retryAfterSeconds formats a Retry-After header value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
