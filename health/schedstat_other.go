//go:build !linux

package health

// osRunWait returns nil: only Linux reports run-queue waits per thread.
func osRunWait() map[string]float64 { return nil }
