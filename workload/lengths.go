package workload

import (
	crand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// AutoStddev, as a standard deviation, means AutoStddevOf(mean): a spread
// relative to the mean, so that a user who sets only a mean gets lengths
// around it.
const AutoStddev = -1

// AutoStddevOf is the standard deviation AutoStddev stands for: a quarter
// of the mean, rounded. Normal(mean, mean/4) falls below a tenth of the
// mean (MinLength's floor) with probability 0.02%.
func AutoStddevOf(mean int) int {
	return int(math.Round(float64(mean) / 4))
}

// EffectiveStddev resolves AutoStddev; other values are returned as they
// are.
func EffectiveStddev(mean, stddev int) int {
	if stddev == AutoStddev {
		return AutoStddevOf(mean)
	}
	return stddev
}

// MinLength is the floor of lengths drawn around mean: a tenth of the
// mean, at least 2 (an output of 2 tokens is the least that has a time per
// output token), never above the mean itself (a mean of 1 asks for 1).
func MinLength(mean int) int {
	return min(mean, max(2, (mean+5)/10))
}

// lengthDist is a token-length distribution: Normal(mean, stddev),
// rounded and raised to the floor MinLength(mean). A zero mean means "no
// length" (0).
type lengthDist struct {
	mean, stddev, floor int
}

// newLengthDist resolves AutoStddev and the floor.
func newLengthDist(mean, stddev int) lengthDist {
	return lengthDist{mean: mean, stddev: max(0, EffectiveStddev(mean, stddev)), floor: max(1, MinLength(mean))}
}

// sample draws one length from r, and tells whether it was raised to the
// floor. It draws from r only when stddev > 0.
func (d lengthDist) sample(r *rand.Rand) (int, bool) {
	if d.mean <= 0 {
		return 0, false
	}
	v := float64(d.mean)
	if d.stddev > 0 {
		v += float64(d.stddev) * r.NormFloat64()
	}
	v = math.Round(v)
	switch {
	case v < float64(d.floor):
		return d.floor, true
	case v > math.MaxInt32:
		return math.MaxInt32, true
	}
	return int(v), false
}

// forRequest draws request i's output length from its own random stream,
// so output lengths do not depend on how prompts are chosen.
func (d lengthDist) forRequest(seed uint64, i int64) (int, bool) {
	if d.mean <= 0 {
		return 0, false
	}
	if d.stddev == 0 {
		return d.mean, false
	}
	return d.sample(requestRand(seed, streamOutput, i))
}

// NewPromptSeed returns a random, non-zero prompt seed (Options.PromptSeed)
// from the operating system's generator.
func NewPromptSeed() uint64 {
	var b [8]byte
	for {
		if _, err := crand.Read(b[:]); err != nil {
			panic("crypto/rand failed: " + err.Error()) // never, per its documentation
		}
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}
