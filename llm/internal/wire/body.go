package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmload/llmload/llm"
)

// readBufSize is Body's bufio buffer, for a body that does not read lines
// itself (net/http's, over https, proxies and --http-client std); longer
// lines are assembled in Body.long. It is held for the whole life of a
// stream, so it is sized for memory per in-flight stream: a streamed chunk
// line is a few hundred bytes, and the transport's own 4 KiB connection
// buffer below it batches the reads (docs/performance.md). A body of the
// lean client (leanBody) reads lines straight from its connection's buffer
// and needs none.
const readBufSize = 2 << 10

// ErrClosed is the error of a Next after (or aborted by) Close.
func ErrClosed() error { return &llm.Error{Kind: llm.KindCanceled, Message: "stream closed"} }

// ReadError classifies a failed read of a response that came with status:
// an *llm.Error is kept, a read aborted by Close (closed) is ErrClosed,
// anything else is llm.Classify's verdict, the context's deadline making
// it a timeout.
func ReadError(ctx context.Context, err error, closed bool, status int) error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	if closed {
		return ErrClosed()
	}
	return WithStatus(llm.Classify(ctx, err), status)
}

// WithStatus returns e, or a copy of it with status when it has none.
func WithStatus(e *llm.Error, status int) *llm.Error {
	if e.Status == 0 {
		c := *e
		c.Status = status
		e = &c
	}
	return e
}

// Body is the reading half of a provider's stream: the response body read
// line by line, with bounded line length (through a bufio.Reader, or by
// the lean client's body itself: leanBody.readLine), and a
// Close that after a well-formed end (Done) drains the rest so the
// connection can be reused. A provider's stream embeds it and calls Init.
//
// ReadLine and ReadAll are for the goroutine that calls Next; Close and
// Closed may be called from any goroutine, Close to abort a blocked read.
type Body struct {
	ctx     context.Context
	body    io.ReadCloser
	lines   *leanBody     // body, when it reads lines itself (the lean client's)
	r       *bufio.Reader // else, made by the first ReadLine
	status  int
	maxLine int
	tooLong string

	long []byte // a line longer than the bufio buffer
	eof  bool   // the body ended (after a final unterminated line)

	done      atomic.Bool // ended well: Close may drain
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Init makes b read body, the response of a request made with ctx that
// came with status. A line longer than maxLine bytes is a malformed-stream
// error with message tooLong.
func (b *Body) Init(ctx context.Context, body io.ReadCloser, status, maxLine int, tooLong string) {
	b.ctx, b.body, b.status, b.maxLine, b.tooLong = ctx, body, status, maxLine, tooLong
	b.lines, _ = body.(*leanBody)
	b.r = nil
}

// Status is the HTTP status of the response.
func (b *Body) Status() int { return b.status }

// Closed reports whether Close was called.
func (b *Body) Closed() bool { return b.closed.Load() }

// Done records that the stream ended well, so Close may drain the rest.
func (b *Body) Done() { b.done.Store(true) }

// Received is the kernel's receive time of the data that completed the
// last line ReadLine returned (or of the read that ended the body), on
// now's clock, when the connection reads with kernel timestamps (the
// lean client on Linux); zero when it is not known. now must have been
// read after that ReadLine. It implements llm.ReceiveStamper.
func (b *Body) Received(now time.Time) time.Time {
	if b.lines == nil {
		return time.Time{}
	}
	return b.lines.received(now)
}

// WaitData returns once the body has bytes to read, or its read failed
// (the next ReadLine returns the failure). It does nothing for a closed
// body, nor for one that does not read lines itself (net/http's), whose
// ReadLine waits.
func (b *Body) WaitData() {
	if b.lines != nil && !b.eof && !b.closed.Load() {
		b.lines.waitData()
	}
}

// ReadLine returns the next line without its LF or CRLF ending. The slice
// is valid until the next call. A last line with no ending is returned
// before io.EOF.
func (b *Body) ReadLine() ([]byte, error) {
	if b.lines != nil {
		line, err := b.lines.readLine(b.maxLine)
		if err != nil {
			if err == errLongLine {
				err = b.longLine()
			}
			return nil, err
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
	if b.eof {
		return nil, io.EOF
	}
	if b.r == nil {
		b.r = bufio.NewReaderSize(b.body, readBufSize)
	}
	line, err := b.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		b.long = append(b.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(b.long) > b.maxLine {
				return nil, b.longLine()
			}
			line, err = b.r.ReadSlice('\n')
			b.long = append(b.long, line...)
		}
		line = b.long
	}
	switch {
	case err == io.EOF && len(line) > 0:
		b.eof = true
	case err != nil:
		return nil, err
	default:
		line = line[:len(line)-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// SkipBlank reads the next line when it is empty and already buffered,
// and reports whether it did; it never waits for the socket, and the line
// ReadLine returned last stays valid. An SSE reader uses it to handle an
// event whose blank line came with its data line straight from that line,
// without copying it.
func (b *Body) SkipBlank() bool {
	if b.lines != nil {
		return b.lines.skipBlank()
	}
	if b.r == nil || b.eof {
		return false
	}
	p, _ := b.r.Peek(min(2, b.r.Buffered()))
	switch {
	case len(p) >= 1 && p[0] == '\n':
		b.r.Discard(1)
	case len(p) == 2 && p[0] == '\r' && p[1] == '\n':
		b.r.Discard(2)
	default:
		return false
	}
	return true
}

func (b *Body) longLine() error {
	return &llm.Error{Kind: llm.KindMalformedStream, Status: b.status, Message: b.tooLong}
}

// reader is what is left of the body: the bufio.Reader when ReadLine made
// one, else the body itself.
func (b *Body) reader() io.Reader {
	if b.r != nil {
		return b.r
	}
	return b.body
}

// ReadAll returns the rest of the body; more than limit bytes is a
// malformed-stream error. At the end of the body it returns io.EOF.
func (b *Body) ReadAll(limit int) ([]byte, error) {
	if b.eof {
		return nil, io.EOF
	}
	p, err := io.ReadAll(io.LimitReader(b.reader(), int64(limit)+1))
	if err != nil {
		return nil, err
	}
	b.eof = true
	if len(p) > limit {
		return nil, &llm.Error{Kind: llm.KindMalformedStream, Status: b.status, Message: "response body too large"}
	}
	return p, nil
}

// ReadError classifies an error of ReadLine or ReadAll (see the function
// ReadError).
func (b *Body) ReadError(err error) error {
	return ReadError(b.ctx, err, b.closed.Load(), b.status)
}

// Close releases the response. After Done it first reads the little that
// is left (the chunked-encoding trailer) so the connection can be reused.
// It is idempotent and may be called from another goroutine to abort a
// blocked read.
func (b *Body) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		if b.done.Load() && !b.eof {
			b.closeErr = DrainClose(b.reader(), b.body)
		} else {
			b.closeErr = b.body.Close()
		}
	})
	return b.closeErr
}
