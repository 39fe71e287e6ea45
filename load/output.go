package load

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/llmload/llmload/llm"
)

// output accumulates the output of one response as its events arrive:
// the arrival time of every chunk carrying output of any kind (answer,
// reasoning, tool calls), the first arrival of each kind, and the text of
// each kind for the local token count.
//
// Answer text may hold a reasoning block between "<think>" and
// "</think>" (DeepSeek-R1 and Qwen3 served without a reasoning parser);
// output splits it off, with tags split across chunks held back until
// they are complete. A "<think>" counts only at the start of the output
// (after whitespace): a model that writes the tag later in its answer is
// quoting it. The tags are not kept as text; each counts as one
// reasoning token (thinkTags), as in the tokenizers of those models.
//
// Text comes in as bytes valid only until the next event
// (llm.EventText); output copies what it keeps into builders that grow
// amortized, so a chunk costs no allocation of its own.
type output struct {
	times []float64 // seconds since t_send of every chunk carrying output

	answer, reasoning, tool strings.Builder

	firstReasoning, firstAnswer, firstTool float64 // valid when has*
	hasReasoning, hasAnswer, hasTool       bool

	reasoningChunks, toolChunks, toolCalls int
	// thinkTags counts the complete "<think>" and "</think>" tags seen:
	// one token each in the tokenizers of the models that write them.
	thinkTags int

	think thinkState
}

// Phases of the "<think>" splitter.
const (
	phaseStart  = iota // nothing but whitespace yet: a "<think>" may come
	phaseThink         // inside a think block: text is reasoning
	phaseAnswer        // answer text; no tag is looked for any more
)

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// thinkState is the "<think>" splitter's state between chunks.
type thinkState struct {
	phase int
	// pending is text held back: leading whitespace, or the beginning of
	// a tag not yet complete. It is output's own copy.
	pending []byte
	// tagAt is the arrival of the chunk where a pending tag began, and
	// tagChunks the chunks it spans so far; valid when tagStarted.
	tagAt      float64
	tagChunks  int
	tagStarted bool
}

// add takes in one event, with its text in tx, that arrived t seconds
// after t_send.
func (o *output) add(ev *llm.Event, tx *llm.EventText, t float64) {
	if !tx.HasOutput(ev) {
		return
	}
	o.times = append(o.times, t)
	reasoning := false
	if len(tx.Reasoning) > 0 {
		reasoning = true
		o.reasoning.Write(tx.Reasoning)
		o.noteReasoning(t)
	}
	if ev.ToolCalls > 0 || len(tx.ToolCallText) > 0 {
		o.toolChunks++
		o.toolCalls += ev.ToolCalls
		o.tool.Write(tx.ToolCallText)
		if !o.hasTool {
			o.hasTool, o.firstTool = true, t
		}
	}
	if len(tx.Text) > 0 {
		if o.text(tx.Text, t) && !reasoning {
			o.reasoningChunks++
		}
	}
	if reasoning {
		o.reasoningChunks++
	}
}

// addEvent is add for an event whose text is in its strings: streams
// that are not an llm.TextStream (bedrock, sagemaker, tgi, ollama). The
// bytes are a read-only view of the strings, never written.
func (o *output) addEvent(ev *llm.Event, t float64) {
	tx := llm.EventText{Text: view(ev.Text), Reasoning: view(ev.Reasoning), ToolCallText: view(ev.ToolCallText)}
	o.add(ev, &tx, t)
}

// view returns the bytes of s without copying them; they must not be
// written.
func view(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func (o *output) noteReasoning(at float64) {
	if !o.hasReasoning {
		o.hasReasoning, o.firstReasoning = true, at
	}
}

// answerText adds answer text that arrived at t; the first answer token
// is the first chunk with answer text other than whitespace.
func (o *output) answerText(s []byte, t float64) {
	o.answer.Write(s)
	if !o.hasAnswer && len(bytes.TrimLeft(s, " \t\r\n")) > 0 {
		o.hasAnswer, o.firstAnswer = true, t
	}
}

// text takes in answer-channel text that arrived at t, splitting off a
// think block; it reports whether the chunk carried reasoning (text or
// tags).
//
// s is valid only during the call; text held back is copied into
// th.pending, and buf may alias th.pending's storage until it is.
func (o *output) text(s []byte, t float64) (reasoning bool) {
	th := &o.think
	if th.phase == phaseAnswer {
		o.answerText(s, t)
		return false
	}
	buf := s
	if len(th.pending) > 0 {
		buf = append(th.pending, s...)
		th.pending = buf[:0]
	}
	hold := func(b []byte) { th.pending = append(th.pending[:0], b...) } // b may alias th.pending: append moves it down
	for {
		switch th.phase {
		case phaseStart:
			trimmed := bytes.TrimLeft(buf, " \t\r\n")
			at := t
			if th.tagStarted {
				at = th.tagAt
			}
			switch {
			case len(trimmed) == 0:
				hold(buf) // whitespace only: wait for what follows
				return false
			case bytes.HasPrefix(trimmed, []byte(thinkOpen)):
				th.phase = phaseThink
				o.thinkTags++
				o.noteReasoning(at)
				o.reasoningChunks += th.tagChunks // the chunks that began the tag
				th.tagStarted, th.tagChunks = false, 0
				buf = trimmed[len(thinkOpen):]
				reasoning = true
				continue
			case strings.HasPrefix(thinkOpen, string(trimmed)):
				if !th.tagStarted {
					th.tagStarted, th.tagAt = true, t
				}
				th.tagChunks++
				hold(buf)
				return false
			default:
				th.phase = phaseAnswer
				th.tagStarted, th.tagChunks = false, 0
				o.answerText(buf, at)
				return false
			}
		case phaseThink:
			reasoning = true
			if i := bytes.Index(buf, []byte(thinkClose)); i >= 0 {
				o.reasoning.Write(buf[:i])
				o.thinkTags++
				th.phase = phaseAnswer
				if rest := buf[i+len(thinkClose):]; len(rest) > 0 {
					o.answerText(rest, t)
				}
				return reasoning
			}
			k := tagPrefixSuffix(buf, thinkClose)
			o.reasoning.Write(buf[:len(buf)-k])
			hold(buf[len(buf)-k:])
			return reasoning
		default:
			o.answerText(buf, t)
			return reasoning
		}
	}
}

// finish flushes text held back at the end of the response: an
// unfinished tag is text of the phase it was in.
func (o *output) finish() {
	th := &o.think
	p := th.pending
	th.pending = th.pending[:0]
	switch {
	case len(p) == 0:
	case th.phase == phaseThink:
		o.reasoning.Write(p)
	default:
		at := th.tagAt
		if !th.tagStarted {
			at = 0 // whitespace only: not an answer token
		}
		o.answerText(p, at)
	}
}

// tagPrefixSuffix returns the length of the longest suffix of s that is a
// proper prefix of tag: text that may begin the tag in the next chunk.
func tagPrefixSuffix(s []byte, tag string) int {
	for k := min(len(s), len(tag)-1); k > 0; k-- {
		if string(s[len(s)-k:]) == tag[:k] {
			return k
		}
	}
	return 0
}
