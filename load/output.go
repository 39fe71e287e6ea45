package load

import (
	"strings"

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
	// a tag not yet complete.
	pending string
	// tagAt is the arrival of the chunk where a pending tag began, and
	// tagChunks the chunks it spans so far; valid when tagStarted.
	tagAt      float64
	tagChunks  int
	tagStarted bool
}

// add takes in one event that arrived t seconds after t_send.
func (o *output) add(ev *llm.Event, t float64) {
	if !ev.HasOutput() {
		return
	}
	o.times = append(o.times, t)
	reasoning := false
	if ev.Reasoning != "" {
		reasoning = true
		o.reasoning.WriteString(ev.Reasoning)
		o.noteReasoning(t)
	}
	if ev.ToolCalls > 0 || ev.ToolCallText != "" {
		o.toolChunks++
		o.toolCalls += ev.ToolCalls
		o.tool.WriteString(ev.ToolCallText)
		if !o.hasTool {
			o.hasTool, o.firstTool = true, t
		}
	}
	if ev.Text != "" {
		if o.text(ev.Text, t) && !reasoning {
			o.reasoningChunks++
		}
	}
	if reasoning {
		o.reasoningChunks++
	}
}

func (o *output) noteReasoning(at float64) {
	if !o.hasReasoning {
		o.hasReasoning, o.firstReasoning = true, at
	}
}

// answerText adds answer text that arrived at t; the first answer token
// is the first chunk with answer text other than whitespace.
func (o *output) answerText(s string, t float64) {
	o.answer.WriteString(s)
	if !o.hasAnswer && strings.TrimLeft(s, " \t\r\n") != "" {
		o.hasAnswer, o.firstAnswer = true, t
	}
}

// text takes in answer-channel text that arrived at t, splitting off a
// think block; it reports whether the chunk carried reasoning (text or
// tags).
func (o *output) text(s string, t float64) (reasoning bool) {
	th := &o.think
	if th.phase == phaseAnswer {
		o.answerText(s, t)
		return false
	}
	buf := s
	if th.pending != "" {
		buf = th.pending + s
		th.pending = ""
	}
	for {
		switch th.phase {
		case phaseStart:
			trimmed := strings.TrimLeft(buf, " \t\r\n")
			at := t
			if th.tagStarted {
				at = th.tagAt
			}
			switch {
			case trimmed == "":
				th.pending = buf // whitespace only: wait for what follows
				return false
			case strings.HasPrefix(trimmed, thinkOpen):
				th.phase = phaseThink
				o.thinkTags++
				o.noteReasoning(at)
				o.reasoningChunks += th.tagChunks // the chunks that began the tag
				th.tagStarted, th.tagChunks = false, 0
				buf = trimmed[len(thinkOpen):]
				reasoning = true
				continue
			case strings.HasPrefix(thinkOpen, trimmed):
				if !th.tagStarted {
					th.tagStarted, th.tagAt = true, t
				}
				th.tagChunks++
				th.pending = buf
				return false
			default:
				th.phase = phaseAnswer
				th.tagStarted, th.tagChunks = false, 0
				o.answerText(buf, at)
				return false
			}
		case phaseThink:
			reasoning = true
			if i := strings.Index(buf, thinkClose); i >= 0 {
				o.reasoning.WriteString(buf[:i])
				o.thinkTags++
				th.phase = phaseAnswer
				if rest := buf[i+len(thinkClose):]; rest != "" {
					o.answerText(rest, t)
				}
				return reasoning
			}
			k := tagPrefixSuffix(buf, thinkClose)
			o.reasoning.WriteString(buf[:len(buf)-k])
			th.pending = buf[len(buf)-k:]
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
	th.pending = ""
	switch {
	case p == "":
	case th.phase == phaseThink:
		o.reasoning.WriteString(p)
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
func tagPrefixSuffix(s, tag string) int {
	for k := min(len(s), len(tag)-1); k > 0; k-- {
		if s[len(s)-k:] == tag[:k] {
			return k
		}
	}
	return 0
}
