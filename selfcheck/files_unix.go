//go:build unix

package selfcheck

import (
	"os"
	"syscall"
)

// openFileLimit is the process's soft limit on open files (Go raises it
// to the hard limit at start-up); 0 when unknown.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur)
}

// openFiles counts the process's open files where /proc or /dev/fd
// lists them; 0 otherwise.
func openFiles() int {
	for _, d := range []string{"/proc/self/fd", "/dev/fd"} {
		if es, err := os.ReadDir(d); err == nil {
			return len(es)
		}
	}
	return 0
}
