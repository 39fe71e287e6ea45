package sim

import (
	"net/http"
	"time"
)

// This file is the protocol-neutral half of serving a request: queueing a
// planned request in the engine and delivering its tokens to a protocol's
// emitter. Each wire protocol (openai.go, …) parses its own request, plans
// it with planRequest, and writes its own events through an emitter.

// emitter writes one response in one wire protocol.
type emitter interface {
	// token writes output token i (word(pl.hash, i)); the last one is
	// i == pl.target-1. An error means the client is gone.
	token(i int) error
	// end completes the response (usage, [DONE], a final frame, …).
	end()
	// fail ends the response early with reasonTimeout or reasonClosed:
	// an HTTP error if nothing was sent yet, else an in-stream error.
	fail(reason string)
}

// enqueue submits a planned request to the engine. The error is
// errOverloaded (MaxConcurrentRequests reached: answer with the protocol's
// overload error) or errClosed.
func (s *Server) enqueue(id string, pl plan, arrived time.Time) (*seq, error) {
	q := &seq{id: id, prompt: pl.prompt, cached: pl.cached, target: pl.target, reserve: pl.reserve, arrived: arrived,
		out: make(chan token, pl.target)}
	if err := s.submit(q); err != nil {
		return nil, err
	}
	return q, nil
}

// deliver passes q's tokens to em as the engine emits them, until the
// response is complete, the client goes away, the invocation timeout
// passes or the server closes.
func (s *Server) deliver(r *http.Request, q *seq, pl plan, arrived time.Time, em emitter) {
	s.deliverWithin(r, q, pl, arrived, em, s.timeout)
}

// deliverWithin is deliver with the invocation timeout given (real time
// from arrival, 0 for none), for protocols whose service imposes its own
// (SageMaker's 60 s).
func (s *Server) deliverWithin(r *http.Request, q *seq, pl plan, arrived time.Time, em emitter, limit time.Duration) {
	var timeout <-chan time.Time
	deadline := arrived.Add(limit)
	if limit > 0 {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	done := s.done
	var late lateness
	defer func() { s.delivered(q, late) }()
	prev := time.Time{}
	for got := 0; got < pl.target; {
		select {
		case tk := <-q.out:
			// A token the engine emitted after the deadline means the
			// timeout came first, even when this goroutine, starved of CPU,
			// reads it only after the whole response was generated.
			if limit > 0 && tk.at.After(deadline) {
				s.abort(q, reasonTimeout)
				em.fail(reasonTimeout)
				return
			}
			got++
			if err := em.token(tk.index); err != nil {
				s.abort(q, reasonDisconnect)
				return
			}
			late.note(time.Since(tk.at), tk.at, prev)
			prev = tk.at
		case <-r.Context().Done():
			s.abort(q, reasonDisconnect)
			return
		case <-timeout:
			if reason := s.abort(q, reasonTimeout); reason != "" {
				em.fail(reason)
				return
			}
			timeout = nil // it completed just in time: its tokens are buffered
		case <-done:
			if reason := s.abort(q, reasonClosed); reason != "" {
				em.fail(reason)
				return
			}
			done = nil
		}
	}
	em.end()
}

// LateAfter is how far behind its emit time a token may be written before
// the simulator counts it late: 1 ms plus half the gap since the
// request's previous token (0 for the first). Later than that, the client
// reads it together with its neighbours and measures them as one burst —
// an artifact of the simulator falling behind (too little CPU for the
// load at this time scale), not a property of the modelled server.
func LateAfter(gap time.Duration) time.Duration { return time.Millisecond + gap/2 }

// lateness counts one response's tokens written late (see LateAfter).
type lateness struct {
	tokens  int           // tokens written
	late    int           // of which late
	maxLate time.Duration // the most any token was behind its emit time
}

// note accounts for one token emitted at at, the previous one at prev
// (zero for the first), written behind by d (after the write and flush).
func (l *lateness) note(d time.Duration, at, prev time.Time) {
	l.tokens++
	var gap time.Duration
	if !prev.IsZero() {
		gap = at.Sub(prev)
	}
	if d > LateAfter(gap) {
		l.late++
	}
	l.maxLate = max(l.maxLate, d)
}

// delivered records how q's delivery went: in its trace, if still kept,
// and in the server's totals.
func (s *Server) delivered(q *seq, l lateness) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveredTokens += int64(l.tokens)
	s.lateTokens += int64(l.late)
	if l.late > 0 {
		s.lateRequests++
	}
	s.maxLate = max(s.maxLate, l.maxLate)
	s.traces.setLate(q.id, l)
}
