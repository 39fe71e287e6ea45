package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"sync/atomic"
	"time"
)

// How a lean response body ends.
const (
	frameChunked = iota // Transfer-Encoding: chunked
	frameLength         // Content-Length
	frameClose          // the connection's close (HTTP/1.0, Connection: close)
)

// leanBody is a response body of the lean client, decoded straight from
// the connection's buffer (leanConn.br): the HTTP/1.1 chunked framing,
// a Content-Length or the connection's close, by the rules and with the
// errors of net/http's body and chunkedReader (net/http/transfer.go,
// net/http/internal/chunked.go; FuzzLeanMatchesStd and FuzzLeanLines
// hold it to them). Read to its end on a connection that stays open, it
// returns the connection to the pool.
//
// Besides Read it has readLine, which Body.ReadLine uses:
// a line is a slice of the connection's buffer when it lies in one chunk
// and one buffered read, so a streamed chunk is copied once, by the
// socket read, and no second buffer is held per stream.
//
// Read and readLine are for one goroutine; Close may be called from any.
type leanBody struct {
	// The fields each line reads come first, in one cache line (the
	// struct is 128 bytes, a size class Go aligns to 64): with many
	// streams in flight a stream's body is out of the CPU's caches by its
	// next chunk (docs/performance.md, "Cold stream state").
	state    atomic.Int32 // 0 reading, 1 returned to the pool, 2 closed
	frame    int8
	checkEnd bool   // a chunk's data ended: CRLF comes next
	n        uint64 // bytes left in the chunk, or in the body (frameLength)
	c        *leanConn
	err      error  // sticky; io.EOF after the body's well-formed end
	long     []byte // a line spanning chunks or buffered reads

	t *leanTransport
	// trailers is the response's Trailer map, which gets the chunked
	// trailer. The body does not keep the response itself: that would
	// keep it, its headers and its request (headers, URL, body) alive for
	// the whole stream, ≈ 2 KiB per stream (docs/performance.md, "Where
	// the memory goes").
	trailers http.Header
	keep     bool
	stop     func() bool
	aborted  *atomic.Bool
	ctx      context.Context
	excess   int64 // chunk framing beyond what net/http tolerates
}

var errLongLine = errors.New("line too long")

// The errors net/http's chunked reader and body return, with the same
// messages.
var (
	errChunkLineTooLong = errors.New("header line too long")
	errMalformedChunked = errors.New("malformed chunked encoding")
	errTrailerEOF       = errors.New("http: unexpected EOF reading trailer")
)

func newLeanBody(ctx context.Context, t *leanTransport, c *leanConn, resp *http.Response, keep bool, stop func() bool, aborted *atomic.Bool) *leanBody {
	b := &leanBody{t: t, c: c, keep: keep, stop: stop, aborted: aborted, ctx: ctx}
	switch {
	case len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked":
		if resp.Trailer == nil {
			resp.Trailer = http.Header{}
		}
		b.frame, b.trailers = frameChunked, resp.Trailer
	case resp.ContentLength > 0:
		b.frame, b.n = frameLength, uint64(resp.ContentLength)
	default:
		// http.ReadResponse gives a body without either only when the
		// connection's close ends it.
		b.frame, b.n = frameClose, math.MaxUint64
	}
	return b
}

