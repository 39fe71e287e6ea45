package tgi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// Limits that keep a misbehaving server from exhausting memory.
const (
	maxLineBytes     = 8 << 20  // one SSE line
	maxDataBytes     = 16 << 20 // one event's data
	maxResponseBytes = 64 << 20 // a whole /generate body
)

// sseStream reads /generate_stream. It follows the SSE line rules (LF or
// CRLF, ':' comments and keep-alives, "data:" with or without a space,
// multi-line data joined with "\n", dispatch on a blank line) and TGI's
// events on top: one per token, the last with "generated_text" (and
// "details"), after which the stream is complete; an {"error": ...}
// event is a failure. Special tokens (EOS) carry no output text.
//
// Next reads lines with wire.Body.ReadLine (straight from the connection's
// buffer with the lean HTTP client, else through a bufio.Reader) and
// copies only data values into a reused buffer; events are decoded in
// place by the lean decoder; NextText (llm.TextStream) hands the text
// out as bytes aliasing them, so a token costs no allocation; Next copies
// it into Event.Text. The embedded Body's Close drains after the final event.
type sseStream struct {
	wire.Body
	apiKey string
	timing map[string]float64 // header timings, put on the first event

	data    []byte
	hasData bool
	isError bool // "event: error"

	dec decoder
	ev  event

	err error
}

var (
	_ llm.TextStream = (*sseStream)(nil)
	_ llm.Waiter     = (*sseStream)(nil)
)

func newSSEStream(ctx context.Context, body io.ReadCloser, status int, apiKey string, timing map[string]float64) *sseStream {
	s := &sseStream{apiKey: apiKey, timing: timing}
	s.Init(ctx, body, status, maxLineBytes, "SSE line too long")
	return s
}

// Next returns the next event that carries text or ends the generation.
func (s *sseStream) Next() (llm.Event, error) {
	var t llm.EventText
	ev, err := s.NextText(&t)
	if err == nil {
		ev.Text = string(t.Text)
	}
	return ev, err
}

// Wait implements llm.Waiter: it returns once NextText has bytes to
// read, and at once after the stream failed or ended (NextText then
// returns without reading).
func (s *sseStream) Wait() {
	if s.err == nil {
		s.WaitData()
	}
}

