//go:build race

package selfcheck

// raceEnabled reports whether the race detector is on: it slows the
// client several times over, so the tests allow larger errors.
const raceEnabled = true
