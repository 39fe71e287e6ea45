//go:build linux

package health

import (
	"bytes"
	"os"
	"strconv"
)

// osRunWait returns, per thread of the process, the time it has spent
// runnable but waiting for a CPU in the kernel's run queue, seconds
// (/proc/self/task/<tid>/schedstat, second field); nil when unreadable.
func osRunWait() map[string]float64 {
	es, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	m := make(map[string]float64, len(es))
	for _, e := range es {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		if ns, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
			m[e.Name()] = float64(ns) / 1e9
		}
	}
	return m
}
