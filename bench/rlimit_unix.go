//go:build unix

package bench

import (
	"math"
	"syscall"
)

// raiseOpenFileLimit raises the soft RLIMIT_NOFILE towards the hard limit
// when it is below need, and returns the soft limit then in force; 0 when
// it cannot be read or is unlimited.
func raiseOpenFileLimit(need int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if uint64(need) > uint64(lim.Cur) && lim.Cur < lim.Max {
		want := lim
		want.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			lim = want
		}
	}
	if uint64(lim.Cur) == math.MaxUint64 || uint64(lim.Cur) > math.MaxInt32 {
		return 0 // RLIM_INFINITY, or more than any run can use
	}
	return int(lim.Cur)
}
