package bedrock

import (
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmload/llmload/sim"
)

// A server that closes kept-alive connections 30 ms after each response
// (llama-server's habit, here in front of the Bedrock simulator) costs no
// request: the SDK's request body is made replayable, so net/http re-sends
// a request whose reused connection closed before any response byte.
func TestKeepAliveCloseIsReplayed(t *testing.T) {
	srv, err := sim.New(sim.Options{TimeScale: 0.01, MaxConcurrentRequests: -1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	sim.CloseAfterResponse(ts.Config, 30*time.Millisecond)
	ts.Start()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	p := newTestProvider(t, ts.URL, APIConverseStream)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 15 {
				s, err := p.Start(t.Context(), chatRequest(5, true))
				if err != nil {
					failed.Add(1)
					t.Log(err)
					continue
				}
				if _, err := collect(s); err != nil && err.Error() != "EOF" {
					failed.Add(1)
					t.Log(err)
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of 30 requests failed", n)
	}
}
