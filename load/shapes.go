package load

import (
	"math"
	"sync"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// This file holds the load shapes. Each runs on Run's goroutine, schedules
// requests through runState.ticket, and returns the stop reason it reached
// on its own (the caller overrides it for interruptions and durations).

// closedLoop runs Concurrency workers; each sends its next request when its
// last one ended. With a ramp, worker k joins at Ramp·k/(N−1), so the
// number of workers rises linearly from 1 to N.
func (s *runState) closedLoop() string {
	p := s.r.Plan
	n := p.Concurrency
	joinAt := func(k int) time.Duration {
		if p.Ramp <= 0 || n == 1 {
			return 0
		}
		return time.Duration(float64(p.Ramp) * float64(k) / float64(n-1))
	}
	active := func(at time.Duration) float64 {
		if p.Ramp <= 0 || at >= p.Ramp || n == 1 {
			return float64(n)
		}
		return math.Floor(1 + float64(n-1)*float64(at)/float64(p.Ramp))
	}
	s.r.setTargetFunc(func(at time.Duration) float64 { return active(at - s.origin) })
	var workers sync.WaitGroup
	for w := range n {
		workers.Go(func() {
			if !s.sleepUntil(s.origin + joinAt(w)) {
				return
			}
			var backoff time.Duration
			for {
				at := time.Since(s.r.start)
				id, ok := s.ticket(at)
				if !ok {
					return
				}
				var kind llm.ErrorKind
				if s.r.Sessions != nil {
					kind = s.session(slot{id: id, worker: w, at: at, target: active(at - s.origin), backoff: backoff},
						func(at time.Duration) float64 { return active(at - s.origin) })
				} else {
					kind = s.send(slot{id: id, worker: w, at: at, target: active(at - s.origin), backoff: backoff})
				}
				// A worker whose request could not even connect waits
				// before the next, so a refused or exhausted endpoint is
				// not hammered in a hot loop of instant failures.
				if kind != llm.KindConnection {
					backoff = 0
					continue
				}
				backoff = min(max(2*backoff, connBackoffBase), connBackoffCap)
				if !s.sleepFor(backoff) {
					return
				}
			}
		})
	}
	workers.Wait()
	return StopMaxRequests
}

// warmup sends the plan's warm-up requests (ids 0 … Warmup−1) before the
// load shape starts: a closed loop as wide as the shape's usual load
// (warmupWidth), each request sent when one ends, and it returns once the
// last of them ended, so none overlaps the measured requests.
func (s *runState) warmup() {
	p := s.r.Plan
	n := int64(p.Warmup)
	width := min(p.Warmup, p.warmupWidth())
	s.r.setTargetFunc(func(time.Duration) float64 { return float64(width) })
	var workers sync.WaitGroup
	for w := range width {
		workers.Go(func() {
			for s.sched.Err() == nil {
				id := s.next.Add(1) - 1
				if id >= n {
					return
				}
				at := time.Since(s.r.start)
				s.send(slot{id: id, worker: w, at: at, target: float64(width)})
			}
		})
	}
	workers.Wait()
	s.next.Store(n) // workers overshoot by one id each
}

// Backoff of a closed-loop worker after a connection error: doubling from
// connBackoffBase up to connBackoffCap, reset by any other outcome.
const (
	connBackoffBase = 10 * time.Millisecond
	connBackoffCap  = time.Second
)

// sleepFor waits d; false if scheduling stopped.
func (s *runState) sleepFor(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.sched.Done():
		return false
	}
}

// batchSequential sends BatchSize requests at once, waits for all of them,
// then sends the next batch. Batches never overlap.
func (s *runState) batchSequential() string {
	p := s.r.Plan
	s.r.setTargetFunc(func(time.Duration) float64 { return float64(p.BatchSize) })
	for b := 1; p.Batches == 0 || b <= p.Batches; b++ {
		at := time.Since(s.r.start)
		var batch sync.WaitGroup
		for w := range p.BatchSize {
			id, ok := s.ticket(at)
			if !ok {
				batch.Wait()
				return StopMaxRequests
			}
			batch.Go(func() {
				s.send(slot{id: id, worker: w, batch: b, at: at, target: float64(p.BatchSize)})
			})
		}
		batch.Wait()
	}
	return StopBatches
}

// batchInterval starts a batch of BatchSize requests every BatchInterval,
// on an absolute schedule, whether or not earlier batches ended.
func (s *runState) batchInterval() string {
	p := s.r.Plan
	s.r.setTargetFunc(func(time.Duration) float64 { return float64(p.BatchSize) })
	for b := 1; p.Batches == 0 || b <= p.Batches; b++ {
		at := s.origin + time.Duration(b-1)*p.BatchInterval
		if !s.sleepUntil(at) {
			return StopMaxRequests
		}
		for w := range p.BatchSize {
			id, ok := s.ticket(at)
			if !ok {
				return StopMaxRequests
			}
			s.sendAsync(slot{id: id, worker: w, batch: b, at: at, target: float64(p.BatchSize)}, nil)
		}
	}
	return StopBatches
}

// rate is the open loop: arrivals on an absolute schedule, each sent on its
// own goroutine so sending never waits for responses. With MaxConcurrency
// an arrival waits for a free slot, and the wait is schedule lag.
func (s *runState) rate() string {
	p := s.r.Plan
	arr := newArrivals(p)
	// The target follows the ramp between arrivals too, so the timeline
	// shows the rate rising before the first (late, at a low rate) arrival.
	s.r.setTargetFunc(func(at time.Duration) float64 { return arr.rateAt(max(at-s.origin, 0).Seconds()) })
	var sem chan struct{}
	if p.MaxConcurrency > 0 {
		sem = make(chan struct{}, p.MaxConcurrency)
	}
	for {
		since := arr.next() // since the shape's origin
		at := s.origin + since
		if d := p.Duration; d > 0 && since >= d {
			s.stopSched(errDurationReached)
			return StopDuration
		}
		if !s.sleepUntil(at) {
			return StopMaxRequests
		}
		id, ok := s.ticket(at)
		if !ok {
			return StopMaxRequests
		}
		sl := slot{id: id, worker: -1, at: at, target: arr.rateAt(since.Seconds())}
		if s.r.Sessions != nil {
			s.sessionAsync(sl, sem, func(at time.Duration) float64 { return arr.rateAt(max(at-s.origin, 0).Seconds()) })
			continue
		}
		s.sendAsync(sl, sem)
	}
}

// setTargetFunc sets how the load aimed for depends on the time since the
// start; the sampler reads it at each sample. f must be a pure function
// of its argument (safe to call from the sampler's goroutine).
func (r *Runner) setTargetFunc(f func(time.Duration) float64) { r.targetAt.Store(&f) }

// targetNow is the load aimed for now (0 before a shape started).
func (r *Runner) targetNow() float64 {
	if f := r.targetAt.Load(); f != nil {
		return (*f)(time.Since(r.start))
	}
	return 0
}

// startSampler samples the runner's counters every SampleEvery into
// OnSample; the returned func takes a last sample and stops it.
func (r *Runner) startSampler() (stop func()) {
	if r.OnSample == nil {
		return func() {}
	}
	every := r.SampleEvery
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	sample := func() {
		r.OnSample(record.Sample{
			SchemaVersion: record.SchemaVersion,
			T:             time.Since(r.start).Seconds(),
			InFlight:      r.inFlight.Load(),
			Sent:          r.sent.Load(),
			Ended:         r.ended.Load(),
			TargetLoad:    r.targetNow(),
		})
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				sample()
			case <-done:
				sample()
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
