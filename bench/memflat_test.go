package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/stats"
)

// fastSSE answers every chat request at once with a complete stream of n
// one-word chunks, each flushed, then usage and [DONE].
func fastSSE(n int) http.Handler {
	chunk := []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n")
	tail := fmt.Appendf(nil, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`+"\n\n"+
		`data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":16,"completion_tokens":%d,"total_tokens":%d}}`+"\n\ndata: [DONE]\n\n", n, n+16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for range n {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			rc.Flush()
		}
		w.Write(tail)
	})
}

// TestMemoryFlatOverALongRun runs a closed loop of thousands of short
// streamed requests through the whole pipeline of a run (runner, record
// file, live statistics, timeline) and samples the live heap as requests
// complete: it must not grow with them. Records go to disk as they end;
// everything kept in memory during a run is bounded, so the heap of the
// last third of the run stays near that of the first third (after a
// warm-up), however many requests completed in between. It runs against
// a fast loopback server, and against the in-process simulator (whose
// ground-truth traces once grew with every completed request).
func TestMemoryFlatOverALongRun(t *testing.T) {
	if testing.Short() {
		t.Skip("long-ish run")
	}
	srv := httptest.NewServer(fastSSE(64))
	defer srv.Close()
	for _, server := range []string{"loopback", "sim"} {
		t.Run("server="+server, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Provider, cfg.BaseURL, cfg.Model = config.ProviderOpenAI, srv.URL+"/v1", "m"
			if server == "sim" {
				cfg.Provider, cfg.BaseURL = config.ProviderSim, "" // model m: the simulator serves it
				cfg.Sim.TimeScale, cfg.Sim.MaxConcurrentRequests = 0.0005, 64
			}
			cfg.Concurrency, cfg.MaxRequests, cfg.Duration = config.IntList{32}, 0, config.Duration(4*time.Second)
			cfg.Prompt, cfg.MeanInputTokens, cfg.StddevInputTokens = "Say hello.", 0, 0
			cfg.MeanOutputTokens, cfg.StddevOutputTokens = 64, 0
			cfg.ResultsDir = t.TempDir()
			memoryFlat(t, &cfg)
		})
	}
}

// memoryFlat runs cfg, sampling the live heap, and fails when it grew
// with completed requests.
func memoryFlat(t *testing.T, cfg *config.Config) {
	type sample struct {
		live  uint64 // bytes of heap live after the last GC
		ended int64  // requests ended so far
	}
	var (
		mu      sync.Mutex
		samples []sample
		stop    = make(chan struct{})
		stopped sync.WaitGroup
	)
	hooks := Hooks{
		Started: func(_ string, r *load.Runner, _ *stats.Live) {
			stopped.Go(func() {
				m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					// The live heap as the last GC cycle marked it: cycles
					// run every few MiB allocated, many times a second here.
					metrics.Read(m)
					mu.Lock()
					samples = append(samples, sample{live: m[0].Value.Uint64(), ended: r.Progress().Ended})
					mu.Unlock()
				}
			})
		},
		Finished: func(load.Result) { close(stop); stopped.Wait() },
	}
	out, err := Run(t.Context(), cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if req := out.Summary.Requests; req.Failed > 0 || req.Succeeded == 0 {
		t.Fatalf("requests: %+v; errors %v", req, out.Summary.ErrorsByKind)
	}

	// Skip the first quarter (connections opening, buffers and pools
	// growing to their working size), then compare thirds of the rest.
	s := samples[len(samples)/4:]
	if len(s) < 9 {
		t.Skipf("only %d samples: the machine is too slow for this test", len(s))
	}
	third := len(s) / 3
	mean := func(xs []sample) float64 {
		sum := 0.0
		for _, x := range xs {
			sum += float64(x.live)
		}
		return sum / float64(len(xs))
	}
	first, last := mean(s[:third]), mean(s[len(s)-third:])
	completed := s[len(s)-1].ended - s[0].ended
	t.Logf("%d samples; live heap %.1f MiB in the first third, %.1f MiB in the last; %d requests completed in between",
		len(s), first/(1<<20), last/(1<<20), completed)
	if completed < 500 {
		t.Skipf("only %d requests completed after warm-up: too few to tell growth from noise", completed)
	}
	// Retaining a record per request (≥ 1 KiB with its 64 chunk times)
	// adds more than this over ≥ 500 requests; sampling noise is up to a
	// few hundred KiB.
	const slack = 512 << 10
	if grew := last - first; grew > max(slack, first/20) && grew/float64(completed) > 256 {
		t.Errorf("live heap grew from %.1f MiB to %.1f MiB over %d requests (%.0f B per request): something keeps per-request memory",
			first/(1<<20), last/(1<<20), completed, (last-first)/float64(completed))
	}
}
