package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/internal/starve"
)

// A client whose reads are late still times arrivals right: with one P
// for Go code, shared with goroutines that spin through the run, the
// runner reads chunks only when the scheduler preempts a spinner (tens of
// ms late), yet every chunk time and end is the kernel's receive time of
// the read that brought it, within the instants the server wrote its last
// packet, and the records say so (receive_stamps, read_lag_max_s,
// bunched_chunks: chunks read in one read with the next).
func TestArrivalsAreKernelTimesWhenReadLate(t *testing.T) {
	type bracket struct{ before, after time.Time }
	var (
		mu     sync.Mutex
		writes = map[string][]bracket{} // response id → each write
		n      atomic.Int64
	)
	const chunks = 4
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := fmt.Sprintf("r%d", n.Add(1))
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		var bs []bracket
		write := func(s string) {
			time.Sleep(5 * time.Millisecond)
			b := bracket{before: time.Now()}
			io.WriteString(w, s)
			w.(http.Flusher).Flush()
			b.after = time.Now()
			bs = append(bs, b)
		}
		for range chunks {
			write(`data: {"id":"` + id + `","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}` + "\n\n")
		}
		write(`data: {"id":"` + id + `","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":4}}` + "\n\ndata: [DONE]\n\n")
		mu.Lock()
		writes[id] = bs
		mu.Unlock()
	})
	r, c := newRunner(t, h, Plan{Concurrency: 2, MaxRequests: 6, Timeout: 10 * time.Second})
	// Making the client asked the kernel to timestamp received packets,
	// which it starts doing a moment later (a deferred switch).
	time.Sleep(20 * time.Millisecond)

	stop := starve.Start(2)
	_, err := r.Run(context.Background())
	stop()
	if err != nil {
		t.Fatal(err)
	}

	// Each handler files its writes after its last one, which the client
	// may have read before: wait for all of them.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(writes)
		mu.Unlock()
		if n >= len(c.recs) || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	const slack = 500 * time.Microsecond // loopback delivery within the write, and clock reads
	lateReads, bunchedAll := 0, 0
	for _, rec := range c.recs {
		if !rec.OK() {
			t.Fatalf("request %d failed: %s", rec.ID, rec.Error)
		}
		bs := writes[rec.ResponseID]
		if len(bs) != chunks+1 || len(rec.ChunkTimesS) != chunks {
			t.Fatalf("%s: %d writes, %d chunk times", rec.ResponseID, len(bs), len(rec.ChunkTimesS))
		}
		if !rec.ReceiveStamps {
			t.Fatalf("%s: arrivals not the kernel's receive times", rec.ResponseID)
		}
		if rec.ReadLagMaxS > 0.002 || rec.BunchedChunks > 0 {
			lateReads++
		}
		bunchedAll += rec.BunchedChunks
		at := func(s float64) time.Time { return r.start.Add(time.Duration((rec.SentS + s) * 1e9)) }
		check := func(what string, got time.Time, b bracket) {
			if got.Before(b.before.Add(-slack)) || got.After(b.after.Add(slack)) {
				t.Errorf("%s %s at %v; the server wrote it in [%v, %v] (after t_send); read lag max %.1f ms",
					rec.ResponseID, what, got.Sub(at(0)), b.before.Sub(at(0)), b.after.Sub(at(0)), 1000*rec.ReadLagMaxS)
			}
		}
		// A chunk read in one read with a later packet has that packet's
		// time: the kernel keeps one receive time per read, its last
		// packet's.
		bunched := 0
		for j, ct := range rec.ChunkTimesS {
			k := j
			for k < len(bs) && at(ct).After(bs[k].after.Add(slack)) {
				k++
			}
			if k == len(bs) {
				k = len(bs) - 1
			}
			if k > j {
				bunched++
			}
			check(fmt.Sprintf("chunk %d (read with write %d)", j, k), at(ct), bs[k])
		}
		if bunched != rec.BunchedChunks {
			t.Errorf("%s: %d chunks read with the next, record says %d", rec.ResponseID, bunched, rec.BunchedChunks)
		}
		check("end", at(rec.E2ES), bs[chunks])
	}
	if lateReads == 0 {
		t.Skip("the starved client still read every chunk within 2 ms, one by one: nothing was late to test")
	}
	t.Logf("%d of %d requests read late (a read 2 ms after its packet, or chunks read together: %d)", lateReads, len(c.recs), bunchedAll)
}
