// Package starve starves a test's process of CPU on purpose: one P for
// Go code, shared with goroutines that spin, so that every other
// goroutine runs only when the scheduler preempts a spinner (every 10 ms
// or so). Tests of what llmload does when it is short of CPU use it; the
// library never imports it.
package starve

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Start sets GOMAXPROCS to 1 and starts hogs goroutines that spin until
// the returned function is called, which stops them and restores
// GOMAXPROCS.
func Start(hogs int) (stop func()) {
	prev := runtime.GOMAXPROCS(1)
	var done atomic.Bool
	var wg sync.WaitGroup
	for range hogs {
		wg.Go(func() {
			x := 0
			for !done.Load() {
				x++ // only async preemption takes the P from it
			}
			_ = x
		})
	}
	return func() {
		done.Store(true)
		wg.Wait()
		runtime.GOMAXPROCS(prev)
	}
}
