//go:build !unix

package wire

// haveProcessCPU is false: the benchmarks report no CPU time here.
const haveProcessCPU = false

func processCPU() int64 { return 0 }
