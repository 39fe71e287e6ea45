//go:build !unix

package selfcheck

// openFileLimit is 0 (unknown) where there is no getrlimit.
func openFileLimit() uint64 { return 0 }

func openFiles() int { return 0 }
