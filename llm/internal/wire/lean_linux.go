package wire

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

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

// maxRead caps one read, as internal/poll does for stream sockets.
const maxRead = 1 << 30

// rawReads is false only in the benchmark that compares raw reads with
// net.Conn's (BenchmarkPacedStreams).
var rawReads = true

// socketReader holds the RawConn.Read callbacks of socketRead and await,
// made once per connection rather than once a read, and their arguments
// and results.
type socketReader struct {
	readFn  func(fd uintptr) bool
	awaitFn func(fd uintptr) bool
	readBuf []byte
	readN   int
	readErr syscall.Errno

	// In await's callback, the connection's reads are of fd, once each,
	// without waiting: errWouldBlock when it has nothing.
	awaiting bool
	fd       uintptr
	awaitErr error

	// With stamps, reads are recvmsg calls that also return the kernel's
	// receive time of the data read (SO_TIMESTAMPNS): received, Unix ns,
	// of the last read that returned data; 0 when it came without one.
	stamps   bool
	received int64
	// placed is received moved onto Go's clock (stampTime), placedFor
	// the received it was made from: every line of one read gets the
	// same time.
	placed    time.Time
	placedFor int64
	msg       syscall.Msghdr
	iov       syscall.Iovec
	oob       [stampSpace]byte
}

// stampSpace is the control buffer of a recvmsg: room for one
// SCM_TIMESTAMPNS message (a cmsghdr and a timespec) and one more, which
// the kernel does not send here but which must not truncate the first.
const stampSpace = 64

// kernelStamps is false only in tests and benchmarks that compare reads
// with and without the kernel's receive timestamps.
var kernelStamps = true

// stampingOn is a UDP socket with SO_TIMESTAMPNS that the process keeps
// open from its first lean client on. The kernel timestamps received
// packets only while some socket asks for it, and turns that on a moment
// after the first one does (a deferred switch): this socket turns it on
// before the first connection's packets arrive, and keeps it on between
// connections.
var stampingOn sync.Once

func startStamping() {
	stampingOn.Do(func() {
		if !kernelStamps {
			return
		}
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return
		}
		if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1) != nil {
			syscall.Close(fd)
		}
		// Kept open for the process's life, on purpose.
	})
}

// enableStamps asks the kernel to timestamp the data the connection
// receives (SO_TIMESTAMPNS): the instant each packet reached the host,
// which a client short of CPU cannot delay (docs/metrics.md, "Kernel
// receive timestamps"). Without it reads are plain reads.
func (c *leanConn) enableStamps() {
	if !kernelStamps || !rawReads {
		return
	}
	var err error
	cerr := c.raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if cerr != nil || err != nil {
		return
	}
	c.stamps = true
	c.msg.Iov = &c.iov
	c.msg.Iovlen = 1
	c.msg.Control = &c.oob[0]
}

// receivedAt is the kernel's receive time of the data of the last read
// that returned any, on now's clock (stampTime), placed once per read so
// that the lines of one read have one time; zero when unknown.
func (c *leanConn) receivedAt(now time.Time) time.Time {
	if c.received != c.placedFor || c.placed.IsZero() {
		c.placed, c.placedFor = stampTime(c.received, now), c.received
	}
	return c.placed
}

// stampTime moves a kernel receive timestamp rx (SO_TIMESTAMPNS: Unix
// ns, on the wall clock) onto Go's clock through now, read after the
// data was: now less the wall-clock time since rx. Zero when rx is 0 or
// after now (the wall clock was set back in between).
func stampTime(rx int64, now time.Time) time.Time {
	if rx == 0 {
		return time.Time{}
	}
	lag := now.UnixNano() - rx
	if lag < 0 {
		return time.Time{}
	}
	return now.Add(-time.Duration(lag))
}

// errWouldBlock is a read's result in await's callback when the socket
// has nothing to read.
var errWouldBlock = errors.New("lean http client: nothing to read yet")

