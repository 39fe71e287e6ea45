package ollama

import (
	"bytes"
	"context"
	"io"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// maxLineBytes keeps a misbehaving server from exhausting memory: it
// bounds one line (a final /api/generate line holds the whole context).
const maxLineBytes = 64 << 20

// stream reads an Ollama response: NDJSON (one object per line, LF or
// CRLF, blank lines ignored) or, for stream:false, one JSON object, read
// the same way (a body of one line). Each line with output text is an
// Event; the line with "done": true ends the response and carries the
// usage and server timings; an {"error": ...} line is a failure; a body
// that ends before the done line is malformed.
//
// Lines are read with wire.Body.ReadLine (straight from the connection's
// buffer with the lean HTTP client, else through a bufio.Reader) and
// decoded in place by the lean decoder; NextText (llm.TextStream) hands
// the text out as bytes aliasing them, so a token costs no allocation;
// Next copies it into the Event's strings. The embedded Body's Close drains after the done line.
type stream struct {
	wire.Body
	api   string
	whole bool // a non-streamed body: may span several lines

	dec decoder
	l   line

	err error
}

var (
	_ llm.TextStream = (*stream)(nil)
	_ llm.Waiter     = (*stream)(nil)
)

func newStream(ctx context.Context, body io.ReadCloser, status int, api string, whole bool) *stream {
	s := &stream{api: api, whole: whole}
	s.Init(ctx, body, status, maxLineBytes, "line too long")
	return s
}

// Next returns the next event that carries text or ends the response.
func (s *stream) Next() (llm.Event, error) {
	var t llm.EventText
	ev, err := s.NextText(&t)
	if err == nil {
		ev.Text, ev.Reasoning = string(t.Text), string(t.Reasoning)
	}
	return ev, err
}

// Wait implements llm.Waiter: it returns once NextText has bytes to
// read, and at once after the stream failed or ended (NextText then
// returns without reading).
func (s *stream) Wait() {
	if s.err == nil {
		s.WaitData()
	}
}

// NextText is Next with the event's text in t, valid until the next call
// (llm.TextStream).
func (s *stream) NextText(t *llm.EventText) (llm.Event, error) {
	*t = llm.EventText{}
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.Closed() {
		return llm.Event{}, wire.ErrClosed()
	}
	for {
		var data []byte
		var err error
		if s.whole {
			data, err = s.readAll()
		} else {
			data, err = s.ReadLine()
		}
		if err != nil {
			if err == io.EOF {
				err = &llm.Error{Kind: llm.KindMalformedStream, Status: s.Status(), Message: "stream ended before the final (done) line"}
			} else {
				err = s.ReadError(err)
			}
			return s.fail(err)
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}
		l := &s.l
		if err := s.dec.decode(data, l); err != nil {
			return s.fail(&llm.Error{Kind: llm.KindMalformedStream, Status: s.Status(), Message: "invalid JSON in stream: " + err.Error()})
		}
		if l.hasErr {
			return s.fail(lineError(string(l.errMsg), s.Status()))
		}
		text, thinking := l.content, l.msgThinking
		if s.api == APIGenerate {
			text, thinking = l.response, l.thinking
		}
		if !l.done {
			if len(text) == 0 && len(thinking) == 0 {
				continue // an empty line
			}
			t.Text, t.Reasoning = text, thinking
			return llm.Event{}, nil
		}
		t.Text, t.Reasoning = text, thinking
		ev := llm.Event{FinishReason: doneReason(l.reason)}
		m := &l.metrics
		if m.hasEvalCount || m.hasPromptCount {
			ev.Usage = &llm.Usage{PromptTokens: int(m.promptCount), CompletionTokens: int(m.evalCount)}
		}
		ev.ServerTiming = serverTiming(m)
		s.err = io.EOF
		s.Done()
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

// readAll returns the rest of a non-streamed body.
func (s *stream) readAll() ([]byte, error) {
	b, err := s.ReadAll(maxLineBytes)
	if err == nil && len(bytes.TrimSpace(b)) == 0 {
		return nil, io.EOF
	}
	return b, err
}
