package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, Base},
		{0, 1 << 20, Base},
		{8 << 20, 0, 100},
		{8 << 20, 8 << 20, 50},
		{12 << 20, 4 << 20, 75},
		{1 << 20, 100 << 20, minPercent},
	} {
		if got := Percent(c.live, c.roots); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.live, c.roots, got, c.want)
		}
	}
}

func read(names ...string) []uint64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	out := make([]uint64, len(s))
	for i := range s {
		out[i] = s[i].Value.Uint64()
	}
	return out
}

// deep parks a goroutine with about n bytes of stack in use, as a stream's
// worker is parked between two chunks.
func deep(n int, wait <-chan struct{}, ready *sync.WaitGroup) byte {
	var pad [512]byte
	if n > len(pad) {
		pad[0] = deep(n-len(pad), wait, ready)
		return pad[0] + pad[len(pad)-1]
	}
	ready.Done()
	<-wait
	return pad[1]
}

// park parks n goroutines with 4 KiB of stack in use each, and returns
// what lets them go.
func park(n int) (release func()) {
	wait := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	for range n {
		done.Go(func() { deep(4<<10, wait, &ready) })
	}
	ready.Wait()
	return func() { close(wait); done.Wait() }
}

// settle runs collections until the GC percentage stops changing.
func settle() (gogc, goal, live, roots uint64) {
	last := uint64(0)
	for range 20 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the cleanup runs on its own goroutine
		v := read("/gc/gogc:percent", "/gc/heap/goal:bytes", "/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes")
		gogc, goal, live, roots = v[0], v[1], v[2], v[3]+v[4]
		if gogc == last {
			break
		}
		last = gogc
	}
	return
}

// TestHeadroomIsTheLiveHeap parks 2,000 goroutines with 4 KiB of stack in
// use each beside 8 MiB of live heap: Go alone lets the heap grow by the
// stacks too; with the pacer the headroom is the live heap.
func TestHeadroomIsTheLiveHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("parks 2,000 goroutines")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(Base))
	heap := make([][]byte, 0, 1024)
	for range 1024 {
		heap = append(heap, make([]byte, 8<<10))
	}
	defer park(2000)()

	gogc, goal, live, roots := settle()
	if gogc != Base {
		t.Fatalf("GC percentage %d before the pacer, want Go's default %d", gogc, Base)
	}
	if roots < 6<<20 {
		t.Fatalf("the goroutines' stacks scanned %d bytes, want ≥ 6 MiB: the test no longer sets up stacks", roots)
	}
	if goal < 2*live+roots*9/10 {
		t.Fatalf("without the pacer: heap goal %d, live %d, stacks and globals %d: Go no longer counts stacks into the headroom", goal, live, roots)
	}
	t.Logf("without the pacer: live heap %.1f MiB, stacks and globals scanned %.1f MiB, heap goal %.1f MiB", mib(live), mib(roots), mib(goal))

	p := Start("")
	gogc, goal, live, roots = settle()
	t.Logf("with the pacer: GC percent %d, live heap %.1f MiB, stacks and globals scanned %.1f MiB, heap goal %.1f MiB", gogc, mib(live), mib(roots), mib(goal))
	if want := Percent(live, roots); int(gogc) < want-hysteresis || int(gogc) > want+hysteresis {
		t.Errorf("GC percentage %d, want %d ± %d", gogc, want, hysteresis)
	}
	// The goal is live + (live + roots) × percent / 100 = 2 × live.
	if lo, hi := 2*live-live/10, 2*live+live/10; goal < lo || goal > hi {
		t.Errorf("heap goal %.1f MiB, want twice the live heap (%.1f MiB) ± 10%%", mib(goal), mib(2*live))
	}

	p.Stop()
	if gogc, _, _, _ = settle(); gogc != Base {
		t.Errorf("GC percentage %d after Stop, want %d", gogc, Base)
	}
	runtime.KeepAlive(heap)
}

// TestUserGOGCIsKept: any GOGC the user set is theirs.
func TestUserGOGCIsKept(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(70))
	defer park(500)()
	p := Start("70")
	defer p.Stop()
	if gogc, _, _, _ := settle(); gogc != 70 {
		t.Errorf("GC percentage %d, want the user's 70", gogc)
	}
	p.Stop()
	if gogc, _, _, _ := settle(); gogc != 70 {
		t.Errorf("GC percentage %d after Stop, want the user's 70", gogc)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
