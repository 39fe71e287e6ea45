//go:build race

package workload

// raceEnabled reports whether the race detector is on; it slows token
// counting about tenfold, so the exhaustive length tests sample instead.
const raceEnabled = true
