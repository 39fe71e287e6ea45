//go:build !unix

package childproc

// CPUKnown is false: the process's CPU time is not read here.
const CPUKnown = false

// CPU is 0 here.
func CPU() int64 { return 0 }
