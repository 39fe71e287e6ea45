package ollama

import (
	"encoding/json"
	"errors"

	"github.com/llmload/llmload/llm/internal/jsonscan"
)

// line holds what llmload reads from one NDJSON line of an Ollama
// response:
//
//	{"model":"llama3","created_at":"…","message":{"role":"assistant","content":" the"},"done":false}
//
// (/api/generate: "response" instead of "message"). The last line has
// "done": true, "done_reason" and the metrics (durations in nanoseconds).
// An error is {"error": "..."}. Byte slices alias the data or the
// decoder's buffers until the next decode.
type line struct {
	content  []byte // message.content
	response []byte // response
	// msgThinking is message.thinking (chat) and thinking is thinking
	// (generate): a thinking model's reasoning (Ollama's "think" option).
	msgThinking, thinking []byte
	done                  bool
	reason                []byte
	metrics               metrics
	hasErr                bool
	errMsg                []byte
}

// metrics are the final line's counts and durations; has* tell which
// were present.
type metrics struct {
	total, load, promptEval, eval             int64 // nanoseconds
	promptCount, evalCount                    int64
	hasTotal, hasLoad, hasPromptEval, hasEval bool
	hasPromptCount, hasEvalCount              bool
}

// wireLine is the encoding/json reading of a line: the slow path, and
// the reference the fast path must match.
type wireLine struct {
	Message *struct {
		Content  string `json:"content"`
		Thinking string `json:"thinking"`
	} `json:"message"`
	Response           string          `json:"response"`
	Thinking           string          `json:"thinking"`
	Done               bool            `json:"done"`
	DoneReason         string          `json:"done_reason"`
	TotalDuration      *int64          `json:"total_duration"`
	LoadDuration       *int64          `json:"load_duration"`
	PromptEvalCount    *int64          `json:"prompt_eval_count"`
	PromptEvalDuration *int64          `json:"prompt_eval_duration"`
	EvalCount          *int64          `json:"eval_count"`
	EvalDuration       *int64          `json:"eval_duration"`
	Error              json.RawMessage `json:"error"`
}

// decoder decodes lines: a hand-written fast path for the shape Ollama
// sends, encoding/json for anything it declines.
type decoder struct {
	s                                          jsonscan.Scanner
	contentBuf, responseBuf, reasonBuf, errBuf []byte
	thinkingBuf, msgThinkingBuf                []byte
}

func (d *decoder) decode(data []byte, l *line) error {
	*l = line{}
	if d.fast(data, l) == nil {
		return nil
	}
	*l = line{}
	return d.slow(data, l)
}

var topFields = []string{"message", "response", "done", "done_reason", "total_duration", "load_duration",
	"prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration", "error", "thinking"}

func (d *decoder) fast(data []byte, l *line) error {
	s := &d.s
	s.Reset(data)
	s.WS()
	var seen uint32
	m := &l.metrics
	err := s.Object(func(key []byte) (err error) {
		bit := uint32(0)
		switch string(key) {
		case "message":
			bit = 1 << 0
		case "response":
			bit = 1 << 1
		case "done":
			bit = 1 << 2
		case "done_reason":
			bit = 1 << 3
		case "total_duration":
			bit = 1 << 4
		case "load_duration":
			bit = 1 << 5
		case "prompt_eval_count":
			bit = 1 << 6
		case "prompt_eval_duration":
			bit = 1 << 7
		case "eval_count":
			bit = 1 << 8
		case "eval_duration":
			bit = 1 << 9
		case "error":
			bit = 1 << 10
		case "thinking":
			bit = 1 << 11
		default:
			return s.Other(key, topFields...)
		}
		if seen&bit != 0 {
			return jsonscan.ErrDecline // a repeated key: leave it to encoding/json
		}
		seen |= bit
		switch bit {
		case 1 << 0:
			return d.message(l)
		case 1 << 1:
			l.response, err = s.StrOrNull(&d.responseBuf, nil)
		case 1 << 2:
			err = s.BoolOrNull(&l.done)
		case 1 << 3:
			l.reason, err = s.StrOrNull(&d.reasonBuf, nil)
		case 1 << 4:
			err = d.optInt(&m.total, &m.hasTotal)
		case 1 << 5:
			err = d.optInt(&m.load, &m.hasLoad)
		case 1 << 6:
			err = d.optInt(&m.promptCount, &m.hasPromptCount)
		case 1 << 7:
			err = d.optInt(&m.promptEval, &m.hasPromptEval)
		case 1 << 8:
			err = d.optInt(&m.evalCount, &m.hasEvalCount)
		case 1 << 9:
			err = d.optInt(&m.eval, &m.hasEval)
		case 1 << 10:
			if s.Literal("null") {
				return nil
			}
			l.hasErr = true
			l.errMsg, err = s.Str(&d.errBuf)
		case 1 << 11:
			l.thinking, err = s.StrOrNull(&d.thinkingBuf, nil)
		}
		return err
	})
	if err != nil || !s.End() {
		return jsonscan.ErrDecline
	}
	return nil
}

var messageFields = []string{"content", "thinking"}

func (d *decoder) message(l *line) error {
	s := &d.s
	if s.Literal("null") {
		return nil
	}
	var seen [2]bool
	return s.Object(func(key []byte) (err error) {
		k := 0
		switch string(key) {
		case "content":
		case "thinking":
			k = 1
		default:
			return s.Other(key, messageFields...)
		}
		if seen[k] {
			return jsonscan.ErrDecline
		}
		seen[k] = true
		if k == 1 {
			l.msgThinking, err = s.StrOrNull(&d.msgThinkingBuf, nil)
		} else {
			l.content, err = s.StrOrNull(&d.contentBuf, nil)
		}
		return err
	})
}

// optInt parses an integer or null (absent, as for a nil *int64).
func (d *decoder) optInt(v *int64, has *bool) (err error) {
	if d.s.Literal("null") {
		return nil
	}
	*v, err = d.s.Int()
	*has = err == nil
	return err
}

var errNotObject = errors.New("line is not a JSON object")

func (d *decoder) slow(data []byte, l *line) error {
	var w wireLine
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Message != nil {
		l.content = []byte(w.Message.Content)
		l.msgThinking = []byte(w.Message.Thinking)
	}
	l.thinking = []byte(w.Thinking)
	l.response, l.done, l.reason = []byte(w.Response), w.Done, []byte(w.DoneReason)
	m := &l.metrics
	opt := func(p *int64, v *int64, has *bool) {
		if p != nil {
			*v, *has = *p, true
		}
	}
	opt(w.TotalDuration, &m.total, &m.hasTotal)
	opt(w.LoadDuration, &m.load, &m.hasLoad)
	opt(w.PromptEvalCount, &m.promptCount, &m.hasPromptCount)
	opt(w.PromptEvalDuration, &m.promptEval, &m.hasPromptEval)
	opt(w.EvalCount, &m.evalCount, &m.hasEvalCount)
	opt(w.EvalDuration, &m.eval, &m.hasEval)
	if len(w.Error) > 0 && string(w.Error) != "null" {
		l.hasErr = true
		var msg string
		if json.Unmarshal(w.Error, &msg) == nil {
			l.errMsg = []byte(msg)
		} else {
			l.errMsg = []byte(w.Error)
		}
	}
	if jsonscan.IsNull(data) {
		return errNotObject
	}
	return nil
}
