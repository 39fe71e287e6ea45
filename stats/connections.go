package stats

import "github.com/llmload/llmload/record"

// Connections describes how attempts used connections (non-warm-up
// attempts, retried ones included: each was sent).
type Connections struct {
	// NewConnections counts attempts sent on a connection opened for them;
	// the others reused a kept-alive one.
	NewConnections int `json:"new_connections"`
	// Replays counts re-sends of attempts whose reused connection closed
	// before any response byte (the server never saw them), and
	// ReplayedAttempts the attempts that needed at least one. They are
	// not errors and not retries.
	Replays          int `json:"replays"`
	ReplayedAttempts int `json:"replayed_attempts"`
	// Dial and TLS describe, over attempts that opened a connection, the
	// TCP connect and TLS handshake times, seconds (TLS: https only).
	Dial Dist `json:"dial_s"`
	TLS  Dist `json:"tls_s"`
}

// connections summarizes connection use; nil when no record says anything
// about connections (records from older runs, or no attempt sent).
func connections(recs []record.Record) *Connections {
	var c Connections
	var dial, tls []float64
	seen := false
	for i := range recs {
		r := &recs[i]
		if r.Warmup {
			continue
		}
		if r.NewConnection || r.Replays > 0 || r.DialS > 0 {
			seen = true
		}
		if r.NewConnection {
			c.NewConnections++
		}
		if r.Replays > 0 {
			c.Replays += r.Replays
			c.ReplayedAttempts++
		}
		if r.DialS > 0 {
			dial = append(dial, r.DialS)
		}
		if r.TLSS > 0 {
			tls = append(tls, r.TLSS)
		}
	}
	if !seen {
		return nil
	}
	c.Dial, c.TLS = Describe(dial), Describe(tls)
	return &c
}
