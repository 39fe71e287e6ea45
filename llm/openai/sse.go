package openai

import (
	"bytes"
	"context"
	"io"
	"math/bits"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// Limits that keep a misbehaving server from exhausting memory.
const (
	maxLineBytes = 8 << 20  // one SSE line
	maxDataBytes = 16 << 20 // one event's data
)

// sseStream reads a streamed (text/event-stream) response. It follows the
// SSE specification's line rules (LF or CRLF endings, ':' comments, "field:
// value" with one optional space, multi-line data joined with "\n", an
// event dispatched on a blank line) and the OpenAI chunk protocol on top
// ("[DONE]" ends the stream; an "error" object or "event: error" is a
// failure).
//
// Next reads lines with wire.Body.ReadLine (straight from the connection's
// buffer with the lean HTTP client, else from a bufio.Reader) and
// copies only data field values into a reused buffer; a chunk is decoded
// in place by the lean decoder. NextText (llm.TextStream) hands out the
// text as bytes aliasing those buffers, so a content chunk costs no
// allocation; Next copies it into the Event's strings. The embedded Body's Close drains after a well-formed end
// ([DONE] or EOF after a finish_reason).
type sseStream struct {
	wire.Body
	// The fields read for every chunk come first, beside the memo at the
	// decoder's start: with many streams in flight each chunk finds them
	// out of the CPU's caches, so they share as few cache lines as they
	// can (docs/performance.md, "Cold stream state").
	err       error // sticky: returned by every Next after the first failure or io.EOF
	api       llm.API
	hasData   bool // a data field was seen since the last dispatch
	sawFinish bool
	hasCacheN bool
	// usage is the last usage sent; cacheN, when hasCacheN, is
	// llama.cpp's timings.cache_n, which may come in another chunk.
	usage *llm.Usage
	id    string // the last id, reused while the server repeats it
	data  []byte // the pending event's data
	event []byte // the pending event's type
	dec   decoder

	chunk  chunk
	apiKey string
	cacheN int
	// toolSeen has bit i set once tool_calls index i (0–63) appeared: the
	// first delta of an index starts a tool call.
	toolSeen uint64
}

var (
	_ llm.TextStream = (*sseStream)(nil)
	_ llm.Waiter     = (*sseStream)(nil)
)

// newSSEStream returns a Stream reading SSE from body. status is the HTTP
// status that carried it; apiKey is redacted from error messages.
func newSSEStream(ctx context.Context, body io.ReadCloser, api llm.API, status int, apiKey string) *sseStream {
	s := &sseStream{api: api, apiKey: apiKey}
	s.Init(ctx, body, status, maxLineBytes, "SSE line too long")
	return s
}

// Next returns the next event that carries text, usage or a finish reason.
func (s *sseStream) Next() (llm.Event, error) {
	var t llm.EventText
	ev, err := s.NextText(&t)
	if err == nil {
		ev.Text, ev.Reasoning, ev.ToolCallText = string(t.Text), string(t.Reasoning), string(t.ToolCallText)
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
				// The SSE specification drops an event not ended by a
				// blank line; servers that omit the last one are common
				// enough that llmload dispatches it instead.
				if ev, ok, err := s.dispatch(t); err != nil || ok {
					return s.result(ev, err)
				}
			}
			if s.sawFinish {
				// Some servers omit [DONE] after the last chunk.
				s.Done()
				return s.fail(io.EOF)
			}
			return s.fail(s.errorf(llm.KindMalformedStream, "stream ended before [DONE]"))
		}
		if len(line) == 0 {
			if ev, ok, err := s.dispatch(t); err != nil || ok {
				return s.result(ev, err)
			}
			continue
		}
		if line[0] == ':' {
			continue // comment or keep-alive
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
				return s.fail(s.errorf(llm.KindMalformedStream, "event data too long"))
			}
			if !s.hasData && s.SkipBlank() {
				// The usual event, one data line and its blank line in
				// one read: handled from the line, not copied first.
				if ev, ok, err := s.handle(t, value); err != nil || ok {
					return s.result(ev, err)
				}
				continue
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.event = append(s.event[:0], value...)
		}
		// "id", "retry" and unknown fields are ignored, as the spec says.
	}
}

func (s *sseStream) result(ev llm.Event, err error) (llm.Event, error) {
	if err != nil {
		return s.fail(err)
	}
	return ev, nil
}

// fail makes err the stream's sticky result.
func (s *sseStream) fail(err error) (llm.Event, error) {
	if err == io.EOF {
		s.Done()
	}
	s.err = err
	return llm.Event{}, err
}

