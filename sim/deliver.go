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
	if limit > 0 {
		t := time.NewTimer(limit - time.Since(arrived))
		defer t.Stop()
		timeout = t.C
	}
	done := s.done
	for got := 0; got < pl.target; {
		select {
		case tk := <-q.out:
			got++
			if err := em.token(tk.index); err != nil {
				s.abort(q, reasonDisconnect)
				return
			}
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
