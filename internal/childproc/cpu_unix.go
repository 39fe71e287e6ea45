//go:build unix

package childproc

import "syscall"

// CPUKnown tells that CPU reads the process's CPU time.
const CPUKnown = true

// CPU is this process's user and system CPU time, in ns (getrusage):
// what a benchmark against a server from Serve charges to the client
// alone.
func CPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
