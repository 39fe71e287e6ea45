package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/ratelimit"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/workload"
)

// Why a run stopped; written to summary.json as run.stop_reason.
const (
	StopMaxRequests = "max_requests" // every planned request was sent and ended
	StopDuration    = "duration"     // the duration limit passed
	StopInterrupted = "interrupted"  // the caller's context ended (Ctrl-C)
	StopBatches     = "batches"      // every planned batch was sent and ended
)

// errHardStop is the cause given to in-flight requests canceled when the
// grace period after an interruption runs out.
var errHardStop = errors.New("run interrupted: grace period for in-flight requests ran out")

// Template holds the parts of every request that do not come from the
// workload.
type Template struct {
	Model       string
	API         llm.API
	Stream      bool
	IgnoreEOS   bool
	Temperature *float64
	Extra       map[string]any
	Headers     map[string]string
	// EmbeddingBatch is the number of inputs of each embeddings request
	// (API embeddings); 0 means 1.
	EmbeddingBatch int
}

// request returns request id's prompt and request. An embeddings request
// carries EmbeddingBatch inputs, prompts id·B to id·B+B−1 of the source;
// the prompt returned sums their tokens and asks for no output.
func (r *Runner) request(id int64) (workload.Prompt, *llm.Request) {
	t := &r.Template
	if t.API != llm.APIEmbeddings {
		p := r.Source.Prompt(id)
		return p, t.build(p)
	}
	n := max(t.EmbeddingBatch, 1)
	req := &llm.Request{Model: t.Model, API: t.API, Extra: t.Extra, Headers: t.Headers, Inputs: make([]string, 0, n)}
	var p workload.Prompt
	for k := range n {
		q := r.Source.Prompt(id*int64(n) + int64(k))
		text := q.Text
		if q.System != "" {
			text = q.System + "\n\n" + q.Text
		}
		req.Inputs = append(req.Inputs, text)
		if k == 0 {
			p = q
			continue
		}
		p.InputTokens += q.InputTokens
		p.SystemTokens += q.SystemTokens
		p.InputClipped = p.InputClipped || q.InputClipped
	}
	p.MaxTokens, p.OutputClipped = 0, false
	return p, req
}

func (t *Template) build(p workload.Prompt) *llm.Request {
	req := &llm.Request{
		Model:       t.Model,
		API:         t.API,
		MaxTokens:   p.MaxTokens,
		IgnoreEOS:   t.IgnoreEOS,
		Stream:      t.Stream,
		Temperature: t.Temperature,
		Extra:       t.Extra,
		Headers:     t.Headers,
	}
	switch {
	case t.API == llm.APICompletion && p.System != "":
		req.Prompt = p.System + "\n\n" + p.Text
	case t.API == llm.APICompletion:
		req.Prompt = p.Text
	case p.System != "":
		req.Messages = []llm.Message{{Role: "system", Content: p.System}, {Role: "user", Content: p.Text}}
	default:
		req.Messages = []llm.Message{{Role: "user", Content: p.Text}}
	}
	return req
}

// Runner sends a Plan's requests through a Provider and reports a Record
// for each as it ends.
type Runner struct {
	Provider llm.Provider
	Source   workload.Source
	// Tokenizer counts output text locally, to fill in or check the
	// server's usage.
	Tokenizer *workload.Tokenizer
	Template  Template
	Plan      Plan
	// Sink receives every record, warm-up included, from one goroutine,
	// in the order requests ended. It must not retain the pointer.
	Sink func(*record.Record)
	// Limiter, when set, holds each attempt back until it fits the
	// client-side RPM/TPM quota; the wait is recorded (limiter_wait_s).
	Limiter *ratelimit.Window
	// OnSample, when set, receives a timeline sample (requests in flight,
	// sent, ended, target load) every SampleEvery (default 250 ms), and a
	// last one when the run ends, from one goroutine.
	OnSample    func(record.Sample)
	SampleEvery time.Duration
	// Sessions, when set, makes the closed loop (a worker) and the open
	// loop (an arrival) run multi-turn sessions instead of single
	// requests: each turn is a request of the plan (MaxRequests counts
	// turns), sent after the previous turn's answer and ThinkTime, with the
	// conversation so far before its own message (session.go). Warm-up
	// requests stay single requests from Source.
	Sessions  workload.SessionSource
	ThinkTime time.Duration
	// ThinkExponential draws each pause from an exponential distribution
	// of mean ThinkTime (from Plan.Seed, the session and the turn) instead
	// of pausing exactly ThinkTime.
	ThinkExponential bool

	start    time.Time
	started  atomic.Pointer[time.Time] // start, for Progress from other goroutines
	sent     atomic.Int64
	inFlight atomic.Int64
	ended    atomic.Int64
	targetAt atomic.Pointer[func(time.Duration) float64] // the load aimed for over time
	// waitingRetryAfter counts requests whose next attempt waits on a
	// server's Retry-After now.
	waitingRetryAfter atomic.Int64
}