// Read implements io.Reader.
func (b *leanBody) Read(p []byte) (int, error) {
	if b.state.Load() == 2 {
		return 0, errLeanAborted
	}
	if err := b.next(); err != nil {
		return 0, b.fail(err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	if b.c.buffered() == 0 && len(p) >= connBufSize {
		// As bufio.Reader.Read (and so net/http's body) does: a large
		// read with nothing buffered goes from the socket straight into p.
		var err error
		n, err = b.c.Read(p[:min(uint64(len(p)), b.n)])
		b.n -= uint64(n)
		if err != nil {
			return n, b.fail(b.socketEnded(err))
		}
	} else {
		d, err := b.data()
		if err != nil {
			return 0, b.fail(err)
		}
		n = copy(p, d)
		b.consume(n)
	}
	if b.frame == frameLength && b.n == 0 {
		// As net/http does: the last bytes come with io.EOF, and the
		// connection is free at once.
		b.end()
		return n, io.EOF
	}
	return n, nil
}

// readLine is Body.ReadLine's for a lean body: the next line without its
// LF (a CR before it is Body's to trim), valid until the next call; a
// last line with no LF before io.EOF; errLongLine for a line longer than
// maxLine bytes. Body calls the lean body's line methods (this one,
// skipBlank, waitData, received) directly, not through an interface:
// they run once or more per streamed chunk.
func (b *leanBody) readLine(maxLine int) ([]byte, error) {
	if b.state.Load() == 2 {
		return nil, errLeanAborted
	}
	b.long = b.long[:0]
	partial := false
	for {
		err := b.next()
		var d []byte
		if err == nil {
			d, err = b.data()
		}
		if err != nil {
			if err == io.EOF && partial {
				// The last line, with no LF: the next call returns io.EOF.
				return b.long, nil
			}
			return nil, b.fail(err)
		}
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			b.consume(i + 1)
			line := d[:i]
			if partial {
				b.long = append(b.long, line...)
				line = b.long
			}
			if len(line) > maxLine {
				return nil, errLongLine
			}
			return line, nil
		}
		// No LF before the end of the chunk or of what was read: keep the
		// bytes and read on. Nothing returned aliases the connection's
		// buffer across reads, nor after the connection went back to the
		// pool (the end is found only by the next call).
		b.long = append(b.long, d...)
		b.consume(len(d))
		partial = true
		if len(b.long) > maxLine {
			return nil, errLongLine
		}
	}
}

// skipBlank is Body.SkipBlank: it reads an empty line (LF or CRLF)
// only when it is next in the current chunk and already buffered, so it
// never reads from the socket nor moves the buffer, and never ends the
// body (the line readLine returned last stays valid).
func (b *leanBody) skipBlank() bool {
	if b.err != nil || b.n == 0 || b.state.Load() != 0 {
		return false
	}
	k := min(uint64(b.c.buffered()), b.n, 2)
	if k == 0 {
		return false
	}
	p, _ := b.c.br.Peek(int(k))
	switch {
	case p[0] == '\n':
		b.consume(1)
	case k == 2 && p[0] == '\r' && p[1] == '\n':
		b.consume(2)
	default:
		return false
	}
	return true
}

// waitData is Body.WaitData: it returns once the connection's buffer
// holds body bytes beyond the CRLF that ends a chunk's data, or the read
// that would fill it failed; that failure is kept for the next read
// (leanConn.pending), so the caller's next readLine meets it just as
// if it had made the read itself.
func (b *leanBody) waitData() {
	if b.err != nil || b.state.Load() != 0 || b.n == 0 && b.frame == frameLength {
		return // the next read ends the body without reading
	}
	if b.n == 0 && b.checkEnd && b.c.buffered() >= 2 {
		p, _ := b.c.br.Peek(2)
		b.endChunk(p) // if it is no CRLF, next reports it
	}
	if b.c.buffered() > 0 {
		return
	}
	if err := b.c.await(); err != nil {
		b.c.pending = err
	}
}

// received is Body.Received: the kernel's receive time of the read
// that completed the last line, on now's clock; zero when unknown.
func (b *leanBody) received(now time.Time) time.Time { return b.c.receivedAt(now) }

// fail is err as the caller sees it: a read the context's cancel or
// deadline aborted fails with the context's error.
func (b *leanBody) fail(err error) error {
	if err != io.EOF && b.aborted.Load() && b.ctx.Err() != nil {
		return b.ctx.Err()
	}
	return err
}

// next makes sure b.n > 0 bytes of data are next, reading chunk framing
// as needed, or returns the error that ends the body: io.EOF at its
// well-formed end, after which the connection was released.
func (b *leanBody) next() error {
	if b.err != nil || b.n > 0 {
		return b.err
	}
	if b.frame == frameLength {
		b.end()
		return b.err
	}
	for b.n == 0 {
		if b.checkEnd {
			p, err := b.c.peek(2)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				b.err = err
				return err
			}
			if !b.endChunk(p) {
				b.err = errMalformedChunked
				return b.err
			}
		}
		n, err := b.chunkHeader()
		if err != nil {
			b.err = err
			return err
		}
		if n == 0 {
			if err := b.trailer(); err != nil {
				b.err = err
				return err
			}
			b.end()
			return b.err
		}
		b.n, b.checkEnd = n, true
	}
	return nil
}

// endChunk consumes the CRLF that ends a chunk's data when p, the two
// buffered bytes after the data, is one, and reports whether it was.
func (b *leanBody) endChunk(p []byte) bool {
	if p[0] != '\r' || p[1] != '\n' {
		return false
	}
	b.c.br.Discard(2)
	b.checkEnd = false
	return true
}

