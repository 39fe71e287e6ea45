package tgi

import (
	"encoding/json"
	"errors"

	"github.com/llmload/llmload/llm/internal/jsonscan"
)

// event holds what llmload reads from one TGI stream event:
//
//	{"index":1,"token":{"id":578,"text":" the","logprob":-0.3,"special":false},
//	 "generated_text":null,"details":null}
//
// The last event also carries "generated_text" (the whole output) and,
// with "details": true, {"finish_reason","generated_tokens","seed",
// "input_length"}. An error is {"error":"...","error_type":"..."}. Byte
// slices alias the data or the decoder's buffers until the next decode.
type event struct {
	hasToken    bool
	text        []byte
	special     bool
	final       bool // generated_text is not null
	hasDetails  bool
	finish      []byte
	generated   int64
	hasInput    bool
	inputLength int64
	hasErr      bool
	errMsg      []byte
	errType     []byte
}

// wireEvent is the encoding/json reading of an event, the slow path and
// the reference the fast path must match.
type wireEvent struct {
	Token *struct {
		Text    string `json:"text"`
		Special bool   `json:"special"`
	} `json:"token"`
	GeneratedText *string `json:"generated_text"`
	Details       *struct {
		FinishReason    string `json:"finish_reason"`
		GeneratedTokens int64  `json:"generated_tokens"`
		InputLength     *int64 `json:"input_length"`
	} `json:"details"`
	Error     json.RawMessage `json:"error"`
	ErrorType string          `json:"error_type"`
}

// decoder decodes events: a hand-written fast path for the shape TGI
// sends, encoding/json for anything it declines.
type decoder struct {
	s                                 jsonscan.Scanner
	textBuf, finishBuf, errBuf, tyBuf []byte
	otherBuf                          []byte
}

// decode parses data into e.
func (d *decoder) decode(data []byte, e *event) error {
	*e = event{}
	if err := d.fast(data, e); err == nil {
		return nil
	}
	*e = event{}
	return d.slow(data, e)
}

// Keys of the fast path; a repeated key declines (encoding/json merges
// repeated objects, which is not worth copying).
const (
	seenToken = 1 << iota
	seenGenerated
	seenDetails
	seenError
	seenErrorType
)

var topFields = []string{"token", "generated_text", "details", "error", "error_type"}

func (d *decoder) fast(data []byte, e *event) error {
	s := &d.s
	s.Reset(data)
	s.WS()
	seen := 0
	once := func(bit int) error {
		if seen&bit != 0 {
			return jsonscan.ErrDecline
		}
		seen |= bit
		return nil
	}
	err := s.Object(func(key []byte) (err error) {
		switch string(key) {
		case "token":
			if err = once(seenToken); err == nil {
				err = d.token(e)
			}
		case "generated_text":
			if err = once(seenGenerated); err != nil {
				return err
			}
			if s.Literal("null") {
				return nil
			}
			e.final = true
			_, err = s.Str(&d.otherBuf)
		case "details":
			if err = once(seenDetails); err == nil {
				err = d.details(e)
			}
		case "error":
			if err = once(seenError); err != nil {
				return err
			}
			if s.Literal("null") {
				return nil
			}
			e.hasErr = true
			e.errMsg, err = s.Str(&d.errBuf)
		case "error_type":
			if err = once(seenErrorType); err == nil {
				e.errType, err = s.StrOrNull(&d.tyBuf, nil)
			}
		default:
			err = s.Other(key, topFields...)
		}
		return err
	})
	if err != nil || !s.End() {
		return jsonscan.ErrDecline
	}
	return nil
}

var tokenFields = []string{"text", "special"}

func (d *decoder) token(e *event) error {
	s := &d.s
	if s.Literal("null") {
		return nil
	}
	e.hasToken = true
	seen := 0
	return s.Object(func(key []byte) (err error) {
		switch string(key) {
		case "text":
			if seen&1 != 0 {
				return jsonscan.ErrDecline
			}
			seen |= 1
			e.text, err = s.StrOrNull(&d.textBuf, nil)
		case "special":
			if seen&2 != 0 {
				return jsonscan.ErrDecline
			}
			seen |= 2
			err = s.BoolOrNull(&e.special)
		default:
			err = s.Other(key, tokenFields...)
		}
		return err
	})
}

var detailFields = []string{"finish_reason", "generated_tokens", "input_length"}

func (d *decoder) details(e *event) error {
	s := &d.s
	if s.Literal("null") {
		return nil
	}
	e.hasDetails = true
	seen := 0
	return s.Object(func(key []byte) (err error) {
		switch string(key) {
		case "finish_reason":
			if seen&1 != 0 {
				return jsonscan.ErrDecline
			}
			seen |= 1
			e.finish, err = s.StrOrNull(&d.finishBuf, nil)
		case "generated_tokens":
			if seen&2 != 0 {
				return jsonscan.ErrDecline
			}
			seen |= 2
			if !s.Literal("null") {
				e.generated, err = s.Int()
			}
		case "input_length":
			if seen&4 != 0 {
				return jsonscan.ErrDecline
			}
			seen |= 4
			if !s.Literal("null") {
				e.hasInput = true
				e.inputLength, err = s.Int()
			}
		default:
			err = s.Other(key, detailFields...)
		}
		return err
	})
}

var errNotObject = errors.New("event is not a JSON object")

func (d *decoder) slow(data []byte, e *event) error {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if t := w.Token; t != nil {
		e.hasToken, e.text, e.special = true, []byte(t.Text), t.Special
	}
	e.final = w.GeneratedText != nil
	if dt := w.Details; dt != nil {
		e.hasDetails, e.finish, e.generated = true, []byte(dt.FinishReason), dt.GeneratedTokens
		if dt.InputLength != nil {
			e.hasInput, e.inputLength = true, *dt.InputLength
		}
	}
	if len(w.Error) > 0 && string(w.Error) != "null" {
		e.hasErr = true
		var msg string
		if json.Unmarshal(w.Error, &msg) == nil {
			e.errMsg = []byte(msg)
		} else {
			e.errMsg = []byte(w.Error)
		}
	}
	e.errType = []byte(w.ErrorType)
	if !e.hasToken && !e.final && !e.hasDetails && !e.hasErr && jsonscan.IsNull(data) {
		return errNotObject
	}
	return nil
}
