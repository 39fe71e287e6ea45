package wire

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client kinds: which HTTP client a provider sends its requests with.
const (
	// ClientAuto uses the lean HTTP/1.1 client (leanTransport) for plain
	// http:// endpoints reached without a proxy, and net/http for the rest.
	ClientAuto = "auto"
	// ClientStd always uses net/http's Transport.
	ClientStd = "std"
)

// connBufSize is the lean client's read buffer per connection: it holds
// the response headers and batches the reads of a stream's chunks, and
// a streamed body's lines are read from it in place (leanBody.readLine).
// A connection holds one only while there is something in it to read
// (leanConn.await).
const connBufSize = 2 << 10

// connReaders are the read buffers connections take when their socket has
// something to read and give back when they have read it all.
var connReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, connBufSize) }}

// leanTransport is an http.RoundTripper for plain HTTP/1.1, made for many
// long streamed responses at once. net/http's Transport runs two
// goroutines per connection (readLoop, writeLoop) beside the caller's and
// holds a 4 KiB read buffer per connection; here the caller's goroutine
// writes the request and reads the response itself, through a 2 KiB
// buffer, from which it decodes the body's framing and reads its lines in
// place (leanbody.go). Measured in docs/performance.md.
//
// It keeps what the product relies on from net/http: keep-alive
// connections in an idle pool per host, a request lost on a reused
// connection before any response byte is sent once more on a new one
// (when net/http would: the request is replayable), httptrace hooks
// (GotConn, GotFirstResponseByte, and the dialer's ConnectStart/Done:
// load/conntrace.go),
// context cancellation and deadlines at any point, 1xx responses skipped,
// Content-Length, chunked and close-delimited bodies (http.ReadResponse
// parses the response's head; leanBody decodes the body by net/http's
// rules, with its errors), trailers, Connection: close. It sends no Accept-Encoding,
// so bodies come uncompressed. It does not do TLS or proxies: newTransport
// routes those to net/http.
type leanTransport struct {
	dialer  net.Dialer
	maxIdle int // idle connections kept per host

	mu   sync.Mutex
	idle map[string][]*leanConn
}

func newLeanTransport(maxIdle int) *leanTransport {
	startStamping()
	return &leanTransport{
		dialer:  net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		maxIdle: maxIdle,
		idle:    map[string][]*leanConn{},
	}
}

// autoTransport sends plain http requests that no proxy applies to
// through lean and the rest through std.
type autoTransport struct {
	lean *leanTransport
	std  *http.Transport
}

// RoundTrip implements http.RoundTripper.
func (a *autoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && a.direct(req) {
		return a.lean.RoundTrip(req)
	}
	return a.std.RoundTrip(req)
}

func (a *autoTransport) direct(req *http.Request) bool {
	if a.std.Proxy == nil {
		return true
	}
	u, err := a.std.Proxy(req)
	return err == nil && u == nil
}

// CloseIdleConnections closes both transports' idle connections.
func (a *autoTransport) CloseIdleConnections() {
	a.lean.CloseIdleConnections()
	a.std.CloseIdleConnections()
}

// leanConn is one connection of the lean client.
type leanConn struct {
	key  string
	conn *net.TCPConn
	raw  syscall.RawConn
	// br is the connection's read buffer, from connReaders; nil when the
	// connection has read everything it had (between two tokens of a
	// stream, idle in the pool). Before a read that may wait, await
	// makes it hold something.
	br *bufio.Reader

	got int64 // bytes read since the request was written

	// pending is the error of a read made by waitData, returned by the
	// next read instead of reading.
	pending error

	socketReader // socketRead's state (lean_linux.go)
}

// Read reads from the socket, counting the bytes.
func (c *leanConn) Read(p []byte) (int, error) {
	if err := c.pending; err != nil {
		c.pending = nil
		return 0, err
	}
	n, err := c.socketRead(p)
	c.got += int64(n)
	return n, err
}

// alive reports whether an idle connection can be used: the server has
// neither closed it nor sent anything on it.
func (c *leanConn) alive() bool {
	if c.buffered() > 0 {
		return false
	}
	return peekAlive(c.raw)
}

// buffered is the number of bytes read from the socket and not consumed.
func (c *leanConn) buffered() int {
	if c.br == nil {
		return 0
	}
	return c.br.Buffered()
}

// testHookBuffer, when set, is called with +1 when a connection takes a
// read buffer and -1 when it gives one back.
var testHookBuffer func(delta int)

// attachBuffer gives the connection a read buffer when it has none.
func (c *leanConn) attachBuffer() {
	if c.br == nil {
		c.br = connReaders.Get().(*bufio.Reader)
		c.br.Reset(c)
		if testHookBuffer != nil {
			testHookBuffer(1)
		}
	}
}

// releaseBuffer gives an empty read buffer back to connReaders, so that a
// stream holds none while it waits for its next token. Nothing may use a
// slice of it after.
func (c *leanConn) releaseBuffer() {
	if c.br != nil && c.br.Buffered() == 0 {
		c.br.Reset(nil)
		connReaders.Put(c.br)
		c.br = nil
		if testHookBuffer != nil {
			testHookBuffer(-1)
		}
	}
}

