//go:build race

package bench

// raceEnabled reports whether the race detector is on: it slows the
// client several times over, so a client-limited verdict is then true,
// not a false alarm.
const raceEnabled = true
