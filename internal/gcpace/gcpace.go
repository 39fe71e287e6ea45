// Package gcpace keeps the garbage collector's headroom at the live heap
// alone, as Go applied GOGC before 1.18, instead of the live heap plus the
// goroutine stacks it scanned.
//
// Since Go 1.18 the heap may grow, before the next collection, by GOGC% of
// the live heap plus the scanned stacks and globals. A load generator is
// mostly stacks: at 1,000 streams llmload holds ≈ 6.5 KiB of live heap and
// ≈ 8.7 KiB of stack per stream, ≈ 4 KiB of it in use and scanned, and
// every scanned stack byte bought a byte of headroom that garbage then
// filled. Stacks make no garbage, so llmload lowers the GC percentage to
// what gives the live heap its GOGC% headroom and no more:
//
//	percent = base × live / (live + stacks + globals)
//
// where base is 100 (Go's default). It costs a collection more often when
// stacks are large, each as cheap as before (docs/performance.md, "The
// GC's headroom").
package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Base is the GC percentage whose headroom the pacer gives the live heap:
// Go's default GOGC.
const Base = 100

// minPercent bounds the percentage from below, so that a process that is
// nearly all stacks does not collect without pause.
const minPercent = Base / 4

// hysteresis is the change in percentage below which the pacer leaves the
// setting alone.
const hysteresis = 3

// Pacer adjusts the GC percentage after every collection.
type Pacer struct {
	mu      sync.Mutex
	stopped bool
	set     int // the percentage last set
	samples []metrics.Sample
}

// Start starts pacing, unless the user chose the GC target themselves:
// gogc is the GOGC environment variable, and any value (a number, "off")
// leaves the runtime's setting alone and returns a Pacer that does nothing.
// The pacer runs after every collection until Stop.
func Start(gogc string) *Pacer {
	p := &Pacer{set: Base, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
	if gogc != "" {
		p.stopped = true
		return p
	}
	p.arm()
	return p
}

// Stop ends pacing and gives the runtime back Go's default percentage.
func (p *Pacer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.set != Base {
		debug.SetGCPercent(Base)
		p.set = Base
	}
}

// sentinel is an object whose only use is to be collected: its cleanup
// runs after the collection that found it unreachable. It is large enough
// not to share a tiny allocation with anything else that could keep it.
type sentinel struct{ _ [32]byte }

// arm attaches the next cycle's work to a new unreachable sentinel.
func (p *Pacer) arm() {
	runtime.AddCleanup(new(sentinel), (*Pacer).cycle, p)
}

// cycle runs after a collection: it sets the percentage for the next one
// from what this one found, and arms the next.
func (p *Pacer) cycle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	metrics.Read(p.samples)
	live := p.samples[0].Value.Uint64()
	roots := p.samples[1].Value.Uint64() + p.samples[2].Value.Uint64()
	if pc := Percent(live, roots); pc-p.set >= hysteresis || p.set-pc >= hysteresis {
		debug.SetGCPercent(pc)
		p.set = pc
	}
	p.arm()
}

// Percent is the GC percentage that lets the heap grow by Base% of live
// bytes of heap, given roots bytes of scanned stacks and globals, which Go
// counts into the headroom too; at least a quarter of Base.
func Percent(live, roots uint64) int {
	if live == 0 {
		return Base
	}
	pc := int(float64(Base) * float64(live) / float64(live+roots))
	return max(pc, minPercent)
}