// fillKept is await for a connection that keeps its buffer while it
// waits: it reads through the buffer, waiting inside the read.
func (c *leanConn) fillKept() error {
	c.attachBuffer()
	_, err := c.br.Peek(1)
	return err
}

// peek is bufio.Reader.Peek on the connection's buffer, which await
// fills first when it is empty.
func (c *leanConn) peek(n int) ([]byte, error) {
	if err := c.await(); err != nil {
		return nil, err
	}
	return c.br.Peek(n)
}

// readSlice is bufio.Reader.ReadSlice on the connection's buffer, which
// await fills first when it is empty.
func (c *leanConn) readSlice(delim byte) ([]byte, error) {
	if err := c.await(); err != nil {
		return nil, err
	}
	return c.br.ReadSlice(delim)
}

func (t *leanTransport) dial(ctx context.Context, key string) (*leanConn, error) {
	// The dialer calls the trace's ConnectStart and ConnectDone itself.
	nc, err := t.dialer.DialContext(ctx, "tcp", key)
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, errors.New("lean http client: not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		tc.Close()
		return nil, err
	}
	c := &leanConn{key: key, conn: tc, raw: raw}
	c.enableStamps()
	return c, nil
}

// getConn returns an idle connection to key that is still open, or a new
// one; reused says which.
func (t *leanTransport) getConn(ctx context.Context, key string, trace *httptrace.ClientTrace, fresh bool) (c *leanConn, reused bool, err error) {
	for !fresh {
		t.mu.Lock()
		l := t.idle[key]
		if len(l) == 0 {
			t.mu.Unlock()
			break
		}
		c = l[len(l)-1]
		l[len(l)-1] = nil
		t.idle[key] = l[:len(l)-1]
		t.mu.Unlock()
		if c.alive() {
			reused = true
			break
		}
		c.conn.Close()
		c = nil
	}
	if c == nil {
		if c, err = t.dial(ctx, key); err != nil {
			return nil, false, err
		}
	}
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Conn: c.conn, Reused: reused})
	}
	return c, reused, nil
}

// putIdle keeps c for the next request to its host, or closes it when the
// pool is full.
func (t *leanTransport) putIdle(c *leanConn) {
	c.releaseBuffer()
	t.mu.Lock()
	if l := t.idle[c.key]; len(l) < t.maxIdle {
		t.idle[c.key] = append(l, c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.conn.Close()
}

// CloseIdleConnections closes every idle connection.
func (t *leanTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*leanConn{}
	t.mu.Unlock()
	for _, l := range idle {
		for _, c := range l {
			c.conn.Close()
		}
	}
}

// hostPort is the address to dial for u: its host with port 80 by default.
func hostPort(req *http.Request) string {
	h := req.URL.Host
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return net.JoinHostPort(h, "80")
}

// replayable is net/http's rule for sending a request again after a
// reused connection failed: its body can be had again, and it is
// idempotent or carries an idempotency key (wire.MarkReplayable).
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}

var errLeanAborted = errors.New("lean http client: request aborted")

// RoundTrip implements http.RoundTripper.
func (t *leanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	trace := httptrace.ContextClientTrace(ctx)
	key := hostPort(req)
	fresh := false
	for {
		if err := ctx.Err(); err != nil {
			closeBody(req)
			return nil, err
		}
		c, reused, err := t.getConn(ctx, key, trace, fresh)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.send(ctx, c, req, trace)
		if err == nil {
			return resp, nil
		}
		// Sent on a kept-alive connection the server had closed, the
		// request never reached it: send it once more on a new one.
		if reused && !fresh && c.got == 0 && replayable(req) && ctx.Err() == nil {
			if req.GetBody != nil {
				body, gerr := req.GetBody()
				if gerr != nil {
					return nil, err
				}
				r2 := *req
				r2.Body = body
				req = &r2
			}
			fresh = true
			continue
		}
		closeBody(req)
		return nil, err
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// send writes req on c and reads the response's head. On failure c is
// closed.
func (t *leanTransport) send(ctx context.Context, c *leanConn, req *http.Request, trace *httptrace.ClientTrace) (*http.Response, error) {
	// Cancellation and the deadline end any wait on the socket at once.
	var aborted atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		aborted.Store(true)
		c.conn.SetDeadline(time.Unix(1, 0))
	})
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if aborted.Load() && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	c.got = 0
	w := writerPool.Get().(*bufio.Writer)
	w.Reset(c.conn)
	err := req.Write(w)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil)
	writerPool.Put(w)
	if err != nil {
		return fail(err)
	}
	if err := c.await(); err != nil {
		return fail(err)
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	keep := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if resp.Body == http.NoBody {
		// Nothing to read (204, 304, HEAD): the connection is free now.
		if stop() && keep {
			t.putIdle(c)
		} else {
			c.conn.Close()
		}
		return resp, nil
	}
	resp.Body = newLeanBody(ctx, t, c, resp, keep, stop, &aborted)
	return resp, nil
}
