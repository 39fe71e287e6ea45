package selfcheck

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a ground-truth streaming endpoint: it answers every POST to
// /v1/chat/completions (or /v1/completions) with an OpenAI-compatible
// event stream of exactly Tokens one-token chunks, the first TTFT after
// the request arrived and each later one ITL after the previous one's
// due time (an absolute schedule: lateness never accumulates), then a
// usage chunk and [DONE]. It records the instants just before and just
// after it wrote each chunk, with the same monotonic clock the client in
// the same process reads: the chunk left for the client in between.
//
// With Spread, response k's schedule is shifted by a phase in [0, ITL):
// the fractional part of k times the golden ratio, times ITL, so that
// streams tick at phases spread evenly over the gap rather than together.
//
// It is safe for concurrent use; a Server serves one level of a self-check
// and keeps every trace until Take removes it.
type Server struct {
	TTFT, ITL time.Duration
	Tokens    int
	Spread    bool

	n      atomic.Uint64
	mu     sync.Mutex
	traces map[string]*Trace
}

// Trace is what the server did for one response.
type Trace struct {
	// Arrived is when the handler started.
	Arrived time.Time
	// Starts and Writes are the instants just before each content chunk
	// was written and just after it had been written and flushed to the
	// connection: the chunk left for the client in between. Due are the
	// instants they were due.
	Starts, Writes, Due []time.Time
	// EndStart and End bracket the write of the usage chunk and [DONE],
	// the end of the response. End is zero when the response did not
	// complete.
	EndStart, End time.Time
}

// NewServer returns a Server for the given timing.
func NewServer(ttft, itl time.Duration, tokens int) *Server {
	return &Server{TTFT: ttft, ITL: itl, Tokens: tokens, traces: map[string]*Trace{}}
}

// Take returns the trace of response id and forgets it.
func (s *Server) Take(id string) (*Trace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.traces[id]
	delete(s.traces, id)
	return t, ok
}

var _ http.Handler = (*Server)(nil)

// Phase is response k's shift of its schedule when the server spreads its
// streams: frac(k·φ)·itl, where φ is the golden ratio; any run of
// consecutive k falls evenly over [0, itl).
func Phase(k uint64, itl time.Duration) time.Duration {
	_, f := math.Modf(float64(k) * math.Phi)
	return time.Duration(f * float64(itl))
}

// ServeHTTP streams one response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"POST a chat completion"}}`, http.StatusMethodNotAllowed)
		return
	}
	arrived := time.Now()
	io.Copy(io.Discard, r.Body)
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	k := s.n.Add(1)
	id := "selfcheck-" + strconv.FormatUint(k, 10)
	var phase time.Duration
	if s.Spread {
		phase = Phase(k, s.ITL)
	}
	chunk := []byte(`data: {"id":"` + id + `","object":"chat.completion.chunk","created":1,"model":"selfcheck",` +
		`"choices":[{"index":0,"delta":{"content":" ok"},"finish_reason":null}]}` + "\n\n")
	last := []byte(`data: {"id":"` + id + `","object":"chat.completion.chunk","created":1,"model":"selfcheck",` +
		`"choices":[{"index":0,"delta":{},"finish_reason":"length"}],` +
		fmt.Sprintf(`"usage":{"prompt_tokens":8,"completion_tokens":%d,"total_tokens":%d}}`, s.Tokens, s.Tokens+8) +
		"\n\ndata: [DONE]\n\n")

	tr := &Trace{Arrived: arrived, Starts: make([]time.Time, 0, s.Tokens), Writes: make([]time.Time, 0, s.Tokens), Due: make([]time.Time, 0, s.Tokens)}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range s.Tokens {
		due := arrived.Add(s.TTFT + phase + time.Duration(i)*s.ITL)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			}
		}
		start := time.Now()
		if _, err := w.Write(chunk); err != nil {
			return
		}
		fl.Flush()
		tr.Starts = append(tr.Starts, start)
		tr.Writes = append(tr.Writes, time.Now())
		tr.Due = append(tr.Due, due)
	}
	tr.EndStart = time.Now()
	if _, err := w.Write(last); err != nil {
		return
	}
	fl.Flush()
	tr.End = time.Now()
	s.mu.Lock()
	s.traces[id] = tr
	s.mu.Unlock()
}
