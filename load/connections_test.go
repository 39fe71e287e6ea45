package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
)

// closingServer serves h like llama-server: it closes each connection
// 30 ms after a response, without a Connection: close header.
func closingServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	sim.CloseAfterResponse(srv.Config, 30*time.Millisecond)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// A server that closes kept-alive connections after each response costs
// no request: a request sent on a connection the server was closing is
// replayed on a fresh one, and counted as a replay, not as an error.
func TestKeepAliveCloseIsReplayedNotAnError(t *testing.T) {
	srv := closingServer(t, &sseServer{first: time.Millisecond, gap: time.Millisecond, n: 3})
	plan := Plan{Concurrency: 4, MaxRequests: 200, Timeout: 5 * time.Second}
	r, c := newRunner(t, http.NotFoundHandler(), plan)
	prov, err := openai.New(openai.Options{BaseURL: srv.URL + "/v1", MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	r.Provider = prov
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := stats.Summarize(c.recs, stats.RunInfo{})
	if s.Requests.Total != 200 || s.Requests.Failed != 0 {
		t.Fatalf("%d requests, %d failed (%v); want 200, 0", s.Requests.Total, s.Requests.Failed, s.ErrorsByKind)
	}
	replays, fresh := 0, 0
	for _, rec := range c.recs {
		replays += rec.Replays
		if rec.NewConnection {
			fresh++
		}
	}
	if replays == 0 {
		t.Errorf("no replays recorded; the server closed connections under %d requests", len(c.recs))
	}
	if fresh < 200/4 {
		t.Errorf("%d requests on a new connection; the server closes every one after a response", fresh)
	}
	if s.Connections == nil || s.Connections.Replays != replays {
		t.Errorf("summary connections = %+v, want %d replays", s.Connections, replays)
	}
	t.Logf("200 requests: %d replays, %d on new connections", replays, fresh)
}
