package workload

import "errors"

// Turn is one user turn of a multi-turn session.
type Turn struct {
	// Text is the user's message; Tokens its local token count.
	Text   string
	Tokens int
	// MaxTokens is the max_tokens of this turn's request; 0: send none.
	MaxTokens     int
	OutputClipped bool
}

// Session is one conversation: its turns are sent in order, each with the
// conversation so far (every earlier user message and the answer actually
// received to it) before its own user message.
type Session struct {
	// System and SystemTokens are the system prompt sent with every turn.
	System       string
	SystemTokens int
	// Set names the prompt set (a mix); "" otherwise.
	Set   string
	Turns []Turn
}

// SessionSource supplies the sessions of a run.
type SessionSource interface {
	// Session returns session i. It is deterministic in i and safe for
	// concurrent use.
	Session(i int64) Session
}

// NewSessions returns sessions of turns turns each, made of src's
// prompts: turn k of session i is src.Prompt(SessionBase + i·turns + k),
// so every turn has the lengths and (for synthetic prompts) the unique
// text a single-turn run would draw, and none is the prompt of a warm-up
// request (src.Prompt(0…warmup−1)).
func NewSessions(src Source, turns int) (*SyntheticSessions, error) {
	if src == nil || turns < 1 {
		return nil, errors.New("workload: NewSessions needs a source and at least one turn")
	}
	return &SyntheticSessions{src: src, turns: turns}, nil
}

// SyntheticSessions are sessions built from a Source (NewSessions).
type SyntheticSessions struct {
	src   Source
	turns int
}

var _ SessionSource = (*SyntheticSessions)(nil)

// SessionBase offsets the prompt indices of sessions from those of
// single requests (warm-up), so no session turn repeats a warm-up prompt.
const SessionBase int64 = 1 << 40

// Session returns session i: turns consecutive prompts of the source.
func (s *SyntheticSessions) Session(i int64) Session {
	var out Session
	out.Turns = make([]Turn, s.turns)
	for k := range s.turns {
		p := s.src.Prompt(SessionBase + i*int64(s.turns) + int64(k))
		if k == 0 {
			out.System, out.SystemTokens, out.Set = p.System, p.SystemTokens, p.Set
		}
		out.Turns[k] = Turn{Text: p.Text, Tokens: p.InputTokens, MaxTokens: p.MaxTokens, OutputClipped: p.OutputClipped}
	}
	return out
}

// Conversations is a Source whose rows are conversations (a dataset's):
// Sessions(turns, first) returns them as sessions of at most turns user
// turns, session i taking the row that request first+i would.
type Conversations interface {
	Source
	Sessions(turns int, first int64) SessionSource
}
