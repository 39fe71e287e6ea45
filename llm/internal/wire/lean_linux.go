package wire

import (
	"io"
	"net"
	"syscall"
)

// waitFirst: the runtime's poller is edge-triggered (epoll with
// EPOLLET), so a read after one that emptied the socket may wait for
// readiness first (leanConn.Read).
const waitFirst = true

// peekAlive reports whether the socket of an idle connection is still
// open with nothing to read: a non-blocking peek finds it empty.
func peekAlive(raw syscall.RawConn) bool {
	alive := false
	var b [1]byte
	err := raw.Read(func(fd uintptr) bool {
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			alive = err == syscall.EAGAIN
			return true
		}
	})
	return err == nil && alive
}

// rawRead is the raw connection's read callback: false means "wait until
// the socket is readable, then call again".
func (c *leanConn) rawRead(fd uintptr) bool {
	if c.skip {
		c.skip = false
		return false
	}
	for {
		n, err := syscall.Read(int(fd), c.p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.n, c.err = 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		case n == 0:
			c.n, c.err = 0, io.EOF
		default:
			c.n = n
		}
		return true
	}
}