// Result tells how a run went; the records tell what it measured.
type Result struct {
	// Started and Ended are wall-clock times of the run's start and end.
	Started, Ended time.Time
	StopReason     string
	Interrupted    bool
	// Sent counts requests sent, warm-up included.
	Sent int64
}

// Progress is a snapshot of the runner's counters, safe to take at any time.
type Progress struct {
	Elapsed  time.Duration
	Sent     int64
	Ended    int64
	InFlight int64
	// WaitingRetryAfter counts requests whose next attempt is waiting on
	// a server's Retry-After (capped by Plan.MaxRetryAfter).
	WaitingRetryAfter int64
}

// Progress returns the runner's counters now.
func (r *Runner) Progress() Progress {
	var el time.Duration
	if st := r.started.Load(); st != nil {
		el = time.Since(*st)
	}
	return Progress{Elapsed: el, Sent: r.sent.Load(), Ended: r.ended.Load(), InFlight: r.inFlight.Load(),
		WaitingRetryAfter: r.waitingRetryAfter.Load()}
}

// Run applies the plan. When ctx ends, no new request is sent; in-flight
// requests get the plan's grace period to finish, then are canceled (and
// recorded as canceled). Run returns after every record reached the Sink.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	if err := r.Plan.Validate(); err != nil {
		return Result{}, err
	}
	if r.Provider == nil || r.Source == nil || r.Tokenizer == nil {
		return Result{}, errors.New("load: runner needs a Provider, a Source and a Tokenizer")
	}
	if m := r.Plan.mode(); r.Sessions != nil && m != ModeConcurrency && m != ModeRate {
		return Result{}, fmt.Errorf("load: sessions need mode %s or %s, not %s", ModeConcurrency, ModeRate, m)
	}
	// Two contexts: sched stops starting work; reqCtx stops in-flight work.
	sched, stopSched := context.WithCancelCause(ctx)
	defer stopSched(nil)
	reqCtx, hardStop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer hardStop(nil)

	r.start = time.Now()
	r.started.Store(&r.start)
	res := Result{Started: r.start}
	// After an interruption, bound how long in-flight requests may run.
	go func() {
		select {
		case <-sched.Done():
			if context.Cause(sched) == errDurationReached {
				return // a planned stop: in-flight requests end on their own timeout
			}
			t := time.NewTimer(r.Plan.grace())
			defer t.Stop()
			select {
			case <-t.C:
				hardStop(errHardStop)
			case <-reqCtx.Done():
			}
		case <-reqCtx.Done():
		}
	}()

	records := make(chan *record.Record, 2*r.Plan.expectedInFlight())
	var consumer sync.WaitGroup
	consumer.Go(func() {
		for rec := range records {
			if r.Sink != nil {
				r.Sink(rec)
			}
		}
	})
	stopSampler := r.startSampler()

	st := &runState{r: r, interrupt: ctx, sched: sched, stopSched: stopSched, reqCtx: reqCtx, records: records, total: -1}
	if r.Plan.MaxRequests > 0 {
		st.total = int64(r.Plan.Warmup + r.Plan.MaxRequests)
	}
	// Warm-up first, to its end: no warm-up request overlaps the
	// measurement. The shape's schedule and the duration start after it.
	if r.Plan.Warmup > 0 {
		st.warmup()
		st.origin = time.Since(r.start) // else 0: schedules stay exact multiples
	}
	if r.Plan.Duration > 0 {
		t := time.AfterFunc(r.Plan.Duration, func() { stopSched(errDurationReached) })
		defer t.Stop()
	}
	var reason string
	switch r.Plan.mode() {
	case ModeBatchSequential:
		reason = st.batchSequential()
	case ModeBatchInterval:
		reason = st.batchInterval()
	case ModeRate:
		reason = st.rate()
	default:
		reason = st.closedLoop()
	}
	st.async.Wait()
	hardStop(nil)
	close(records)
	consumer.Wait()
	stopSampler()

	res.Ended = time.Now()
	res.Sent = r.sent.Load()
	switch {
	case ctx.Err() != nil:
		res.StopReason, res.Interrupted = StopInterrupted, true
	case context.Cause(sched) == errDurationReached:
		res.StopReason = StopDuration
	default:
		res.StopReason = reason
	}
	return res, nil
}