// dispatch handles the pending event at a blank line. ok reports an Event
// to return; err is io.EOF at [DONE] or the failure the event reports.
func (s *sseStream) dispatch(t *llm.EventText) (ev llm.Event, ok bool, err error) {
	if !s.hasData {
		s.event = s.event[:0]
		return ev, false, nil
	}
	data := s.data
	s.data, s.hasData = s.data[:0], false
	return s.handle(t, data)
}

// handle handles an event with data (dispatch), which may be the
// connection's buffer: valid until the next read.
func (s *sseStream) handle(t *llm.EventText, data []byte) (ev llm.Event, ok bool, err error) {
	isError := string(s.event) == "error"
	s.event = s.event[:0]
	if isError {
		return ev, false, streamError(data, s.Status(), s.apiKey)
	}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return ev, false, nil // an empty data field is a keep-alive, not a chunk
	case string(data) == "[DONE]":
		return ev, false, io.EOF
	}
	c := &s.chunk
	plainReasoning, textOnly := s.plainKind()
	plain, only, err := s.dec.decodeOrText(data, c, textOnly)
	if err != nil {
		return ev, false, s.errorf(llm.KindMalformedStream, "invalid JSON in stream: "+err.Error())
	}
	if only {
		// A chunk shaped like the last one, which carried its text and
		// nothing else: the event is that text, with the id the last
		// one set (the id is in the head or tail the two share). An
		// empty text makes no event, as below.
		switch {
		case len(plain) == 0:
			return ev, false, nil
		case plainReasoning:
			t.Reasoning = plain
		default:
			t.Text = plain
		}
		ev.ID = s.id
		return ev, true, nil
	}
	if c.errRaw != nil || c.errObj {
		return ev, false, streamError(data, s.Status(), s.apiKey)
	}
	text := c.content
	if s.api == llm.APICompletion {
		text = c.text
	}
	if len(c.finish) > 0 {
		s.sawFinish = true
	}
	reasoning := c.reasoning
	if len(reasoning) == 0 {
		reasoning = c.reasoning2
	}
	if len(text) == 0 && len(reasoning) == 0 && c.tools.n == 0 && len(c.finish) == 0 && !c.hasUsage && !c.hasTimings {
		return ev, false, nil // a role-only delta or an empty chunk
	}
	t.Reasoning = reasoning
	if tc := &c.tools; tc.n > 0 {
		// A tool call starts with the first delta of its index; entries
		// whose index lies outside 0–63 start one when they carry an id.
		ev.ToolCalls = bits.OnesCount64(tc.mask&^s.toolSeen) + tc.otherIDs
		s.toolSeen |= tc.mask
		t.ToolCallText = tc.text
	}
	if len(c.id) > 0 && string(c.id) != s.id {
		s.id = string(c.id)
	}
	ev.ID = s.id
	t.Text = text
	ev.FinishReason = finishReason(c.finish)
	if c.hasTimings && c.timings.hasCacheN {
		s.cacheN, s.hasCacheN = c.timings.cacheN, true
	}
	if c.hasUsage {
		u := &llm.Usage{PromptTokens: c.usage.prompt, CompletionTokens: c.usage.completion,
			CachedPromptTokens: c.usage.cached, HasCached: c.usage.hasCached,
			ReasoningTokens: c.usage.reasoning, HasReasoning: c.usage.hasReasoning}
		s.usage = u
		ev.Usage = u
	}
	if s.hasCacheN && s.usage != nil && !s.usage.HasCached {
		// llama.cpp reports its cache in timings only; a usage without
		// details takes it, even from an earlier or later chunk.
		u := *s.usage
		u.CachedPromptTokens, u.HasCached = s.cacheN, true
		s.usage = &u
		ev.Usage = &u
	}
	if c.hasTimings {
		ev.ServerTiming = c.timings.serverTiming()
	}
	return ev, true, nil
}

// memoFastPath is false only in tests that compare handle's events with
// and without its fast path.
var memoFastPath = true

// plainKind tells handle whether a chunk served from a plain memo (one
// that carried its text and nothing else: memo.go) may skip the chunk
// struct (ok), and whether its text is reasoning: when the memo's text
// field is one handle reads for this API. handle's other work has nothing
// to do for such a chunk: no finish, usage, timings or tool call, and the
// id the last chunk set. TestPlainTextFastPath holds the two paths to the
// same events.
func (s *sseStream) plainKind() (reasoning, ok bool) {
	if !memoFastPath {
		return false, false
	}
	switch s.dec.memo.text {
	case strContent:
		return false, s.api == llm.APIChat
	case strText:
		return false, s.api == llm.APICompletion
	case strReasoning, strReasoning2:
		return true, true
	}
	return false, false
}

// finishReason returns b as a string, without allocating for the common values.
func finishReason(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	}
	return string(b)
}

func (s *sseStream) errorf(kind llm.ErrorKind, msg string) *llm.Error {
	return &llm.Error{Kind: kind, Status: s.Status(), Message: msg}
}
