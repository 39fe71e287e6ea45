package load

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/llmload/llmload/record"
)

// connTrace watches the connections net/http uses for one attempt, through
// an httptrace.ClientTrace on the request's context. It works for every
// provider that passes its context down to net/http (the HTTP providers and
// the AWS SDK ones). Hooks may run on the transport's goroutines.
type connTrace struct {
	mu        sync.Mutex
	conns     int  // GotConn calls: 1 + replays
	fresh     bool // some connection was opened for this attempt
	firstByte bool
	dial      time.Duration
	tls       time.Duration
	dialStart map[string]time.Time
	tlsStart  time.Time
}

func (c *connTrace) context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			c.mu.Lock()
			c.conns++
			if !i.Reused {
				c.fresh = true
			}
			c.mu.Unlock()
		},
		ConnectStart: func(network, addr string) {
			c.mu.Lock()
			if c.dialStart == nil {
				c.dialStart = map[string]time.Time{}
			}
			c.dialStart[network+" "+addr] = time.Now()
			c.mu.Unlock()
		},
		ConnectDone: func(network, addr string, _ error) {
			c.mu.Lock()
			if t, ok := c.dialStart[network+" "+addr]; ok {
				c.dial += time.Since(t)
				delete(c.dialStart, network+" "+addr)
			}
			c.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			c.mu.Lock()
			c.tlsStart = time.Now()
			c.mu.Unlock()
		},
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			c.mu.Lock()
			if !c.tlsStart.IsZero() {
				c.tls += time.Since(c.tlsStart)
				c.tlsStart = time.Time{}
			}
			c.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			c.mu.Lock()
			c.firstByte = true
			c.mu.Unlock()
		},
	})
}

// fill writes what the trace saw into rec.
func (c *connTrace) fill(rec *record.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec.NewConnection = c.fresh
	rec.Replays = max(c.conns-1, 0)
	rec.DialS = c.dial.Seconds()
	rec.TLSS = c.tls.Seconds()
}
