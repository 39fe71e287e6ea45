//go:build !linux

package wire

import "syscall"

// peekAlive cannot look at an idle connection here; a request lost on a
// closed one is replayed (leanTransport.RoundTrip).
func peekAlive(syscall.RawConn) bool { return true }