// socketRead is net.Conn's Read, with its results and errors (an
// *net.OpError "read" wrapping *os.SyscallError, net.ErrClosed or
// os.ErrDeadlineExceeded; io.EOF at the peer's close), but the read
// system call is made as a raw one: the socket is non-blocking, so it
// never blocks, and the runtime need not be told of it. Telling it
// (entersyscall, exitsyscall) costs more than the read when each read
// carries one token, and in a process that went idle between tokens it
// wakes the runtime's monitor thread each time (docs/performance.md,
// "Raw socket reads"). Waiting for data is still the runtime poller's,
// through RawConn.Read, so deadlines and Close work as for Read.
func (c *leanConn) socketRead(p []byte) (int, error) {
	if !rawReads {
		return c.conn.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > maxRead {
		p = p[:maxRead]
	}
	c.readBuf, c.readN, c.readErr = p, 0, 0
	if c.awaiting {
		// Inside await's callback, which holds the socket's read lock.
		ok := c.readOnce(c.fd)
		c.readBuf = nil
		if !ok {
			return 0, errWouldBlock
		}
		return c.readResult(nil)
	}
	if c.readFn == nil {
		c.readFn = c.readOnce
	}
	err := c.raw.Read(c.readFn)
	c.readBuf = nil
	return c.readResult(err)
}

// readResult is socketRead's result after readOnce returned true, or
// RawConn.Read failed with err.
func (c *leanConn) readResult(err error) (int, error) {
	switch {
	case err != nil:
		// RawConn.Read's own errors come as an *net.OpError "raw-read".
		if op, ok := err.(*net.OpError); ok {
			err = op.Err
		}
	case c.readErr != 0:
		err = os.NewSyscallError("read", c.readErr)
	case c.readN == 0:
		return 0, io.EOF
	default:
		return c.readN, nil
	}
	return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
}

// readOnce is socketRead's RawConn.Read callback: false (wait until the
// socket is readable, then call again) when there is nothing to read.
// With stamps the read is a recvmsg, which also takes the kernel's
// receive time of the data read into c.received.
func (c *leanConn) readOnce(fd uintptr) bool {
	for {
		var n uintptr
		var e syscall.Errno
		if c.stamps {
			c.iov.Base = &c.readBuf[0]
			c.iov.SetLen(len(c.readBuf))
			c.msg.SetControllen(len(c.oob))
			c.msg.Flags = 0
			n, _, e = syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), 0)
		} else {
			n, _, e = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.readBuf[0])), uintptr(len(c.readBuf)))
		}
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			c.readN = int(n)
			if c.stamps && n > 0 {
				c.received = parseStamp(c.oob[:c.msg.Controllen])
			}
		default:
			c.readErr = e
		}
		return true
	}
}

// parseStamp returns the SCM_TIMESTAMPNS time (Unix ns) in a recvmsg's
// control messages, 0 when there is none.
func parseStamp(oob []byte) int64 {
	const hdr = syscall.SizeofCmsghdr
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			return ts.Nano()
		}
		oob = oob[min(len(oob), (l+7)&^7):]
	}
	return 0
}

// await makes the connection's buffer hold at least one byte, or returns
// the read's error (socketRead's). An empty buffer goes back to
// connReaders before the wait, and a buffer is taken from it only once
// the socket has something to read, so a stream holds none for the tens
// of milliseconds between two of its tokens: 2 KiB less per stream in
// flight (docs/performance.md, "A read buffer only while reading").
func (c *leanConn) await() error {
	if c.buffered() > 0 {
		return nil
	}
	if err := c.pending; err != nil {
		c.pending = nil
		return err
	}
	if !rawReads {
		return c.fillKept()
	}
	// An empty buffer still attached is used by the first try below, and
	// given back if that finds nothing.
	if c.awaitFn == nil {
		c.awaitFn = c.awaitOnce
	}
	c.awaitErr = nil
	if err := c.raw.Read(c.awaitFn); err != nil {
		_, err = c.readResult(err)
		return err
	}
	return c.awaitErr
}

// awaitOnce is await's RawConn.Read callback: it fills a buffer from
// connReaders with one read, and gives the buffer back and returns false
// (wait until the socket is readable) when there was nothing to read.
func (c *leanConn) awaitOnce(fd uintptr) bool {
	c.attachBuffer()
	c.awaiting, c.fd = true, fd
	_, err := c.br.Peek(1)
	c.awaiting = false
	if err == errWouldBlock {
		c.releaseBuffer()
		return false
	}
	c.awaitErr = err
	return true
}
