package sagemaker

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/llmload/llmload/llm"
)

// errClosed is the error of a Next after (or aborted by) Close.
func errClosed() error { return &llm.Error{Kind: llm.KindCanceled, Message: "stream closed"} }

// eventStream reads an InvokeEndpointWithResponseStream response. The SDK
// decodes the event stream on its own goroutines and hands over each
// PayloadPart through a channel; Next reassembles the container's lines
// across parts and decodes one line per call, so several lines in one part
// are several events, returned back to back.
//
// Lines are TGI stream lines (`data:{"token":…}`), OpenAI chunks
// (`data: {"choices":…}`, `data: [DONE]`) or bare JSON lines; SSE
// comments, blank lines and event/id/retry fields are skipped.
type eventStream struct {
	ctx    context.Context
	es     *sagemakerruntime.InvokeEndpointWithResponseStreamEventStream
	events <-chan types.ResponseStream
	format string
	reqID  string

	lines lineBuffer
	w     wire
	final bool // a line ended generation, or [DONE] came
	eof   bool // the event channel is closed

	err       error // sticky: returned by every Next after the first failure or io.EOF
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ llm.Stream = (*eventStream)(nil)

func newEventStream(ctx context.Context, es *sagemakerruntime.InvokeEndpointWithResponseStreamEventStream, format, reqID string) *eventStream {
	return &eventStream{ctx: ctx, es: es, events: es.Events(), format: format, reqID: reqID}
}

// Next returns the next event that carries text, usage or a finish reason.
func (s *eventStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.closed.Load() {
		return llm.Event{}, errClosed()
	}
	for {
		line, ok, err := s.lines.next()
		if err != nil {
			return s.fail(malformed(err.Error()))
		}
		if ok {
			if ev, emit, err := s.line(line); err != nil || emit {
				return s.result(ev, err)
			}
			continue
		}
		if s.eof {
			return s.end()
		}
		select {
		case e, ok := <-s.events:
			if !ok {
				if s.closed.Load() {
					return s.fail(errClosed())
				}
				if err := s.es.Err(); err != nil {
					return s.fail(s.readError(err))
				}
				s.eof = true
				continue
			}
			if p, isPart := e.(*types.ResponseStreamMemberPayloadPart); isPart {
				s.lines.write(p.Value.Bytes)
			}
			// Unknown event types are skipped, as the SDK's own reader does.
		case <-s.ctx.Done():
			return s.fail(llm.Classify(s.ctx, context.Cause(s.ctx)))
		}
	}
}

// end handles the end of the event stream: an unterminated last line is
// decoded, then the stream must have said it was complete (TGI details, a
// finish_reason or [DONE]); a template's container may end without saying.
func (s *eventStream) end() (llm.Event, error) {
	if rest := s.lines.rest(); len(bytes.TrimSpace(rest)) > 0 {
		ev, emit, err := s.line(rest)
		if err != nil || emit {
			return s.result(ev, err)
		}
	}
	if s.final || s.format == FormatTemplate {
		return s.fail(io.EOF)
	}
	return s.fail(malformed("stream ended before the final chunk"))
}

// line decodes one line. emit reports an event worth returning.
func (s *eventStream) line(line []byte) (ev llm.Event, emit bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == ':' {
		return ev, false, nil // a separator, an SSE comment or keep-alive
	}
	data := line
	if line[0] != '{' && line[0] != '[' {
		name, value, found := bytes.Cut(line, []byte{':'})
		if !found {
			return ev, false, malformed("unexpected line in stream: " + clip(string(line)))
		}
		switch string(name) {
		case "data":
			data = bytes.TrimSpace(value)
		case "event", "id", "retry":
			return ev, false, nil
		default:
			return ev, false, malformed("unexpected line in stream: " + clip(string(line)))
		}
	}
	switch {
	case len(data) == 0:
		return ev, false, nil
	case string(data) == "[DONE]":
		s.final = true
		return ev, false, nil
	}
	d, err := decode(data, &s.w)
	if err != nil {
		return ev, false, err
	}
	if d.final {
		s.final = true
	}
	if d.text == "" && d.finish == "" && d.usage == nil {
		return ev, false, nil // a role-only delta, a special token, an empty chunk
	}
	ev = llm.Event{Text: d.text, FinishReason: d.finish, Usage: d.usage, ID: d.id}
	if ev.ID == "" {
		ev.ID = s.reqID
	}
	return ev, true, nil
}

func (s *eventStream) result(ev llm.Event, err error) (llm.Event, error) {
	if err != nil {
		return s.fail(err)
	}
	return ev, nil
}

// fail makes err the stream's sticky result.
func (s *eventStream) fail(err error) (llm.Event, error) {
	s.err = err
	return llm.Event{}, err
}

// readError classifies a failure the SDK reported while reading events:
// an exception event (ModelStreamError, InternalStreamFailure), a broken
// connection or an undecodable frame.
func (s *eventStream) readError(err error) error {
	if s.closed.Load() {
		return errClosed()
	}
	return classifyStream(s.ctx, err)
}

// Close releases the response; it is idempotent and may be called from
// another goroutine to abort a blocked Next.
func (s *eventStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.es.Close() // its result repeats the stream's error, which Next reported
	})
	return nil
}

// wholeStream is an InvokeEndpoint response: one event with all of the
// text, then io.EOF.
type wholeStream struct {
	body  []byte
	reqID string
	err   error
}

var _ llm.Stream = (*wholeStream)(nil)

func newWholeStream(body []byte, reqID string) *wholeStream {
	return &wholeStream{body: body, reqID: reqID}
}

// Next returns the response as one Event, then io.EOF.
func (s *wholeStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	s.err = io.EOF
	var w wire
	d, err := decode(s.body, &w)
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	ev := llm.Event{Text: d.text, FinishReason: d.finish, Usage: d.usage, ID: d.id}
	if ev.ID == "" {
		ev.ID = s.reqID
	}
	return ev, nil
}

// Close is a no-op: the SDK has already read and closed the body.
func (s *wholeStream) Close() error {
	if s.err == nil {
		s.err = errClosed()
	}
	return nil
}
