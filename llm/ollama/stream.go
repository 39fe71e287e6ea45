package ollama

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/llmload/llmload/llm"
)

// Limits that keep a misbehaving server from exhausting memory.
const (
	readBufSize  = 16 << 10 // bufio buffer; longer lines are assembled in stream.long
	maxLineBytes = 64 << 20 // one line (a final /api/generate line holds the whole context)
)

func errClosed() error { return &llm.Error{Kind: llm.KindCanceled, Message: "stream closed"} }

// stream reads an Ollama response: NDJSON (one object per line, LF or
// CRLF, blank lines ignored) or, for stream:false, one JSON object, read
// the same way (a body of one line). Each line with output text is an
// Event; the line with "done": true ends the response and carries the
// usage and server timings; an {"error": ...} line is a failure; a body
// that ends before the done line is malformed.
//
// Lines are read with bufio.Reader.ReadSlice and decoded in place by the
// lean decoder; the only allocation per token is Event.Text.
type stream struct {
	ctx    context.Context
	body   io.ReadCloser
	r      *bufio.Reader
	status int
	api    string
	whole  bool // a non-streamed body: may span several lines

	long []byte
	eof  bool
	dec  decoder
	l    line

	err       error
	done      atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ llm.Stream = (*stream)(nil)

func newStream(ctx context.Context, body io.ReadCloser, status int, api string, whole bool) *stream {
	return &stream{ctx: ctx, body: body, r: bufio.NewReaderSize(body, readBufSize), status: status, api: api, whole: whole}
}

// Next returns the next event that carries text or ends the response.
func (s *stream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.closed.Load() {
		return llm.Event{}, errClosed()
	}
	for {
		var data []byte
		var err error
		if s.whole {
			data, err = s.readAll()
		} else {
			data, err = s.readLine()
		}
		if err != nil {
			if err == io.EOF {
				err = &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "stream ended before the final (done) line"}
			} else {
				err = s.readError(err)
			}
			return s.fail(err)
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}
		l := &s.l
		if err := s.dec.decode(data, l); err != nil {
			return s.fail(&llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "invalid JSON in stream: " + err.Error()})
		}
		if l.hasErr {
			return s.fail(lineError(string(l.errMsg), s.status))
		}
		text := l.content
		if s.api == APIGenerate {
			text = l.response
		}
		if !l.done {
			if len(text) == 0 {
				continue // an empty or thinking-only line
			}
			return llm.Event{Text: string(text)}, nil
		}
		ev := llm.Event{Text: string(text), FinishReason: doneReason(l.reason)}
		m := &l.metrics
		if m.hasEvalCount || m.hasPromptCount {
			ev.Usage = &llm.Usage{PromptTokens: int(m.promptCount), CompletionTokens: int(m.evalCount)}
		}
		ev.ServerTiming = serverTiming(m)
		s.err = io.EOF
		s.done.Store(true)
		return ev, nil
	}
}

// serverTiming converts the final line's durations (ns) to seconds.
func serverTiming(m *metrics) map[string]float64 {
	if !m.hasTotal && !m.hasLoad && !m.hasPromptEval && !m.hasEval {
		return nil
	}
	t := make(map[string]float64, 4)
	set := func(has bool, name string, ns int64) {
		if has {
			t[name] = float64(ns) / 1e9
		}
	}
	set(m.hasTotal, "total_s", m.total)
	set(m.hasLoad, "load_s", m.load)
	set(m.hasPromptEval, "prompt_eval_s", m.promptEval)
	set(m.hasEval, "eval_s", m.eval)
	return t
}

// doneReason returns b as a string without allocating for common values.
func doneReason(b []byte) string {
	switch string(b) {
	case "":
		return "stop" // older servers send no done_reason
	case "stop":
		return "stop"
	case "length":
		return "length"
	}
	return string(b)
}

func (s *stream) fail(err error) (llm.Event, error) {
	s.err = err
	return llm.Event{}, err
}

// readLine returns the next line without its LF or CRLF ending, valid
// until the next call. A last line with no ending is returned before io.EOF.
func (s *stream) readLine() ([]byte, error) {
	if s.eof {
		return nil, io.EOF
	}
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > maxLineBytes {
				return nil, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "line too long"}
			}
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	switch {
	case err == io.EOF && len(line) > 0:
		s.eof = true
	case err != nil:
		return nil, err
	default:
		line = line[:len(line)-1]
	}
	return line, nil
}

// readAll returns the rest of a non-streamed body.
func (s *stream) readAll() ([]byte, error) {
	if s.eof {
		return nil, io.EOF
	}
	b, err := io.ReadAll(io.LimitReader(s.r, maxLineBytes+1))
	if err != nil {
		return nil, err
	}
	s.eof = true
	if len(b) > maxLineBytes {
		return nil, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "response body too large"}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, io.EOF
	}
	return b, nil
}

func (s *stream) readError(err error) error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	if s.closed.Load() {
		return errClosed()
	}
	e := llm.Classify(s.ctx, err)
	if e.Status == 0 {
		c := *e
		c.Status = s.status
		e = &c
	}
	return e
}

// Close releases the response; after the done line it first drains what
// is left so the connection can be reused. It is idempotent and may be
// called from another goroutine to abort a blocked Next.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.done.Load() && !s.eof {
			s.closeErr = drainClose(s.r, s.body)
		} else {
			s.closeErr = s.body.Close()
		}
	})
	return s.closeErr
}
