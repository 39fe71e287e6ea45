package load

import (
	"math"
	"math/rand/v2"
	"time"
)

// arrivals generates the open loop's arrival times, an absolute schedule
// computed from the start (so timer lateness never accumulates).
//
// It draws a unit-rate point process (gaps with mean 1: constant 1,
// exponential for Poisson, gamma with shape k and scale 1/k) and maps its
// cumulative "expected count" e onto time through the inverse of
// Λ(t) = ∫ rate(u) du. Without a ramp Λ(t) = R·t; with a linear ramp over T
// the rate is R·t/T until T, so Λ(t) = R·t²/(2T) there and
// R·T/2 + R·(t − T) after — time rescaling keeps the process exact.
type arrivals struct {
	rng   *rand.Rand
	kind  string
	shape float64 // gamma shape (Burstiness)
	rate  float64 // R, per second
	ramp  float64 // T, seconds
	e     float64 // cumulative unit-rate time of the last arrival
	n     int
}

func newArrivals(p Plan) *arrivals {
	kind := p.Arrival
	if kind == "" {
		kind = ArrivalPoisson
	}
	return &arrivals{
		rng:   rand.New(rand.NewPCG(p.Seed, 0x61727269)),
		kind:  kind,
		shape: p.Burstiness,
		rate:  p.Rate,
		ramp:  p.Ramp.Seconds(),
	}
}

// next returns the scheduled time of the next arrival since the start.
func (a *arrivals) next() time.Duration {
	if a.n > 0 || a.kind != ArrivalConstant {
		a.e += a.gap()
	}
	a.n++
	return time.Duration(a.at(a.e) * float64(time.Second))
}

// gap draws one unit-mean gap.
func (a *arrivals) gap() float64 {
	switch a.kind {
	case ArrivalConstant:
		return 1
	case ArrivalGamma:
		return gammaDraw(a.rng, a.shape) / a.shape
	}
	return a.rng.ExpFloat64()
}

// at inverts Λ: the time at which the expected count reaches e.
func (a *arrivals) at(e float64) float64 {
	if a.ramp <= 0 {
		return e / a.rate
	}
	if half := a.rate * a.ramp / 2; e > half {
		return a.ramp + (e-half)/a.rate
	}
	return math.Sqrt(2 * a.ramp * e / a.rate)
}

// rateAt is the target rate at t seconds.
func (a *arrivals) rateAt(t float64) float64 {
	if a.ramp > 0 && t < a.ramp {
		return a.rate * t / a.ramp
	}
	return a.rate
}

// gammaDraw samples Gamma(k, 1) by Marsaglia and Tsang's method, boosted
// for k < 1 (Gamma(k) = Gamma(k+1)·U^(1/k)).
func gammaDraw(rng *rand.Rand, k float64) float64 {
	if k < 1 {
		return gammaDraw(rng, k+1) * math.Pow(rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