// chunkHeader reads a chunk-size line and returns the size, as
// net/http's chunkedReader.beginChunk does.
func (b *leanBody) chunkHeader() (uint64, error) {
	p, err := b.c.readSlice('\n')
	if err != nil {
		switch err {
		case io.EOF:
			err = io.ErrUnexpectedEOF
		case bufio.ErrBufferFull:
			err = errChunkLineTooLong
		}
		return 0, err
	}
	// A bare LF or a CR before the end is no chunk line (RFC 9112).
	if i := bytes.IndexByte(p, '\r'); i == -1 {
		return 0, errors.New("chunked line ends with bare LF")
	} else if i != len(p)-2 {
		return 0, errors.New("invalid CR in chunked line")
	}
	p = p[:len(p)-2]
	if len(p) >= 4096 {
		return 0, errChunkLineTooLong
	}
	b.excess += int64(len(p)) + 2
	for len(p) > 0 && (p[len(p)-1] == ' ' || p[len(p)-1] == '\t') {
		p = p[:len(p)-1]
	}
	p, _, _ = bytes.Cut(p, []byte(";"))
	n, err := parseHexUint(p)
	if err != nil {
		return 0, err
	}
	// net/http's guard against a sender that pads tiny chunks with long
	// extensions: 16 bytes of overhead a chunk and twice its data.
	b.excess -= 16 + (2 * int64(n))
	b.excess = max(b.excess, 0)
	if b.excess > 16*1024 && n != 0 {
		return 0, errors.New("chunked encoding contains too much non-data")
	}
	return n, nil
}

func parseHexUint(v []byte) (n uint64, err error) {
	if len(v) == 0 {
		return 0, errors.New("empty hex number for chunk length")
	}
	for i, c := range v {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, errors.New("invalid byte in chunk length")
		}
		if i == 16 {
			return 0, errors.New("http chunk length too large")
		}
		n = n<<4 | uint64(c)
	}
	return n, nil
}

// trailer reads the trailer after the last chunk as net/http's
// body.readTrailer does, into the response's Trailer.
func (b *leanBody) trailer() error {
	p, err := b.c.peek(2)
	if string(p) == "\r\n" {
		b.c.br.Discard(2)
		return nil
	}
	if len(p) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	// The trailer must end within the connection's buffer.
	br := b.c.br
	if !seeUpcomingDoubleCRLF(br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF {
			return errTrailerEOF
		}
		return err
	}
	for k, v := range hdr {
		b.trailers[k] = v
	}
	return nil
}

func seeUpcomingDoubleCRLF(r *bufio.Reader) bool {
	for n := 4; ; n++ {
		p, err := r.Peek(n)
		if bytes.HasSuffix(p, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// data returns the bytes of the current chunk (of the body) that are in
// the connection's buffer, reading from the socket when there are none.
// next must have returned nil.
func (b *leanBody) data() ([]byte, error) {
	k := b.c.buffered()
	if k == 0 {
		if err := b.c.await(); err != nil {
			return nil, b.socketEnded(err)
		}
		k = b.c.br.Buffered()
	}
	if uint64(k) > b.n {
		k = int(b.n)
	}
	p, _ := b.c.br.Peek(k)
	return p, nil
}

// socketEnded is the body's result when reading the socket for its data
// failed with err: io.EOF ends a close-delimited body well (and returns
// io.EOF), any other body fails for good with io.ErrUnexpectedEOF; other
// errors are sticky as they are.
func (b *leanBody) socketEnded(err error) error {
	if err == io.EOF {
		if b.frame == frameClose {
			b.end()
			return io.EOF
		}
		err = io.ErrUnexpectedEOF
	}
	b.err = err
	return err
}

// consume drops k bytes of data that data returned.
func (b *leanBody) consume(k int) {
	b.c.br.Discard(k)
	b.n -= uint64(k)
}

// end is the body's well-formed end.
func (b *leanBody) end() {
	b.err = io.EOF
	b.finish()
}

// finish runs at the end of the body: the connection goes back to the
// pool when it may (kept alive, not aborted), else it is closed.
func (b *leanBody) finish() {
	if !b.state.CompareAndSwap(0, 1) {
		return
	}
	if b.stop() && b.keep {
		b.t.putIdle(b.c)
		return
	}
	b.c.releaseBuffer()
	b.c.conn.Close()
}

// Close closes the body; before its end, the connection too.
func (b *leanBody) Close() error {
	if b.state.CompareAndSwap(0, 2) {
		b.stop()
		b.c.conn.Close()
	}
	return nil
}
