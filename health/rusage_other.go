//go:build !unix

package health

// ProcessCPU returns -1: process CPU time is read with getrusage, which
// this platform does not have; the CPU rule then does not apply.
func ProcessCPU() float64 { return -1 }
