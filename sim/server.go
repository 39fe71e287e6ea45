// Package sim is llmload's built-in simulated LLM endpoint: an
// http.Handler that serves the OpenAI-compatible API from an engine that
// models continuous batching on a real accelerator.
//
// The engine keeps the model's weights and a KV cache in device memory.
// Every admitted request reserves KV for its prompt plus max_tokens, so the
// batch is limited by KV capacity; the rest wait in a FIFO queue. One
// scheduler goroutine runs prefill steps (for newly admitted requests, after
// which each emits its first token) and decode steps (every running sequence
// emits one token), each taking the larger of its compute time and its
// memory time plus fixed overheads (see Profile). Delays are real, scaled by
// Options.TimeScale, and the engine records the true emit time of every
// token: the ground truth against which llmload's own measurements can be
// checked (Server.Trace).
//
// docs/simulator.md describes the model, the profiles and their calibration.
package sim

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmload/llmload/ratelimit"
	"github.com/llmload/llmload/workload"
)

// Options configure a Server.
type Options struct {
	// Profile is the model and accelerator simulated. The zero Profile
	// means DefaultProfile.
	Profile Profile
	// TimeScale multiplies every simulated delay: 1 is real time, 0.1 runs
	// ten times faster. 0 means 1.
	TimeScale float64
	// MaxConcurrentRequests bounds running plus queued requests; beyond it a
	// request fails at once with HTTP 429
	// {"error":{"message":"Model is overloaded","type":"overloaded"}}, like
	// TGI. 0 means 128 (TGI's default); negative means unlimited.
	MaxConcurrentRequests int
	// InvocationTimeout (real time, from arrival) ends a request that has
	// not finished: HTTP 408 if nothing was sent yet, otherwise an error
	// event in the stream. 0 means none.
	InvocationTimeout time.Duration
	// ModelName is the served model id; "" means the profile's model name.
	ModelName string
	// MoreModels are further model ids the OpenAI and Ollama routes
	// accept and list (/v1/models, /api/tags), all served by the same
	// engine; responses name ModelName. The Bedrock and SageMaker routes
	// accept any model id or endpoint name, as those services' ids are
	// ARNs, profiles and names a test cannot predict.
	MoreModels []string
	// Seed makes output lengths and texts reproducible.
	Seed uint64
	// TraceCapacity is how many ground-truth traces are kept (a ring,
	// oldest dropped first). 0 means 100000; negative means none (Trace
	// finds nothing; Stats still counts late tokens). A trace holds every
	// token's emit time, ≈3 KiB per 128 tokens, so a full default ring is
	// hundreds of MiB: a server whose traces nobody reads keeps none.
	TraceCapacity int
	// RPM and TPM are a managed endpoint's quotas: requests and tokens
	// (prompt + requested output, counted at admission) per simulated
	// minute. Beyond them a request gets the protocol's own throttling
	// error. 0 means no quota; BedrockDefaultRPM/TPM are Bedrock's
	// on-demand defaults.
	RPM, TPM int
	// PrefixCacheBlocks, if positive, enables a prefix cache of that many
	// blocks of 64 bytes of prompt text (sim/prefixcache.go): a request
	// whose prompt begins like an earlier one's skips the prefill of the
	// shared blocks and reports them as cached prompt tokens (OpenAI routes:
	// usage.prompt_tokens_details.cached_tokens and llama.cpp-style
	// timings.cache_n). 0 means no cache, as before.
	PrefixCacheBlocks int
	// ReasoningTokens, if positive, makes the OpenAI routes answer like a
	// reasoning model: the first ReasoningTokens output tokens of every
	// response (all of them when it has fewer) are reasoning, the rest
	// the answer, and usage reports them in
	// completion_tokens_details.reasoning_tokens. ReasoningField says how
	// they are sent: "reasoning_content" (vLLM's reasoning parsers,
	// DeepSeek; the default), "reasoning" (newer vLLM, gateways) or
	// "think" (answer text between "<think>" and "</think>" tokens, the
	// first and the last reasoning token, as a model served without a
	// reasoning parser writes them).
	ReasoningTokens int
	ReasoningField  string
}

// Reasoning fields of Options.ReasoningField.
const (
	ReasoningContent = "reasoning_content"
	ReasoningPlain   = "reasoning"
	ReasoningThink   = "think"
)

