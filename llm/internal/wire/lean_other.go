//go:build !linux

package wire

import "syscall"

// waitFirst is true only where the poller is known to be edge-triggered
// (lean_linux.go); elsewhere the lean client reads like net.Conn.
const waitFirst = false

// peekAlive cannot look at an idle connection here; a request lost on a
// closed one is replayed (leanTransport.RoundTrip).
func peekAlive(syscall.RawConn) bool { return true }

// rawRead is not used where waitFirst is false.
func (c *leanConn) rawRead(uintptr) bool { return true }
