//go:build linux

package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/internal/childproc"
	"github.com/llmload/llmload/llm/openai"
)

// pacedChunks and pacedGap are BenchmarkRunnerPaced's responses: 32
// chunks, 20 ms apart, as a model decoding at 50 tokens/s sends them.
const (
	pacedChunks = 32
	pacedGap    = 20 * time.Millisecond
)

// BenchmarkRunnerPaced is the runner's CPU per chunk (process CPU time,
// getrusage) reading 1,000 streams at once whose chunks come 20 ms apart,
// so that between two chunks of a stream the other 999 run and its
// goroutine's stack and objects leave the CPU's caches: the cost that
// dominates at high concurrency (docs/performance.md, "Waiting high in
// the stack"). wait=yes is the runner as it is, waiting for each chunk
// with llm.Waiter's Wait before NextText; wait=no waits inside NextText,
// deep in the parse. The server is this test binary run again as its own
// process (TestRunnerPacedServerProcess), so the CPU is the client's alone.
func BenchmarkRunnerPaced(b *testing.B) {
	const streams = 1000
	url := childproc.Serve(b, "TestRunnerPacedServerProcess", "LLMLOAD_RUNNER_PACED_SERVER=1")
	prov, err := openai.New(openai.Options{BaseURL: url + "/v1", MaxConns: streams})
	if err != nil {
		b.Fatal(err)
	}
	r, p, req := benchRunner(b, prov, streams, pacedChunks)
	for _, wait := range []bool{true, false} {
		b.Run(fmt.Sprintf("wait=%s", map[bool]string{true: "yes", false: "no"}[wait]), func(b *testing.B) {
			waitFirst = wait
			defer func() { waitFirst = true }()
			var cpu int64
			for b.Loop() {
				cpu0 := childproc.CPU()
				var wg sync.WaitGroup
				for i := range streams {
					wg.Go(func() {
						// Outside the output-count sample, as most requests are.
						rec, failed := r.attempt(context.Background(), slot{id: outputCheckFirst + 1 + int64(i)}, p, req, 0)
						if failed != nil || len(rec.ChunkTimesS) != pacedChunks {
							b.Errorf("failed %v, %d chunks", failed, len(rec.ChunkTimesS))
						}
					})
				}
				wg.Wait()
				cpu += childproc.CPU() - cpu0
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/(streams*pacedChunks), "cpu-ns/chunk")
		})
	}
}

// TestRunnerPacedServerProcess is BenchmarkRunnerPaced's server when run
// by it; otherwise it does nothing. It prints its URL and serves chat
// completion streams of pacedChunks chunks, pacedGap apart, then usage
// and [DONE], until its stdin closes.
func TestRunnerPacedServerProcess(t *testing.T) {
	if os.Getenv("LLMLOAD_RUNNER_PACED_SERVER") == "" {
		t.Skip("run by BenchmarkRunnerPaced")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for i := range pacedChunks {
			time.Sleep(pacedGap)
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word%d\"},\"finish_reason\":null}]}\n\n", i%50)
			f.Flush()
		}
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":"+strconv.Itoa(pacedChunks)+"}}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}
