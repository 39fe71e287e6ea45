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
		bunched, lastBunched := 0, false
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
				lastBunched = j == len(rec.ChunkTimesS)-1
			}
			check(fmt.Sprintf("chunk %d (read with write %d)", j, k), at(ct), bs[k])
		}
		if bunched != rec.BunchedChunks || lastBunched != rec.BunchedLastChunk {
			t.Errorf("%s: %d chunks read with the next (the last one: %v), record says %d (%v)",
				rec.ResponseID, bunched, lastBunched, rec.BunchedChunks, rec.BunchedLastChunk)
		}
		check("end", at(rec.E2ES), bs[chunks])
	}
	if lateReads == 0 {
		t.Skip("the starved client still read every chunk within 2 ms, one by one: nothing was late to test")
	}
	t.Logf("%d of %d requests read late (a read 2 ms after its packet, or chunks read together: %d)", lateReads, len(c.recs), bunchedAll)
}

// Events a server writes at once arrive in one packet and one read, so
// they share its receive time: the record counts such chunks and tells
// whether the last one came with the end of the response. A response
// whose last chunk, usage and [DONE] are one write has its last chunk
// bunched; one that writes two chunks at once and ends apart has one
// bunched chunk that is not the last.
func TestBunchedLastChunk(t *testing.T) {
	var n atomic.Int64
	const usage = `data: {"id":"x","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}` + "\n\ndata: [DONE]\n\n"
	chunk := `data: {"id":"x","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}` + "\n\n"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		var writes []string
		if n.Add(1)%2 == 1 {
			writes = []string{chunk, chunk, chunk + usage}
		} else {
			writes = []string{chunk + chunk, chunk, usage}
		}
		for _, s := range writes {
			time.Sleep(3 * time.Millisecond)
			io.WriteString(w, s)
			w.(http.Flusher).Flush()
		}
	})
	r, c := newRunner(t, h, Plan{Concurrency: 1, MaxRequests: 4, Timeout: 10 * time.Second})
	time.Sleep(20 * time.Millisecond) // the kernel's deferred switch to timestamping
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 4 {
		t.Fatalf("%d records, want 4", len(c.recs))
	}
	for i, rec := range c.recs {
		if !rec.OK() || len(rec.ChunkTimesS) != 3 {
			t.Fatalf("request %d: %q, %d chunk times", i, rec.Error, len(rec.ChunkTimesS))
		}
		if !rec.ReceiveStamps {
			t.Skip("no kernel receive times here (not Linux, or the kernel stamped nothing)")
		}
		wantLast := i%2 == 0
		if rec.BunchedChunks != 1 || rec.BunchedLastChunk != wantLast {
			t.Errorf("request %d: bunched_chunks %d, bunched_last_chunk %v; want 1, %v (chunk times %v, e2e %v)",
				i, rec.BunchedChunks, rec.BunchedLastChunk, wantLast, rec.ChunkTimesS, rec.E2ES)
		}
	}
}