var errDurationReached = errors.New("duration reached")

// slot is one scheduled request.
type slot struct {
	id     int64
	worker int
	batch  int
	at     time.Duration // t_sched, since the run's start
	target float64       // the load aimed for at t_sched
	// backoff is how long the worker waited after its last request failed
	// to connect (closed loop).
	backoff time.Duration
	// turn is the session turn the slot sends; nil for a single request.
	turn *turnReq
}

// runState is what the load shapes share during one Run.
type runState struct {
	r         *Runner
	interrupt context.Context // the caller's: ends on Ctrl-C; no new attempt after
	sched     context.Context // ends: schedule nothing more
	stopSched context.CancelCauseFunc
	reqCtx    context.Context // ends: cancel in-flight requests
	records   chan<- *record.Record
	next      atomic.Int64
	total     int64 // warm-up + measured requests; -1: unlimited
	// origin is when the load shape started, since the run's start: after
	// the warm-up. Shapes schedule, ramp and count the duration from it.
	origin time.Duration
	async  sync.WaitGroup // requests sent on their own goroutines
	// sessions hands out session ids (Runner.Sessions).
	sessions atomic.Int64
}

// ticket hands out the next request id for a request scheduled at at
// (since the run's start), or reports that the plan is done: scheduling
// stopped, every request was handed out, or the duration (counted from the
// shape's origin) has passed.
func (s *runState) ticket(at time.Duration) (int64, bool) {
	if s.sched.Err() != nil {
		return 0, false
	}
	if d := s.r.Plan.Duration; d > 0 && at-s.origin >= d {
		s.stopSched(errDurationReached) // the timer may not have fired yet
		return 0, false
	}
	id := s.next.Add(1) - 1
	if s.total >= 0 && id >= s.total {
		return 0, false
	}
	return id, true
}

// send runs one request on the calling goroutine and hands its records
// on; it returns the error kind of the request's outcome.
func (s *runState) send(sl slot) llm.ErrorKind {
	return s.r.do(s.reqCtx, s.interrupt, s.sched, sl, func(rec *record.Record) { s.records <- rec })
}

// sendAsync runs one request on its own goroutine, after acquiring a slot
// of sem when sem is not nil; the wait shows as schedule lag.
func (s *runState) sendAsync(sl slot, sem chan struct{}) {
	s.async.Go(func() {
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-s.reqCtx.Done():
			case <-s.interrupt.Done():
			}
		}
		s.send(sl)
	})
}

// sleepUntil waits until at since the start; false if scheduling stopped.
func (s *runState) sleepUntil(at time.Duration) bool {
	d := time.Until(s.r.start.Add(at))
	if d <= 0 {
		return s.sched.Err() == nil
	}
	return s.sleepFor(d)
}

// do sends one request, retrying it as the plan allows, and emits a record
// for every attempt. ctx bounds in-flight attempts (it ends when the grace
// period after an interruption ran out). Once interrupt (the caller's
// context) ends, no attempt starts; once sched ends (interrupted, or the
// duration passed), no retry starts and a backoff or Retry-After wait ends
// at once. Such a request gets a final record of kind canceled, so every
// request has an outcome.
//
// do returns the error kind of the request's outcome, "" for a success.
func (r *Runner) do(ctx, interrupt, sched context.Context, sl slot, emit func(*record.Record)) llm.ErrorKind {
	var p workload.Prompt
	var req *llm.Request
	if sl.turn != nil {
		p, req = sl.turn.prompt, sl.turn.req
	} else {
		p, req = r.request(sl.id)
	}
	for attempt := 0; ; attempt++ {
		if interrupt.Err() != nil || attempt > 0 && sched.Err() != nil {
			emit(r.canceled(sched, sl, p, req, attempt))
			return llm.KindCanceled
		}
		rec, failed := r.attempt(ctx, sl, p, req, attempt)
		wait, again := r.retryWait(ctx, failed, attempt)
		r.noteRetryAfter(rec, failed, again, wait)
		rec.Retried = again
		emit(rec)
		if !again {
			if failed != nil {
				return failed.Kind
			}
			return ""
		}
		r.waitingRetryAfter.Add(boolInt(rec.RetryAfterWaitS > 0))
		ok := sleepCtx2(ctx, sched, wait)
		r.waitingRetryAfter.Add(-boolInt(rec.RetryAfterWaitS > 0))
		if !ok {
			emit(r.canceled(sched, sl, p, req, attempt+1))
			return llm.KindCanceled
		}
	}
}

