package sagemaker

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/llmload/llmload/llm"
)

// maxLineBytes bounds one reassembled line.
const maxLineBytes = 8 << 20

var errLineTooLong = errors.New("response line too long")

// lineBuffer reassembles newline-terminated lines from byte slices cut at
// arbitrary points, such as SageMaker's PayloadParts. A line that ends
// inside the current part is returned without copying; only a line that
// spans parts is assembled in pending.
type lineBuffer struct {
	cur     []byte // the unread rest of the current part
	pending []byte // the start of a line begun in earlier parts
	line    []byte // scratch for an assembled line
}

// write starts reading p, which must not change until next reports no
// further line. The previous part must have been read to its end.
func (b *lineBuffer) write(p []byte) { b.cur = p }

// next returns the next complete line without its "\n" or "\r\n". The
// slice is valid until the next call of next or write. When the current
// part holds no newline, its bytes are kept and ok is false.
func (b *lineBuffer) next() (line []byte, ok bool, err error) {
	i := bytes.IndexByte(b.cur, '\n')
	if i < 0 {
		if len(b.pending)+len(b.cur) > maxLineBytes {
			return nil, false, errLineTooLong
		}
		b.pending = append(b.pending, b.cur...)
		b.cur = nil
		return nil, false, nil
	}
	line, b.cur = b.cur[:i], b.cur[i+1:]
	if len(b.pending) > 0 {
		b.line = append(append(b.line[:0], b.pending...), line...)
		b.pending = b.pending[:0]
		line = b.line
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true, nil
}

// rest returns the bytes of an unterminated last line (at the end of the
// response) and forgets them.
func (b *lineBuffer) rest() []byte {
	r := b.pending
	b.pending = b.pending[:0]
	if n := len(r); n > 0 && r[n-1] == '\r' {
		r = r[:n-1]
	}
	return r
}

// wire is every field the provider reads from a response line or body, in
// any of the shapes it knows: TGI stream lines and responses, OpenAI chat
// and completion chunks and responses, and {"generated_text"} objects.
type wire struct {
	Token *struct {
		Text    string `json:"text"`
		Special bool   `json:"special"`
	} `json:"token"`
	GeneratedText *string `json:"generated_text"`
	Details       *struct {
		FinishReason    string `json:"finish_reason"`
		GeneratedTokens *int   `json:"generated_tokens"`
		PromptTokens    *int   `json:"prompt_tokens"`
		InputLength     *int   `json:"input_length"`
	} `json:"details"`
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Delta *struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Message *struct {
			Content *string `json:"content"`
		} `json:"message"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage     *llm.Usage      `json:"usage"`
	Error     json.RawMessage `json:"error"`
	ErrorType string          `json:"error_type"`
	Message   string          `json:"message"`
}

// decoded is what one line or body says.
type decoded struct {
	text   string
	finish string
	usage  *llm.Usage
	id     string
	final  bool // it ends generation (TGI details, a finish_reason)
}

// decode reads one JSON object or a one-element array of them (TGI's
// non-streamed [{"generated_text": …}]). An error the container reports
// in it is returned as an *llm.Error.
func decode(data []byte, w *wire) (decoded, error) {
	*w = wire{}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return decoded{}, malformed("invalid JSON: " + err.Error())
		}
		if len(arr) == 0 {
			return decoded{}, malformed("empty JSON array")
		}
		data = arr[0]
	}
	if err := json.Unmarshal(data, w); err != nil {
		return decoded{}, malformed("invalid JSON: " + err.Error())
	}
	if (len(w.Error) > 0 && string(w.Error) != "null") || w.Object == "error" {
		return decoded{}, containerError(w)
	}
	var d decoded
	d.id = w.ID
	switch {
	case w.Token != nil:
		// A TGI (or LMI jsonlines) token; generated_text on the last line
		// repeats the whole output and is not text of its own. Special
		// tokens (</s>) are counted but carry no text.
		if !w.Token.Special {
			d.text = w.Token.Text
		}
	case len(w.Choices) > 0:
		c := &w.Choices[0]
		switch {
		case c.Delta != nil && c.Delta.Content != nil:
			d.text = *c.Delta.Content
		case c.Message != nil && c.Message.Content != nil:
			d.text = *c.Message.Content
		case c.Text != nil:
			d.text = *c.Text
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			d.finish, d.final = finishReason(*c.FinishReason), true
		}
	case w.GeneratedText != nil:
		d.text = *w.GeneratedText
	}
	if w.Usage != nil {
		u := *w.Usage
		d.usage = &u
	}
	if det := w.Details; det != nil {
		d.final = true
		if det.FinishReason != "" {
			d.finish = finishReason(det.FinishReason)
		}
		if det.GeneratedTokens != nil {
			u := llm.Usage{CompletionTokens: *det.GeneratedTokens}
			switch {
			case det.PromptTokens != nil:
				u.PromptTokens = *det.PromptTokens
			case det.InputLength != nil:
				u.PromptTokens = *det.InputLength
			}
			d.usage = &u
		}
	}
	return d, nil
}

// finishReason maps TGI's finish reasons onto OpenAI's: "eos_token" and
// "stop_sequence" are "stop"; others pass through.
func finishReason(s string) string {
	switch s {
	case "stop", "eos_token", "stop_sequence":
		return "stop"
	case "length":
		return "length"
	}
	return s
}

// containerError classifies an error the container reported inside a 2xx
// response: TGI {"error": "...", "error_type": "..."}, OpenAI {"error":
// {"message", "type"}} or {"object": "error", "message"}.
func containerError(w *wire) *llm.Error {
	msg, typ := w.Message, w.ErrorType
	var s string
	if json.Unmarshal(w.Error, &s) == nil {
		msg = s
	} else {
		var inner struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		}
		if json.Unmarshal(w.Error, &inner) == nil {
			msg, typ = inner.Message, inner.Type
		}
	}
	if msg == "" {
		msg = "error in response"
	}
	kind := llm.KindServer
	low := strings.ToLower(typ + " " + msg)
	switch {
	case strings.Contains(low, "overloaded"):
		kind = llm.KindOverloaded
	case strings.Contains(low, "validation"):
		kind = llm.KindClient
	case strings.Contains(low, "timed out") || strings.Contains(low, "timeout"):
		kind = llm.KindTimeout
	}
	return &llm.Error{Kind: kind, Message: clip(msg)}
}

func malformed(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindMalformedStream, Message: msg}
}

// maxMessage bounds the length of an error message taken from a server.
const maxMessage = 512

// clip shortens s to maxMessage bytes on a rune boundary and folds it to one line.
func clip(s string) string {
	if len(s) > maxMessage {
		i := maxMessage
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		s = s[:i] + "…"
	}
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}