// Trace is the ground truth of one accepted request, as the engine saw it.
// Times are real (scaled) wall-clock times with a monotonic reading.
type Trace struct {
	// ID is the response's "id" field.
	ID string
	// Arrived is when the handler started, before it read the body.
	Arrived time.Time
	// FirstToken is TokenTimes[0], zero when no token was emitted.
	FirstToken time.Time
	// TokenTimes is the emit time of every output token: the instant the
	// engine step that produced it ended, before it was written to the wire.
	TokenTimes []time.Time
	// PromptTokens is the server's count (chat template included).
	PromptTokens int
	// OutputTokens is len(TokenTimes).
	OutputTokens int
	// Queued is the time from arrival to admission into the batch (to the
	// end of the request when it never was admitted).
	Queued time.Duration
	// Error is why the request ended early ("invocation timed out",
	// "client disconnected", "server closed"); "" when it completed.
	Error string
	// LateTokens counts the tokens the server wrote more than LateAfter
	// behind their emit time (TokenTimes), and MaxLate is the most any
	// token was behind. A client reads late tokens in a burst, so its
	// inter-token times for them measure the simulator's lag, not the
	// model. Both are set once the response was delivered; a Trace taken
	// before that holds 0.
	LateTokens int
	MaxLate    time.Duration
}

// Stats is a snapshot of the engine, for tests and debugging.
type Stats struct {
	// Running is the number of sequences in the batch (holding KV),
	// Queued the number waiting for admission.
	Running, Queued int64
	// Rejected counts 429s; Completed counts requests that emitted all
	// their tokens.
	Rejected, Completed int64
	// KVUsedTokens is the KV cache reserved by running sequences;
	// KVCapacityTokens is its size.
	KVUsedTokens, KVCapacityTokens int
	// DeliveredTokens counts the tokens handlers wrote; LateTokens those
	// written more than LateAfter behind their emit time, in LateRequests
	// responses; MaxLate is the most any token was behind. Late tokens
	// mean the simulator could not keep up with its own engine (too
	// little CPU for this load at this time scale): clients measure them
	// bunched.
	DeliveredTokens, LateTokens, LateRequests int64
	MaxLate                                   time.Duration
}

// Server is the simulated endpoint. It is safe for concurrent use; create
// it with New and stop it with Close.
type Server struct {
	profile Profile
	model   string
	models  []string // model first, then Options.MoreModels
	scale   float64
	limit   int // < 0: unlimited
	timeout time.Duration
	quota   *ratelimit.Window // nil: no RPM/TPM quota
	seed    uint64
	tok     *workload.Tokenizer
	ids     atomic.Uint64
	prefix  *prefixCache // nil: no prefix cache
	// reasoning is Options.ReasoningTokens, reasoningField its field.
	reasoning      int
	reasoningField string

	mu        sync.Mutex
	engines   []*replica // one per profile replica
	closed    bool
	rejected  int64
	completed int64
	traces    traceRing
	// Delivery lateness totals (see Stats).
	deliveredTokens, lateTokens, lateRequests int64
	maxLate                                   time.Duration
	// embedBusy is when the embeddings passes queued so far end
	// (sim/embeddings.go).
	embedBusy time.Time

	done      chan struct{}  // closed by Close
	stopped   sync.WaitGroup // engine loops
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// Reasons a request ends early; they are Trace.Error values.
const (
	reasonTimeout    = "invocation timed out"
	reasonDisconnect = "client disconnected"
	reasonClosed     = "server closed"
)

var (
	errOverloaded = errors.New("Model is overloaded")
	errClosed     = errors.New("server closed")
)

// New validates opts, starts the engine and returns the server.
func New(opts Options) (*Server, error) {
	p := opts.Profile
	if p.Name == "" && p.Model.Params == 0 {
		var err error
		if p, err = LookupProfile(DefaultProfile); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if opts.TimeScale < 0 {
		return nil, fmt.Errorf("sim: negative time scale %v", opts.TimeScale)
	}
	if opts.InvocationTimeout < 0 {
		return nil, fmt.Errorf("sim: negative invocation timeout %v", opts.InvocationTimeout)
	}
	tok, err := workload.NewTokenizer("")
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Server{
		profile: p,
		model:   cmpOr(opts.ModelName, p.Model.Name),
		models:  slices.Compact(append([]string{cmpOr(opts.ModelName, p.Model.Name)}, opts.MoreModels...)),
		scale:   opts.TimeScale,
		limit:   opts.MaxConcurrentRequests,
		timeout: opts.InvocationTimeout,
		seed:    opts.Seed,
		tok:     tok,
		traces:  newTraceRing(opts.TraceCapacity),
		done:    make(chan struct{}),
	}
	for range p.replicas() {
		s.engines = append(s.engines, &replica{b: newBatcher(p), wake: make(chan struct{}, 1)})
	}
	if s.scale == 0 {
		s.scale = 1
	}
	if opts.PrefixCacheBlocks > 0 {
		s.prefix = newPrefixCache(opts.PrefixCacheBlocks)
	}
	if opts.ReasoningTokens < 0 {
		return nil, fmt.Errorf("sim: negative reasoning tokens %d", opts.ReasoningTokens)
	}
	switch opts.ReasoningField {
	case "":
		s.reasoningField = ReasoningContent
	case ReasoningContent, ReasoningPlain, ReasoningThink:
		s.reasoningField = opts.ReasoningField
	default:
		return nil, fmt.Errorf("sim: reasoning field must be %s, %s or %s, got %q", ReasoningContent, ReasoningPlain, ReasoningThink, opts.ReasoningField)
	}
	s.reasoning = opts.ReasoningTokens
	if opts.RPM < 0 || opts.TPM < 0 {
		return nil, fmt.Errorf("sim: negative quota (rpm %d, tpm %d)", opts.RPM, opts.TPM)
	}
	// Quotas count per simulated minute, so a sped-up simulator keeps
	// them in proportion.
	s.quota = ratelimit.New(opts.RPM, opts.TPM, time.Duration(float64(time.Minute)*s.scale))
	if s.limit == 0 {
		s.limit = 128
	}
	for _, e := range s.engines {
		e.b.onDone = func(q *seq) {
			s.completed++
			s.traces.add(makeTrace(q, time.Time{}))
		}
		s.stopped.Add(1)
		go s.loop(e)
	}
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Profile returns the simulated profile.
func (s *Server) Profile() Profile { return s.profile }

// ModelName returns the served model id.
func (s *Server) ModelName() string { return s.model }

// Models returns every model id the OpenAI and Ollama routes accept,
// ModelName first.
func (s *Server) Models() []string { return slices.Clone(s.models) }

// serves reports whether the OpenAI and Ollama routes accept model.
func (s *Server) serves(model string) bool { return slices.Contains(s.models, model) }

// Close stops the engine. Requests in flight end with an error (HTTP 503,
// or an error event when streaming) and later requests get 503. Close is
// idempotent and returns once the engine goroutine has exited.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.stopped.Wait()
		s.mu.Lock()
		now := time.Now()
		for _, e := range s.engines {
			for _, q := range e.b.abortAll(reasonClosed) {
				s.traces.add(makeTrace(q, now))
			}
		}
		s.mu.Unlock()
	})
}

