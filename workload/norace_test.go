//go:build !race

package workload

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
