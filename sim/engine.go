package sim

import (
	"math"
	"slices"
	"time"
)

// This file holds the continuous-batching scheduler. The batcher is pure
// bookkeeping driven by the caller's clock: plan picks the next step and
// says how long it takes in simulated time, finish applies it at a given
// instant. The server drives it with the real clock and scaled sleeps
// (Server.loop); SimulateClosedLoop drives it with a virtual clock, which
// makes calibration instant and deterministic. Both run the same code.

// token is one emitted token as the engine hands it to a request.
type token struct {
	index int       // 0-based position in the output
	at    time.Time // true emit time
}

// seq is one request inside the engine.
type seq struct {
	id      string
	prompt  int // prompt tokens
	cached  int // of which served from the prefix cache: no prefill
	target  int // output tokens it will emit
	reserve int // KV tokens reserved on admission: prompt + max_tokens

	arrived  time.Time
	admitted time.Time
	times    []time.Time // emit time of every token so far
	out      chan token  // buffered to target; nil in virtual mode
	eng      *replica    // the server replica it was submitted to; nil in virtual mode

	running bool   // admitted and holding KV
	ended   bool   // finished, aborted or rejected; no more tokens
	err     string // why it ended early
}

func (s *seq) context() int { return s.prompt + len(s.times) }

// stepKind tells prefill from decode.
type stepKind int

const (
	stepPrefill stepKind = iota + 1
	stepDecode
)

// step is one planned engine step.
type step struct {
	kind stepKind
	seqs []*seq
	dur  time.Duration // simulated
}

// batcher is the scheduler state. It is not safe for concurrent use; the
// server guards it with its mutex.
type batcher struct {
	p        Profile
	capacity int // KV tokens
	used     int // KV tokens reserved by running sequences
	queue    []*seq
	running  []*seq
	// onDone is called (under the caller's lock) when a sequence emits its
	// last token, after its KV is freed.
	onDone func(*seq)
	// maxRunning is the largest batch seen (for reports and tests).
	maxRunning int
	// sinceAdmit counts decode steps since requests last joined the
	// batch (TGI's waiting_tokens).
	sinceAdmit int
	// stepBuf backs a decode step's sequences: a step is finished before
	// the next is planned, so one buffer serves every step.
	stepBuf []*seq
}

func newBatcher(p Profile) *batcher {
	return &batcher{p: p, capacity: p.KVCapacityTokens()}
}

// submit appends s to the FIFO queue.
func (b *batcher) submit(s *seq) { b.queue = append(b.queue, s) }

// plan returns the next step, or false when there is nothing to do.
// Waiting requests take priority: if the head of the queue fits in the
// free KV cache, plan admits it and every following request that also
// fits (strict FIFO, up to MaxPrefillTokens) and returns a prefill step
// for them; the running sequences stall for that step, as in TGI.
// While a batch runs, TGI's waiting_served_ratio applies: the admitted
// requests must number at least ⌊running × WaitingServedRatio⌋, unless
// MaxWaitingTokens decode steps have passed without an admission;
// otherwise they stay queued. Then plan returns a decode step over every
// running sequence.
func (b *batcher) plan(now time.Time) (step, bool) {
	minSize := 0
	if r := b.p.WaitingServedRatio; r > 0 && len(b.running) > 0 &&
		(b.p.MaxWaitingTokens <= 0 || b.sinceAdmit < b.p.MaxWaitingTokens) {
		minSize = int(math.Floor(float64(len(b.running)) * r))
	}
	n, tokens, used := 0, 0, b.used
	if len(b.queue) >= minSize {
		for _, s := range b.queue {
			if used+s.reserve > b.capacity {
				break
			}
			if lim := b.p.MaxPrefillTokens; lim > 0 && n > 0 && tokens+s.prompt-s.cached > lim {
				break
			}
			used += s.reserve
			tokens += s.prompt - s.cached
			n++
		}
	}
	if n > 0 && n >= minSize {
		admitted := slices.Clone(b.queue[:n])
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = nil // let the backing array go
		}
		b.used = used
		for _, s := range admitted {
			s.running = true
			s.admitted = now
		}
		b.running = append(b.running, admitted...)
		b.maxRunning = max(b.maxRunning, len(b.running))
		b.sinceAdmit = 0
		return step{kind: stepPrefill, seqs: admitted, dur: b.p.PrefillTime(tokens, n)}, true
	}
	if len(b.running) == 0 {
		return step{}, false
	}
	b.sinceAdmit++
	ctx := 0
	for _, s := range b.running {
		ctx += s.context()
	}
	b.stepBuf = append(b.stepBuf[:0], b.running...)
	return step{kind: stepDecode, seqs: b.stepBuf, dur: b.p.DecodeStepTime(len(b.running), ctx)}, true
}

// finish applies st at now: every sequence of the step that is still
// running emits one token; sequences that reach their target leave the
// batch and free their KV.
func (b *batcher) finish(st step, now time.Time) {
	done := false
	for _, s := range st.seqs {
		if s.ended {
			continue // aborted during the step
		}
		i := len(s.times)
		s.times = append(s.times, now)
		if s.out != nil {
			s.out <- token{index: i, at: now} // never blocks: buffered to target
		}
		if len(s.times) >= s.target {
			s.ended = true
			done = true
		}
	}
	if !done {
		return
	}
	b.running = slices.DeleteFunc(b.running, func(s *seq) bool {
		if !s.ended {
			return false
		}
		b.release(s)
		if b.onDone != nil {
			b.onDone(s)
		}
		return true
	})
}

func (b *batcher) release(s *seq) {
	if s.running {
		b.used -= s.reserve
		s.running = false
	}
}

// abort ends s early wherever it is (queue or batch) and frees its KV.
// It reports whether s was still live.
func (b *batcher) abort(s *seq, reason string) bool {
	if s.ended {
		return false
	}
	s.ended = true
	s.err = reason
	if s.running {
		b.release(s)
		b.running = slices.DeleteFunc(b.running, func(x *seq) bool { return x == s })
	} else {
		b.queue = slices.DeleteFunc(b.queue, func(x *seq) bool { return x == s })
	}
	return true
}

// abortAll ends every live sequence.
func (b *batcher) abortAll(reason string) []*seq {
	all := append(slices.Clone(b.running), b.queue...)
	for _, s := range all {
		b.abort(s, reason)
	}
	return all
}
