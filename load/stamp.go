package load

import (
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

// stamper gives each event of a response its arrival time. With a stream
// that knows the kernel's receive time of the data (llm.ReceiveStamper:
// the lean HTTP client on Linux), that is the arrival: when the packet
// that completed the event reached this host, which a client short of
// CPU does not delay. Without one it is now, the moment the stream
// returned the event. docs/metrics.md, "Kernel receive timestamps".
type stamper struct {
	rs   llm.ReceiveStamper
	last time.Time // the last stamp given, never later than now
	// kernel counts stamps taken from the kernel, user those taken from
	// the clock; lagMax is the longest read lag (now − receive time).
	kernel, user int
	lagMax       time.Duration
	// rx is the receive time of the last stamp (zero when it was the
	// clock's); chunkPending tells that the last stamp was an output
	// chunk's; bunched counts output chunks that came in one read with
	// the event after them, lastBunched tells that the latest output
	// chunk so far is one of them.
	rx           time.Time
	chunkPending bool
	bunched      int
	lastBunched  bool
}

func (s *stamper) init(stream llm.Stream, sent time.Time) {
	s.rs, _ = stream.(llm.ReceiveStamper)
	s.last = sent
}

// stamp returns the arrival of the event the stream just returned; now
// was read right after. It is the kernel's receive time when the stream
// has it, kept within [the last stamp, now]: arrivals never go back, and
// never precede t_send.
func (s *stamper) stamp(now time.Time) time.Time {
	at := now
	var rx time.Time
	if s.rs != nil {
		rx = s.rs.Received(now)
	}
	// One read's events share one receive time (llm.ReceiveStamper).
	if s.chunkPending && !rx.IsZero() && rx.Equal(s.rx) {
		s.bunched++
		s.lastBunched = true
	}
	s.chunkPending = false
	s.rx = rx
	if rx.IsZero() {
		s.user++
	} else {
		at = rx
		s.kernel++
		s.lagMax = max(s.lagMax, now.Sub(rx))
	}
	if at.Before(s.last) {
		at = s.last
	}
	s.last = at
	return at
}

// chunk tells that the event stamped last was an output chunk: it is
// bunched when the next event comes from the same read.
func (s *stamper) chunk() { s.chunkPending, s.lastBunched = true, false }

// fill records how the response's arrivals were stamped: ReceiveStamps
// when every one (its chunks and its end) was the kernel's, with the
// longest read lag.
func (s *stamper) fill(rec *record.Record, ok bool) {
	if ok && s.kernel > 0 && s.user == 0 {
		rec.ReceiveStamps = true
		rec.ReadLagMaxS = s.lagMax.Seconds()
		rec.BunchedChunks = s.bunched
		rec.BunchedLastChunk = s.lastBunched
	}
}
