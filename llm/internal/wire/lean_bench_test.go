package wire

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/internal/childproc"
)

// chunkLine is a streamed OpenAI chunk of the usual size.
const chunkLine = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n"

// BenchmarkStreamClient is the client's CPU per streamed chunk over
// loopback, each chunk written and flushed on its own, read line by line
// through Body as the providers read it, with the lean client (auto) and
// net/http (std), in process CPU time (getrusage) per chunk. The
// in-process server's cost is included, the same for both.
func BenchmarkStreamClient(b *testing.B) {
	const chunks = 256
	srv := chunkServer(chunks, 0)
	defer srv.Close()
	for _, kind := range []string{ClientAuto, ClientStd} {
		b.Run("client="+kind, func(b *testing.B) {
			c, err := NewClient(4, kind)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			b.ReportAllocs()
			cpu0 := childproc.CPU()
			for b.Loop() {
				if n := streamOnce(b, context.Background(), c, srv.URL); n != 2*chunks {
					b.Fatalf("%d lines", n)
				}
			}
			// CPU time, not wall time: on a shared machine the wall
			// clock mostly measures the neighbours.
			if childproc.CPUKnown {
				b.ReportMetric(float64(childproc.CPU()-cpu0)/float64(b.N)/chunks, "cpu-ns/chunk")
			}
		})
	}
}

// chunkServer streams chunks chunkLines to every request, each written
// and flushed on its own, gap apart.
func chunkServer(chunks int, gap time.Duration) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for range chunks {
			io.WriteString(w, chunkLine)
			f.Flush()
			if gap > 0 {
				time.Sleep(gap)
			}
		}
	}))
}

// streamOnce sends one request and reads its response line by line;
// it returns the lines read.
func streamOnce(tb testing.TB, ctx context.Context, c *http.Client, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"stream":true}`))
	if err != nil {
		tb.Fatal(err)
	}
	SetHeaders(req, "text/event-stream", "")
	MarkReplayable(req)
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body := lineBody(ctx, resp)
	n := 0
	for {
		if _, err := body.ReadLine(); err != nil {
			break
		}
		n++
	}
	body.Done()
	body.Close()
	return n
}

// BenchmarkInFlightMemory holds 500 streams open at once, each having
// read its first chunk, and reports the goroutine stacks, live heap and
// goroutines each adds, with the lean client (auto) and net/http (std).
// The in-process server's share (its goroutine and buffers per
// connection) is included, the same for both.
func BenchmarkInFlightMemory(b *testing.B) {
	const streams = 500
	for _, kind := range []string{ClientAuto, ClientStd} {
		b.Run("client="+kind, func(b *testing.B) {
			var stacks, heap, gor float64
			for b.Loop() {
				s, h, g := inFlightMemory(b, kind, streams)
				stacks += s
				heap += h
				gor += g
			}
			n := float64(b.N)
			b.ReportMetric(stacks/n, "stack-B/stream")
			b.ReportMetric(heap/n, "heap-B/stream")
			b.ReportMetric(gor/n, "goroutines/stream")
		})
	}
}

func inFlightMemory(b *testing.B, kind string, streams int) (stacks, heap, goroutines float64) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(streams)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunkLine)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	c, err := NewClient(streams, kind)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	before := memSample()
	var done sync.WaitGroup
	for range streams {
		done.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"stream":true}`))
			SetHeaders(req, "text/event-stream", "")
			resp, err := c.Do(req)
			if err != nil {
				started.Done()
				b.Error(err)
				return
			}
			body := lineBody(context.Background(), resp)
			body.ReadLine()
			started.Done()
			for {
				if _, err := body.ReadLine(); err != nil {
					break
				}
			}
			body.Done()
			body.Close()
		})
	}
	started.Wait()
	during := memSample()
	close(release)
	done.Wait()
	n := float64(streams)
	return float64(during[0]-before[0]) / n, float64(during[1]-before[1]) / n, float64(during[2]-before[2]) / n
}

func memSample() [3]int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	return [3]int64{int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64()), int64(s[2].Value.Uint64())}
}
