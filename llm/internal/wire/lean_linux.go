package wire

import "syscall"

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
