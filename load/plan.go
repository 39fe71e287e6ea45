// Package load drives requests at an endpoint: the schedule (when to send)
// and the runner (sending, timing, recording). Timing is taken here and only
// here, with Go's monotonic clock.
package load

import (
	"errors"
	"fmt"
	"time"
)

// Plan says how much load to apply and when to stop.
type Plan struct {
	// Concurrency is the number of closed-loop workers: each sends its next
	// request when its previous one ended.
	Concurrency int
	// MaxRequests is the number of measured requests to send (warm-up
	// requests come on top). 0 means no limit: Duration must be set.
	MaxRequests int
	// Duration stops scheduling new requests this long after the run
	// started. 0 means no limit: MaxRequests must be set.
	Duration time.Duration
	// Warmup requests are sent first and marked so statistics exclude them.
	Warmup int
	// Timeout bounds each request from send to end of response.
	Timeout time.Duration
	// Grace is how long in-flight requests may finish after the run is
	// interrupted; past it they are canceled. 0 means min(Timeout, 10s).
	Grace time.Duration
}

// Validate returns every problem with the plan, joined.
func (p Plan) Validate() error {
	var errs []error
	if p.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency must be at least 1, got %d", p.Concurrency))
	}
	if p.MaxRequests < 0 {
		errs = append(errs, fmt.Errorf("max requests must not be negative, got %d", p.MaxRequests))
	}
	if p.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration must not be negative, got %s", p.Duration))
	}
	if p.MaxRequests == 0 && p.Duration == 0 {
		errs = append(errs, errors.New("set max requests or a duration, or the run never ends"))
	}
	if p.Warmup < 0 {
		errs = append(errs, fmt.Errorf("warm-up requests must not be negative, got %d", p.Warmup))
	}
	if p.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive, got %s", p.Timeout))
	}
	if p.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace must not be negative, got %s", p.Grace))
	}
	return errors.Join(errs...)
}

func (p Plan) grace() time.Duration {
	if p.Grace > 0 {
		return p.Grace
	}
	return min(p.Timeout, 10*time.Second)
}