// NextText is Next with the event's text in t, valid until the next call
// (llm.TextStream).
func (s *sseStream) NextText(t *llm.EventText) (llm.Event, error) {
	*t = llm.EventText{}
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.Closed() {
		return llm.Event{}, wire.ErrClosed()
	}
	for {
		line, err := s.ReadLine()
		if err != nil {
			if err != io.EOF {
				return s.fail(s.ReadError(err))
			}
			if s.hasData {
				// An event not ended by a blank line is still dispatched.
				if ev, ok, err := s.dispatch(t); err != nil || ok {
					return s.result(ev, err)
				}
			}
			return s.fail(&llm.Error{Kind: llm.KindMalformedStream, Status: s.Status(),
				Message: "stream ended before the final event (generated_text)"})
		}
		if len(line) == 0 {
			if ev, ok, err := s.dispatch(t); err != nil || ok {
				return s.result(ev, err)
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value := line, line[:0]
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > maxDataBytes {
				return s.fail(&llm.Error{Kind: llm.KindMalformedStream, Status: s.Status(), Message: "event data too long"})
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.isError = string(value) == "error"
		}
	}
}

// result makes dispatch's outcome the stream's: a failure is sticky (it
// is never io.EOF, so there is nothing to drain), the final event ends
// the stream. It is kept small enough to inline into Next: the hot path.
func (s *sseStream) result(ev llm.Event, err error) (llm.Event, error) {
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	if ev.FinishReason != "" || s.ev.final {
		// The final event: nothing follows it but the end of the body.
		s.err = io.EOF
		s.Done()
	}
	return ev, nil
}

func (s *sseStream) fail(err error) (llm.Event, error) {
	if err == io.EOF {
		s.Done()
	}
	s.err = err
	return llm.Event{}, err
}

// dispatch handles the pending event at a blank line. ok reports an
// Event to return.
func (s *sseStream) dispatch(t *llm.EventText) (ev llm.Event, ok bool, err error) {
	if !s.hasData {
		s.isError = false
		return ev, false, nil
	}
	data, isError := bytes.TrimSpace(s.data), s.isError
	s.data, s.hasData, s.isError = s.data[:0], false, false
	if len(data) == 0 {
		return ev, false, nil
	}
	e := &s.ev
	if err := s.dec.decode(data, e); err != nil {
		if isError {
			return ev, false, eventError(string(data), "", s.Status(), s.apiKey)
		}
		return ev, false, &llm.Error{Kind: llm.KindMalformedStream, Status: s.Status(), Message: "invalid JSON in stream: " + err.Error()}
	}
	if e.hasErr || isError {
		return ev, false, eventError(string(e.errMsg), string(e.errType), s.Status(), s.apiKey)
	}
	var text []byte
	if !e.special {
		text = e.text
	}
	if e.final {
		ev.FinishReason = finishReason(e.finish)
		if ev.FinishReason == "" {
			ev.FinishReason = "stop" // no details: generation ended all the same
		}
		if e.hasDetails && e.hasInput {
			ev.Usage = &llm.Usage{PromptTokens: int(e.inputLength), CompletionTokens: int(e.generated)}
		}
	}
	if len(text) == 0 && !e.final {
		return llm.Event{}, false, nil // a special token mid-stream
	}
	t.Text = text
	if s.timing != nil {
		ev.ServerTiming, s.timing = s.timing, nil
	}
	return ev, true, nil
}

// jsonStream reads a /generate response: one Event with all of the text,
// then io.EOF.
type jsonStream struct {
	ctx    context.Context
	body   io.ReadCloser
	header http.Header
	status int
	apiKey string
	timing map[string]float64

	err       error
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ llm.Stream = (*jsonStream)(nil)

func newJSONStream(ctx context.Context, resp *http.Response, apiKey string, timing map[string]float64) *jsonStream {
	return &jsonStream{ctx: ctx, body: resp.Body, header: resp.Header, status: resp.StatusCode, apiKey: apiKey, timing: timing}
}

// generated is a /generate response (or one element of the array the
// compatibility route "/" returns).
type generated struct {
	GeneratedText *string `json:"generated_text"`
	Details       *struct {
		FinishReason    string `json:"finish_reason"`
		GeneratedTokens int    `json:"generated_tokens"`
		InputLength     *int   `json:"input_length"`
	} `json:"details"`
	Error     json.RawMessage `json:"error"`
	ErrorType string          `json:"error_type"`
}

// Next returns the response as one Event, then io.EOF.
func (s *jsonStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.closed.Load() {
		return llm.Event{}, wire.ErrClosed()
	}
	ev, err := s.read()
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	s.err = io.EOF
	return ev, nil
}

func (s *jsonStream) read() (llm.Event, error) {
	b, err := io.ReadAll(io.LimitReader(s.body, maxResponseBytes+1))
	if err != nil {
		return llm.Event{}, wire.ReadError(s.ctx, err, s.closed.Load(), s.status)
	}
	if len(b) > maxResponseBytes {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "response body too large"}
	}
	b = bytes.TrimSpace(b)
	var g generated
	if len(b) > 0 && b[0] == '[' {
		var gs []generated
		err = json.Unmarshal(b, &gs)
		if err == nil && len(gs) > 0 {
			g = gs[0]
		}
	} else {
		err = json.Unmarshal(b, &g)
	}
	if err != nil {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "invalid JSON response: " + err.Error()}
	}
	if len(g.Error) > 0 && string(g.Error) != "null" {
		msg, typ, _ := parseError(b)
		return llm.Event{}, eventError(msg, typ, s.status, s.apiKey)
	}
	if g.GeneratedText == nil {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "response has no generated_text"}
	}
	ev := llm.Event{Text: *g.GeneratedText, FinishReason: "stop", ServerTiming: s.timing}
	prompt, completion := headerInt(s.header, "X-Prompt-Tokens"), headerInt(s.header, "X-Generated-Tokens")
	if d := g.Details; d != nil {
		if r := finishReason([]byte(d.FinishReason)); r != "" {
			ev.FinishReason = r
		}
		completion = d.GeneratedTokens
		if d.InputLength != nil {
			prompt = *d.InputLength
		}
	}
	if prompt >= 0 && completion >= 0 {
		ev.Usage = &llm.Usage{PromptTokens: prompt, CompletionTokens: completion}
	}
	return ev, nil
}

// Close releases the response; it is idempotent.
func (s *jsonStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.body.Close()
	})
	return s.closeErr
}
