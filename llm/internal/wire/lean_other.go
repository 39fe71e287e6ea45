//go:build !linux

package wire

import (
	"syscall"
	"time"
)

// peekAlive cannot look at an idle connection here; a request lost on a
// closed one is replayed (leanTransport.RoundTrip).
func peekAlive(syscall.RawConn) bool { return true }

// socketReader has no state here: socketRead is net.Conn's Read.
type socketReader struct{}

// socketRead is net.Conn's Read.
func (c *leanConn) socketRead(p []byte) (int, error) { return c.conn.Read(p) }

// await makes the connection's buffer hold at least one byte, or returns
// the read's error. Here the buffer is kept while the connection waits.
func (c *leanConn) await() error { return c.fillKept() }

// enableStamps does nothing here: reads carry no receive time.
func (c *leanConn) enableStamps() {}

// receivedAt is zero: the receive time is not known here.
func (c *leanConn) receivedAt(time.Time) time.Time { return time.Time{} }

// startStamping does nothing here.
func startStamping() {}