// canceled is the final record of a request the run stopped before its
// attempt number attempt was sent: the attempts before it are recorded
// (retried), this one never went out.
func (r *Runner) canceled(sched context.Context, sl slot, p workload.Prompt, req *llm.Request, attempt int) *record.Record {
	rec := r.newRecord(sl, p, req, attempt)
	rec.SentS = time.Since(r.start).Seconds()
	rec.TokenSource = record.SourceLocal
	rec.ErrorKind = llm.KindCanceled
	why := "run interrupted"
	if context.Cause(sched) == errDurationReached {
		why = "duration reached"
	}
	if attempt == 0 {
		rec.Error = why + " before the request was sent"
	} else {
		rec.Error = fmt.Sprintf("%s after %d attempt(s), before retry %d was sent", why, attempt, attempt)
	}
	return rec
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// newRecord starts the record of one attempt with what the schedule and
// the prompt say.
func (r *Runner) newRecord(sl slot, p workload.Prompt, req *llm.Request, attempt int) *record.Record {
	rec := &record.Record{
		SchemaVersion:                record.SchemaVersion,
		ID:                           sl.id,
		Attempt:                      attempt,
		Worker:                       sl.worker,
		Batch:                        sl.batch,
		TargetLoad:                   sl.target,
		Warmup:                       sl.id < int64(r.Plan.Warmup),
		ScheduledS:                   sl.at.Seconds(),
		PromptSet:                    p.Set,
		InputTokensLocal:             p.InputTokens + p.SystemTokens,
		RequestedOutputTokens:        p.MaxTokens,
		Stream:                       req.Stream,
		ConnBackoffS:                 sl.backoff.Seconds(),
		InputTokensClipped:           p.InputClipped,
		Inputs:                       len(req.Inputs),
		RequestedOutputTokensClipped: p.OutputClipped,
	}
	if sl.turn != nil {
		sid := sl.turn.session
		rec.SessionID, rec.Turn, rec.SessionTurns = &sid, sl.turn.turn+1, sl.turn.turns
	}
	return rec
}

// maxChunkTimesCap bounds the room for chunk times allocated before a
// response starts: a stream allowed 4,096 tokens would otherwise hold 32
// KiB of times in flight however short its answer. Longer responses grow
// the slice as they go (amortized doubling).
const maxChunkTimesCap = 256

// chunkTimesCap is the room for chunk times allocated for a request of
// maxTokens output tokens: all of them (and a final chunk) up to
// maxChunkTimesCap.
func chunkTimesCap(maxTokens int) int {
	return min(max(maxTokens, 16), maxChunkTimesCap) + 1
}

// waitFirst is false only in BenchmarkRunnerPaced, which compares reading
// a stream with and without llm.Waiter's Wait before each event.
var waitFirst = true

// attempt sends one attempt of a request and records what happened.
func (r *Runner) attempt(ctx context.Context, sl slot, p workload.Prompt, req *llm.Request, attempt int) (*record.Record, *llm.Error) {
	rec := r.newRecord(sl, p, req, attempt)
	if r.Limiter != nil {
		// Counted as a quota counts at admission: prompt plus requested output.
		waited, err := r.Limiter.Wait(ctx, p.InputTokens+p.MaxTokens)
		rec.LimiterWaitS = waited.Seconds()
		if err != nil {
			rec.SentS = time.Since(r.start).Seconds()
			failed := llm.Classify(ctx, err)
			rec.ErrorKind, rec.Error = failed.Kind, "held back by the client-side rate limit until "+failed.Error()
			return rec, nil // never retried: the run is stopping
		}
	}

	r.sent.Add(1)
	r.inFlight.Add(1)
	defer func() { r.inFlight.Add(-1); r.ended.Add(1) }()

	sent := time.Now()
	rec.SentS = sent.Sub(r.start).Seconds()
	// The timeout runs from t_send, so a timed-out request's e2e_s is never
	// shorter than --timeout.
	ctx, cancel := context.WithDeadlineCause(ctx, sent.Add(r.Plan.Timeout), context.DeadlineExceeded)
	defer cancel()
	var conns connTrace
	ctx = conns.context(ctx)
	defer conns.fill(rec)
	var (
		out    = output{times: make([]float64, 0, chunkTimesCap(p.MaxTokens))}
		usage  *llm.Usage
		failed *llm.Error
	)
	var end time.Time // t_end: the read that ended the response, before Close
	stream, err := r.Provider.Start(ctx, req)
	if err != nil {
		end = time.Now()
		failed = llm.Classify(ctx, err)
	} else {
		// A TextStream hands out text as bytes valid until the next read:
		// output copies only what it keeps, so a chunk allocates nothing.
		ts, lean := stream.(llm.TextStream)
		waiter, _ := stream.(llm.Waiter)
		if !waitFirst {
			waiter = nil
		}
		var tx llm.EventText
		var st stamper
		// Kept here, not in rec, until the stream ends: rec is a large
		// object the chunk loop would otherwise reach on every chunk, from
		// a cold cache at high concurrency.
		var finish, responseID string
		st.init(stream, sent)
		for {
			var ev llm.Event
			var err error
			if waiter != nil {
				waiter.Wait()
			}
			if lean {
				ev, err = ts.NextText(&tx)
			} else {
				ev, err = stream.Next()
			}
			now := time.Now() // stamp first: nothing between the read and the clock
			if err == io.EOF {
				end = st.stamp(now)
				break
			}
			if err != nil {
				end = now
				failed = llm.Classify(ctx, err)
				break
			}
			at := st.stamp(now)
			chunks := len(out.times)
			if lean {
				out.add(&ev, &tx, at.Sub(sent).Seconds())
			} else {
				out.addEvent(&ev, at.Sub(sent).Seconds())
			}
			if len(out.times) > chunks {
				st.chunk()
			}
			if ev.Usage != nil {
				usage = ev.Usage
			}
			if ev.FinishReason != "" {
				finish = ev.FinishReason
			}
			if ev.ID != "" && responseID == "" {
				responseID = ev.ID
			}
			// Most events carry no server timing; ranging over a nil map
			// still starts an iterator, ≈ 0.3% of the CPU at 1,000 streams.
			if len(ev.ServerTiming) > 0 {
				if rec.ServerTimingS == nil {
					rec.ServerTimingS = make(map[string]float64, len(ev.ServerTiming))
				}
				maps.Copy(rec.ServerTimingS, ev.ServerTiming)
			}
		}
		if finish != "" {
			rec.FinishReason = finish
		}
		rec.ResponseID = responseID
		// Close may drain the rest of the body so the connection can be
		// reused; that is not part of the response the user waited for.
		stream.Close()
		st.fill(rec, failed == nil)
	}
	rec.E2ES = end.Sub(sent).Seconds()
	out.finish()
	if len(out.times) > 0 {
		rec.TTFTS = out.times[0]
		rec.ChunkTimesS = out.times
	}
	r.fillOutput(rec, &out, usage, usage == nil || checksOutputCount(sl.id))
	if usage != nil {
		rec.TokenSource = record.SourceServer
		rec.InputTokens, rec.OutputTokens = usage.PromptTokens, usage.CompletionTokens
		if usage.HasCached {
			cached := usage.CachedPromptTokens
			rec.CachedInputTokens = &cached
		}
		if usage.PromptTokens == 0 {
			// Some servers (mainline TGI) report output tokens only.
			rec.InputTokens = rec.InputTokensLocal
		}
	} else {
		rec.TokenSource = record.SourceLocal
		rec.InputTokens, rec.OutputTokens = rec.InputTokensLocal, rec.OutputTokensLocal
	}
	if failed != nil {
		rec.ErrorKind = failed.Kind
		rec.Status = failed.Status
		rec.Error = oneLine(failed.Error())
	} else if sl.turn != nil {
		sl.turn.answer = out.answer.String() // the next turn sends it back (the answer, not the reasoning, as chat templates do)
	}
	return rec, failed
}

// fillOutput sets the record's reasoning and tool-call fields and the
// local output count (when count): answer, reasoning and tool-call text
// together, since all of them are output tokens.
func (r *Runner) fillOutput(rec *record.Record, out *output, usage *llm.Usage, count bool) {
	var reasoningLocal int
	if out.hasReasoning && (count || usage == nil || !usage.HasReasoning) {
		reasoningLocal = r.Tokenizer.Count(out.reasoning.String()) + out.thinkTags
	}
	if count {
		rec.OutputTokensLocal = r.Tokenizer.Count(out.answer.String()) + reasoningLocal
		if out.tool.Len() > 0 {
			rec.OutputTokensLocal += r.Tokenizer.Count(out.tool.String())
		}
	}
	if usage != nil && usage.HasReasoning && usage.ReasoningTokens > 0 {
		// Also when no reasoning was streamed: hidden reasoning, which
		// the summary warns about.
		rec.ReasoningTokens = usage.ReasoningTokens
	}
	if !out.hasReasoning && !out.hasTool {
		return // a plain answer: ttft_s is its first answer token
	}
	if out.hasReasoning {
		rec.TTFTReasoningS = out.firstReasoning
		rec.ReasoningChunks = out.reasoningChunks
		if usage == nil || !usage.HasReasoning {
			rec.ReasoningTokens = reasoningLocal
		}
	}
	if out.hasAnswer {
		rec.TTFTAnswerS = out.firstAnswer
	}
	rec.ToolCalls, rec.ToolCallChunks = out.toolCalls, out.toolChunks
	if out.hasTool {
		rec.TTFTToolCallS = out.firstTool
	}
}

// When the server reports usage, the local tokenizer counts the output of
// the first outputCheckFirst requests and of every outputCheckEvery-th
// after them, enough to reveal a disagreement between the two counts; the
// others keep output_tokens_local 0 ("not counted"). Counting is the
// costliest part of measuring a request on llmload's side (a regular
// expression per word: most of BenchmarkRunnerPerChunk's allocations), and
// the statistics use the server's count. Without usage every request is
// counted, since its count is the one statistics use.
const (
	outputCheckFirst = 16
	outputCheckEvery = 16
)

// checksOutputCount tells whether request id's output is counted locally
// even when the server reports usage.
func checksOutputCount(id int64) bool {
	return id < outputCheckFirst || id%outputCheckEvery == 0
}

// oneLine keeps error text to one bounded line for JSONL and terminals.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// String describes the plan in one line for people.
func (p Plan) String() string {
	var parts []string
	switch p.mode() {
	case ModeBatchSequential:
		parts = append(parts, fmt.Sprintf("batches of %d, each after the last ended", p.BatchSize))
	case ModeBatchInterval:
		parts = append(parts, fmt.Sprintf("a batch of %d every %s", p.BatchSize, p.BatchInterval))
	case ModeRate:
		arrival := p.Arrival
		if arrival == "" {
			arrival = ArrivalPoisson
		}
		parts = append(parts, fmt.Sprintf("%g requests/s (%s arrivals)", p.Rate, arrival))
		if p.MaxConcurrency > 0 {
			parts = append(parts, fmt.Sprintf("at most %d in flight", p.MaxConcurrency))
		}
	default:
		parts = append(parts, fmt.Sprintf("concurrency %d", p.Concurrency))
	}
	if p.Ramp > 0 {
		parts = append(parts, fmt.Sprintf("ramped over %s", p.Ramp))
	}
	if p.Batches > 0 && (p.mode() == ModeBatchSequential || p.mode() == ModeBatchInterval) {
		parts = append(parts, fmt.Sprintf("%d batches", p.Batches))
	}
	if p.MaxRequests > 0 {
		parts = append(parts, fmt.Sprintf("%d requests", p.MaxRequests))
	}
	if p.Duration > 0 {
		parts = append(parts, fmt.Sprintf("for at most %s", p.Duration))
	}
	if p.Warmup > 0 {
		parts = append(parts, fmt.Sprintf("after %d warm-up", p.Warmup))
	}
	if p.Retries > 0 {
		parts = append(parts, fmt.Sprintf("up to %d retries", p.Retries))
	}
	parts = append(parts, fmt.Sprintf("timeout %s per request", p.Timeout))
	return strings.Join(parts, ", ")
}