// Stats returns a snapshot of the engine.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var running, queued, used, capacity int
	for _, e := range s.engines {
		running += len(e.b.running)
		queued += len(e.b.queue)
		used += e.b.used
		capacity += e.b.capacity
	}
	return Stats{
		Running:          int64(running),
		Queued:           int64(queued),
		Rejected:         s.rejected,
		Completed:        s.completed,
		KVUsedTokens:     used,
		KVCapacityTokens: capacity,
		DeliveredTokens:  s.deliveredTokens,
		LateTokens:       s.lateTokens,
		LateRequests:     s.lateRequests,
		MaxLate:          s.maxLate,
	}
}

// Trace returns the ground truth of the request whose response id is id,
// once it has ended (completed or failed), while it is still in the ring.
func (s *Server) Trace(id string) (Trace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traces.get(id)
}

// Traces returns every kept trace, oldest first.
func (s *Server) Traces() []Trace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traces.all()
}

// submit queues q, or refuses it when the server is closed or full.
//
// A profile's FrontendOverhead (a managed service's gateway) is spent
// here, before the engine sees the request, scaled like every delay.
func (s *Server) submit(q *seq) error {
	if d := s.profile.FrontendOverhead; d > 0 {
		t := time.NewTimer(time.Duration(float64(d) * s.scale))
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	e := s.leastOutstanding()
	if s.limit > 0 && e.outstanding() >= s.limit {
		s.rejected++
		s.mu.Unlock()
		return errOverloaded
	}
	q.eng = e
	e.b.submit(q)
	s.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// full reports whether a request would be refused as overloaded now (and
// counts it rejected), so a handler can refuse it before the work of
// planning it. submit checks again.
func (s *Server) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 && s.leastOutstanding().outstanding() >= s.limit {
		s.rejected++
		return true
	}
	return false
}

// abort ends q early for reason unless it has already ended, and returns
// the reason it ended early ("" when it completed normally).
func (s *Server) abort(q *seq, reason string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.eng != nil && q.eng.b.abort(q, reason) {
		s.traces.add(makeTrace(q, time.Now()))
	}
	return q.err
}

// maxLag bounds how far behind its schedule the engine may fall before it
// stops catching up (after the process was descheduled, say) and restarts
// its clock from now.
const maxLag = 250 * time.Millisecond

// loop is the engine: one goroutine that plans a step, sleeps until the
// step's absolute deadline and applies it. Consecutive steps are chained
// on deadlines (next start = previous deadline), so timer lateness never
// accumulates. An idle engine blocks on its wake channel. Each replica
// has its own loop.
func (s *Server) loop(e *replica) {
	defer s.stopped.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var base time.Time // when the next step starts; zero after idling
	for {
		now := time.Now()
		s.mu.Lock()
		st, ok := e.b.plan(now)
		s.mu.Unlock()
		if !ok {
			base = time.Time{}
			select {
			case <-e.wake:
				continue
			case <-s.done:
				return
			}
		}
		if base.IsZero() || now.Sub(base) > maxLag {
			base = now
		}
		deadline := base.Add(time.Duration(float64(st.dur) * s.scale))
		timer.Reset(time.Until(deadline))
		select {
		case <-timer.C:
		case <-s.done:
			return
		}
		emit := time.Now()
		s.mu.Lock()
		e.b.finish(st, emit)
		s.mu.Unlock()
		base = deadline
	}
}

// replica is one engine of the server: a batcher and its loop's wake-up.
type replica struct {
	b    *batcher
	wake chan struct{} // buffered 1: new work was queued
}

func (e *replica) outstanding() int { return len(e.b.running) + len(e.b.queue) }

// leastOutstanding returns the replica with the fewest running + queued
// requests (the first of equals). s.mu must be held.
func (s *Server) leastOutstanding() *replica {
	best := s.engines[0]
	for _, e := range s.engines[1:] {
		if e.outstanding() < best.outstanding() {
			best = e
		}
	}
	return best
}

func makeTrace(q *seq, end time.Time) Trace {
	t := Trace{
		ID:           q.id,
		Arrived:      q.arrived,
		TokenTimes:   slices.Clone(q.times),
		PromptTokens: q.prompt,
		OutputTokens: len(q.times),
		Error:        q.err,
	}
	if len(q.times) > 0 {
		t.FirstToken = q.times[0]
	}
	switch {
	case !q.admitted.IsZero():
		t.Queued = q.admitted.Sub(q.arrived)
	case !end.IsZero():
		t.Queued = end.Sub(q.arrived)
	}
	return t
}

// traceRing keeps the last cap traces, indexed by id. buf grows up to
// cap; once full, next is the oldest slot, overwritten first.
type traceRing struct {
	cap   int
	buf   []Trace
	next  int
	index map[string]int
}

func newTraceRing(capacity int) traceRing {
	switch {
	case capacity < 0:
		return traceRing{} // keeps nothing
	case capacity == 0:
		capacity = 100000
	}
	return traceRing{cap: capacity, buf: make([]Trace, 0, min(capacity, 1024)), index: make(map[string]int)}
}

func (r *traceRing) add(t Trace) {
	if r.cap == 0 {
		return
	}
	if len(r.buf) < r.cap {
		r.index[t.ID] = len(r.buf)
		r.buf = append(r.buf, t)
		return
	}
	delete(r.index, r.buf[r.next].ID)
	r.buf[r.next] = t
	r.index[t.ID] = r.next
	r.next = (r.next + 1) % r.cap
}

// setLate records a delivery's lateness in the trace of id, if kept.
func (r *traceRing) setLate(id string, l lateness) {
	if i, ok := r.index[id]; ok {
		r.buf[i].LateTokens, r.buf[i].MaxLate = l.late, l.maxLate
	}
}

func (r *traceRing) get(id string) (Trace, bool) {
	i, ok := r.index[id]
	if !ok {
		return Trace{}, false
	}
	t := r.buf[i]
	t.TokenTimes = slices.Clone(t.TokenTimes)
	return t, true
}

// all returns the traces oldest first.
func (r *traceRing) all() []Trace {
	out := make([]Trace, 0, len(r.buf))
	for i := range len(r.buf) {
		t := r.buf[(r.next+i)%len(r.buf)]
		t.TokenTimes = slices.Clone(t.TokenTimes)
		out = append(out, t)
	}
	return out
}

// ServeHTTP routes each wire protocol to its handler: Bedrock runtime
// (/model/…), SageMaker runtime (/endpoints/…), TGI (/generate,
// /generate_stream, /info), Ollama (/api/…) and the OpenAI-compatible API
// (POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings,
// GET /v1/models, also without the /v1 prefix).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(path, "/model/"):
		s.serveBedrock(w, r)
		return
	case strings.HasPrefix(path, "/endpoints/"):
		s.serveSageMaker(w, r)
		return
	case path == "/generate" || path == "/generate_stream" || path == "/info":
		s.serveTGI(w, r)
		return
	case strings.HasPrefix(path, "/api/"):
		s.serveOllama(w, r)
		return
	}
	path = strings.TrimPrefix(path, "/v1")
	switch path {
	case "/chat/completions":
		s.serveGenerate(w, r, true)
	case "/completions":
		s.serveGenerate(w, r, false)
	case "/embeddings":
		s.serveEmbeddings(w, r)
	case "/models":
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method "+r.Method+" not allowed; use GET")
			return
		}
		s.serveModels(w)
	default:
		writeError(w, http.StatusNotFound, "not_found_error", "unknown path "+r.URL.Path+
			" (serving /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models)")
	}
}
