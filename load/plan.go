// Package load drives requests at an endpoint: the schedule (when to send)
// and the runner (sending, timing, recording). Timing is taken here and only
// here, with Go's monotonic clock.
package load

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Load shapes (Plan.Mode).
const (
	// ModeConcurrency is the closed loop: Concurrency workers, each sends
	// its next request when its previous one ended.
	ModeConcurrency = "concurrency"
	// ModeBatchSequential sends BatchSize requests at once and the next
	// batch when all of them ended.
	ModeBatchSequential = "batch-sequential"
	// ModeBatchInterval starts a batch of BatchSize requests every
	// BatchInterval, whether or not earlier batches ended.
	ModeBatchInterval = "batch-interval"
	// ModeRate is the open loop: requests arrive at Rate per second
	// (constant, Poisson or gamma arrivals) and never wait for responses.
	ModeRate = "rate"
)

// Arrival processes for ModeRate.
const (
	ArrivalConstant = "constant" // evenly spaced
	ArrivalPoisson  = "poisson"  // exponential gaps
	ArrivalGamma    = "gamma"    // gamma gaps with shape Burstiness
)

// Plan says how much load to apply, in what shape, and when to stop.
type Plan struct {
	// Mode is the load shape; "" means ModeConcurrency.
	Mode string
	// Concurrency is the number of closed-loop workers (ModeConcurrency).
	Concurrency int
	// BatchSize, BatchInterval and Batches shape the batch modes. Batches 0
	// means until MaxRequests or Duration.
	BatchSize     int
	BatchInterval time.Duration
	Batches       int
	// Rate is requests per second (ModeRate), Arrival its process and
	// Burstiness the gamma shape (1 is Poisson, < 1 burstier).
	Rate       float64
	Arrival    string
	Burstiness float64
	// MaxConcurrency caps requests in flight in ModeRate; arrivals beyond
	// it wait client-side and their wait shows as schedule lag. 0: no cap.
	MaxConcurrency int
	// Ramp raises concurrency from 1 (or the rate from 0) linearly to its
	// target over this long, then holds it. 0: no ramp.
	Ramp time.Duration
	// Seed makes random arrivals reproducible.
	Seed uint64

	// MaxRequests is the number of measured requests to send (warm-up
	// requests come on top). 0 means no limit.
	MaxRequests int
	// Duration stops scheduling new requests this long after the run
	// started. 0 means no limit.
	Duration time.Duration
	// Warmup requests are sent first, before the load shape starts, and
	// marked so statistics exclude them: warmupWidth at a time, each sent
	// when one ends; the shape (its schedule, ramp and duration) starts
	// once the last of them ended.
	Warmup int
	// Timeout bounds each request from send to end of response.
	Timeout time.Duration
	// Retries is how many times a failed request is retried (throttling,
	// overload, 5xx and connection errors), with exponential backoff and
	// full jitter from RetryBase up to RetryCap (0: the defaults),
	// honouring Retry-After. 0 measures single attempts.
	Retries             int
	RetryBase, RetryCap time.Duration
	// MaxRetryAfter caps how long a server's Retry-After may delay a
	// retry; 0 means DefaultMaxRetryAfter (60 s).
	MaxRetryAfter time.Duration
	// Grace is how long in-flight requests may finish after the run is
	// interrupted; past it they are canceled. 0 means min(Timeout, 10s).
	Grace time.Duration
}

func (p Plan) mode() string {
	if p.Mode == "" {
		return ModeConcurrency
	}
	return p.Mode
}

// Validate returns every problem with the plan, joined.
func (p Plan) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch p.mode() {
	case ModeConcurrency:
		if p.Concurrency < 1 {
			add("concurrency must be at least 1, got %d", p.Concurrency)
		}
		if p.MaxRequests == 0 && p.Duration == 0 {
			add("set max requests or a duration, or the run never ends")
		}
	case ModeBatchSequential, ModeBatchInterval:
		if p.BatchSize < 1 {
			add("batch size must be at least 1, got %d", p.BatchSize)
		}
		if p.Batches < 0 {
			add("batches must not be negative, got %d", p.Batches)
		}
		if p.mode() == ModeBatchInterval && p.BatchInterval <= 0 {
			add("batch-interval mode needs a positive batch interval")
		}
		if p.Batches == 0 && p.MaxRequests == 0 && p.Duration == 0 {
			add("set batches, max requests or a duration, or the run never ends")
		}
		if p.Ramp > 0 {
			add("a ramp applies to the concurrency and rate modes, not to batches")
		}
	case ModeRate:
		if !(p.Rate > 0) || math.IsInf(p.Rate, 0) {
			add("rate must be a positive number of requests per second, got %g", p.Rate)
		}
		switch p.Arrival {
		case ArrivalConstant, ArrivalPoisson, "":
		case ArrivalGamma:
			if !(p.Burstiness > 0) {
				add("gamma arrivals need a positive burstiness, got %g", p.Burstiness)
			}
		default:
			add("arrival %q is not known (constant, poisson, gamma)", p.Arrival)
		}
		if p.MaxConcurrency < 0 {
			add("max concurrency must not be negative, got %d", p.MaxConcurrency)
		}
		if p.MaxRequests == 0 && p.Duration == 0 {
			add("set max requests or a duration, or the run never ends")
		}
	default:
		add("mode %q is not known (concurrency, batch-sequential, batch-interval, rate)", p.Mode)
	}
	if p.MaxRequests < 0 {
		add("max requests must not be negative, got %d", p.MaxRequests)
	}
	if p.Duration < 0 {
		add("duration must not be negative, got %s", p.Duration)
	}
	if p.Warmup < 0 {
		add("warm-up requests must not be negative, got %d", p.Warmup)
	}
	if p.Timeout <= 0 {
		add("timeout must be positive, got %s", p.Timeout)
	}
	if p.Retries < 0 {
		add("retries must not be negative, got %d", p.Retries)
	}
	if p.MaxRetryAfter < 0 {
		add("max Retry-After wait must not be negative, got %s", p.MaxRetryAfter)
	}
	if p.Grace < 0 {
		add("grace must not be negative, got %s", p.Grace)
	}
	if p.Ramp < 0 {
		add("ramp must not be negative, got %s", p.Ramp)
	}
	return errors.Join(errs...)
}

func (p Plan) grace() time.Duration {
	if p.Grace > 0 {
		return p.Grace
	}
	return min(p.Timeout, 10*time.Second)
}

// expectedInFlight is a guess of the peak number of requests in flight,
// used to size buffers only.
// warmupWidth is how many warm-up requests are in flight at once: the
// shape's usual load — its workers, its batch, its cap, or about a second
// of arrivals for an uncapped open loop.
func (p Plan) warmupWidth() int {
	if p.mode() == ModeRate && p.MaxConcurrency <= 0 {
		return max(1, int(math.Ceil(p.Rate)))
	}
	return p.expectedInFlight()
}

func (p Plan) expectedInFlight() int {
	switch p.mode() {
	case ModeBatchSequential, ModeBatchInterval:
		return max(p.BatchSize, 1)
	case ModeRate:
		if p.MaxConcurrency > 0 {
			return p.MaxConcurrency
		}
		return 64
	}
	return max(p.Concurrency, 1)
}
