//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// groundTruth is the loopback SSE server every peer is measured against:
// each response sends its first token exactly ttft after the request
// arrived and each next one exactly gap later (deadlines are absolute, so
// timer lateness never accumulates), n tokens in all, in the OpenAI chat
// streaming format, then a usage chunk and [DONE]. It counts what it
// delivered and how late it was, so a run can tell a slow client from a
// server that could not keep up.
type groundTruth struct {
	ttft, gap time.Duration
	n         int

	// Chunks, built once: every token chunk is the same bytes.
	head, tok, lastTok, tail []byte

	inFlight  atomic.Int64
	peak      atomic.Int64
	completed atomic.Int64 // streams written to the end
	aborted   atomic.Int64 // streams whose client went away
	tokens    atomic.Int64 // token chunks written
	late      atomic.Int64 // token chunks written more than lateAfter after their deadline
	maxLateNS atomic.Int64

	mu          sync.Mutex
	first, last time.Time // first arrival and last end since the last reset
}

// lateAfter is how late a write may be before the server counts it late.
const lateAfter = time.Millisecond

func newGroundTruth(ttft, gap time.Duration, n int) *groundTruth {
	g := &groundTruth{ttft: ttft, gap: gap, n: n}
	chunk := func(content, finish string) []byte {
		return fmt.Appendf(nil, "data: {\"id\":\"chatcmpl-gt\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gt\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", content, finish)
	}
	g.head = fmt.Appendf(nil, "data: {\"id\":\"chatcmpl-gt\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gt\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n")
	g.tok = chunk(" tok", "null")
	g.lastTok = chunk(" tok", `"length"`)
	g.tail = fmt.Appendf(nil, "data: {\"id\":\"chatcmpl-gt\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gt\",\"choices\":[],\"usage\":{\"prompt_tokens\":16,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\ndata: [DONE]\n\n", n, n+16)
	return g
}

// gtStats is what GET /stats returns.
type gtStats struct {
	InFlight   int64   `json:"in_flight"`
	Peak       int64   `json:"peak_in_flight"`
	Completed  int64   `json:"completed"`
	Aborted    int64   `json:"aborted"`
	Tokens     int64   `json:"tokens"`
	Late       int64   `json:"late_tokens"`
	MaxLateMS  float64 `json:"max_late_ms"`
	WindowS    float64 `json:"window_s"` // first arrival to last stream end
	IdealPerS  float64 `json:"ideal_tokens_per_s_per_stream"`
	TTFTMS     float64 `json:"ttft_ms"`
	GapMS      float64 `json:"gap_ms"`
	TokensEach int     `json:"tokens_per_stream"`
}

func (g *groundTruth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/stats":
		g.mu.Lock()
		win := g.last.Sub(g.first).Seconds()
		g.mu.Unlock()
		json.NewEncoder(w).Encode(gtStats{InFlight: g.inFlight.Load(), Peak: g.peak.Load(), Completed: g.completed.Load(),
			Aborted: g.aborted.Load(), Tokens: g.tokens.Load(), Late: g.late.Load(),
			MaxLateMS: float64(g.maxLateNS.Load()) / 1e6, WindowS: max(win, 0),
			IdealPerS: float64(g.n) / (g.ttft + time.Duration(g.n-1)*g.gap).Seconds(),
			TTFTMS:    float64(g.ttft) / 1e6, GapMS: float64(g.gap) / 1e6, TokensEach: g.n})
		return
	case "/reset":
		g.mu.Lock()
		g.first, g.last = time.Time{}, time.Time{}
		g.mu.Unlock()
		g.peak.Store(0)
		g.completed.Store(0)
		g.aborted.Store(0)
		g.tokens.Store(0)
		g.late.Store(0)
		g.maxLateNS.Store(0)
		return
	case "/v1/models", "/models":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"gt","object":"model"}]}`)
		return
	}
	arrived := time.Now()
	io.Copy(io.Discard, r.Body)
	g.mu.Lock()
	if g.first.IsZero() {
		g.first = arrived
	}
	g.mu.Unlock()
	n := g.inFlight.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	defer g.inFlight.Add(-1)

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	ok := true
	for i := 0; i < g.n && ok; i++ {
		deadline := arrived.Add(g.ttft + time.Duration(i)*g.gap)
		if d := time.Until(deadline); d > 0 {
			time.Sleep(d)
		}
		if late := time.Since(deadline); late > lateAfter {
			g.late.Add(1)
			for m := g.maxLateNS.Load(); int64(late) > m && !g.maxLateNS.CompareAndSwap(m, int64(late)); m = g.maxLateNS.Load() {
			}
		}
		var err error
		switch {
		case i == 0 && g.n == 1:
			_, err = w.Write(append(append(append([]byte(nil), g.head...), g.lastTok...), g.tail...))
		case i == 0:
			_, err = w.Write(append(append([]byte(nil), g.head...), g.tok...))
		case i == g.n-1:
			_, err = w.Write(append(append([]byte(nil), g.lastTok...), g.tail...))
		default:
			_, err = w.Write(g.tok)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			ok = false
			break
		}
		g.tokens.Add(1)
	}
	if ok {
		g.completed.Add(1)
	} else {
		g.aborted.Add(1)
	}
	end := time.Now()
	g.mu.Lock()
	if end.After(g.last) {
		g.last = end
	}
	g.mu.Unlock()
}

// serve runs the ground-truth server on addr and prints its address on
// stdout (one line) once it listens.
func serve(addr string, ttft, gap time.Duration, n int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("http://" + ln.Addr().String())
	hs := &http.Server{Handler: newGroundTruth(ttft, gap, n), ReadHeaderTimeout: 10 * time.Second}
	return hs.Serve(ln)
}

func itoa(n int) string { return strconv.Itoa(n) }
