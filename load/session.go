package load

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/workload"
)

// turnReq is one turn of a session on its way through Runner.do: the
// request with the conversation so far, the prompt that describes it for
// the record, and the answer received, which the next turn sends back.
type turnReq struct {
	session int64
	turn    int // from 0
	turns   int // in the session
	prompt  workload.Prompt
	req     *llm.Request
	// answer is the output text of the turn's successful response; the
	// stream reader keeps the text of every response anyway (for the local
	// token count), so sessions cost nothing more per token.
	answer string
}

// session runs a new session on the calling goroutine; first is the slot
// of its first turn, whose id the caller already took. Each later turn
// waits for the previous answer and the think time, then takes its own
// ticket, so the plan's stop conditions (max requests, duration,
// interruption) end a session between turns. A failed turn ends its
// session: the conversation cannot go on without the answer. It returns
// the error kind of the last turn sent.
func (s *runState) session(first slot, target func(time.Duration) float64) llm.ErrorKind {
	sid := s.sessions.Add(1) - 1
	sess := s.r.Sessions.Session(sid)
	var (
		history    []llm.Message
		histTokens int
		kind       llm.ErrorKind
	)
	for k, t := range sess.Turns {
		sl := first
		if k > 0 {
			if s.total >= 0 && s.next.Load() >= s.total {
				return kind // every request was handed out: no think time to wait for nothing
			}
			if d := s.r.thinkTime(sid, k); d > 0 && !s.sleepFor(d) {
				return kind
			}
			at := time.Since(s.r.start)
			id, ok := s.ticket(at)
			if !ok {
				return kind
			}
			sl = slot{id: id, worker: first.worker, at: at, target: target(at)}
		}
		tr := &turnReq{session: sid, turn: k, turns: len(sess.Turns), req: s.r.Template.buildTurn(sess.System, history, t.Text, t.MaxTokens)}
		tr.prompt = workload.Prompt{Text: t.Text, InputTokens: histTokens + t.Tokens, MaxTokens: t.MaxTokens,
			System: sess.System, SystemTokens: sess.SystemTokens, Set: sess.Set, OutputClipped: t.OutputClipped}
		sl.turn = tr
		if kind = s.send(sl); kind != "" {
			return kind
		}
		if k+1 < len(sess.Turns) {
			history = append(history, llm.Message{Role: "user", Content: t.Text}, llm.Message{Role: "assistant", Content: tr.answer})
			histTokens += t.Tokens + s.r.Tokenizer.Count(tr.answer)
		}
	}
	return kind
}

// sessionAsync runs a session on its own goroutine (an open-loop
// arrival), holding a slot of sem, when not nil, for the whole session:
// the cap bounds sessions in flight.
func (s *runState) sessionAsync(first slot, sem chan struct{}, target func(time.Duration) float64) {
	s.async.Go(func() {
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-s.reqCtx.Done():
			case <-s.interrupt.Done():
			}
		}
		s.session(first, target)
	})
}

// buildTurn builds the request of a session turn: the system prompt, the
// conversation so far (user and assistant messages in turn), then the
// turn's user message. The completions API gets the same texts joined by
// blank lines.
func (t *Template) buildTurn(system string, history []llm.Message, text string, maxTokens int) *llm.Request {
	req := t.build(workload.Prompt{Text: text, MaxTokens: maxTokens, System: system})
	if len(history) == 0 {
		return req
	}
	if t.API == llm.APICompletion {
		parts := make([]string, 0, len(history)+2)
		if system != "" {
			parts = append(parts, system)
		}
		for _, m := range history {
			parts = append(parts, m.Content)
		}
		req.Prompt = strings.Join(append(parts, text), "\n\n")
		return req
	}
	msgs := make([]llm.Message, 0, len(history)+2)
	if system != "" {
		msgs = append(msgs, llm.Message{Role: "system", Content: system})
	}
	msgs = append(msgs, history...)
	req.Messages = append(msgs, llm.Message{Role: "user", Content: text})
	return req
}

// streamThink keys the think-time draws.
const streamThink uint64 = 0x7468696e6b2d2d31 // "think--1"

// thinkTime is the pause before turn k (from 0) of session sid: exactly
// ThinkTime, or an exponential draw of that mean, reproducible from the
// plan's seed, the session and the turn.
func (r *Runner) thinkTime(sid int64, k int) time.Duration {
	if r.ThinkTime <= 0 || !r.ThinkExponential {
		return r.ThinkTime
	}
	g := rand.New(rand.NewPCG(r.Plan.Seed^streamThink, uint64(sid)<<20^uint64(k)))
	d := float64(r.ThinkTime) * g.ExpFloat64()
	return time.Duration(min(d, math.MaxInt64/2))
}
