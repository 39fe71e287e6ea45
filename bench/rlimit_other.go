//go:build !unix

package bench

// raiseOpenFileLimit: no RLIMIT_NOFILE here; the limit is unknown.
func raiseOpenFileLimit(int) int { return 0 }
