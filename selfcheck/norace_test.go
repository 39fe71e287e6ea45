//go:build !race

package selfcheck

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
