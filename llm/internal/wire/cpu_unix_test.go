//go:build unix

package wire

import "syscall"

// haveProcessCPU tells that processCPU reads the process's CPU time.
const haveProcessCPU = true

// processCPU is the process's user and system CPU time, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
