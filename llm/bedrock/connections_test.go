package bedrock

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/llmload/llmload/sim"
)

// TestBackToBackStreamsKeepTheirConnections sends short streams back to
// back from two goroutines. Before awsx.QuietBodyClient, net/http now and
// then closed a connection under a stream still being read (a failed
// second Close of the request body; "use of closed network connection"),
// mostly under the race detector on a busy machine.
func TestBackToBackStreamsKeepTheirConnections(t *testing.T) {
	_, url := newSim(t, sim.Options{TimeScale: 0.02})
	for _, api := range []string{APIConverseStream, APIInvokeStream} {
		p := newTestProvider(t, url, api)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 60 {
					s, err := p.Start(context.Background(), chatRequest(12, true))
					if err != nil {
						t.Errorf("%s: %v", api, err)
						continue
					}
					for {
						_, err := s.Next()
						if err == io.EOF {
							break
						}
						if err != nil {
							t.Errorf("%s: %v", api, err)
							break
						}
					}
					s.Close()
				}
			})
		}
		wg.Wait()
	}
}
