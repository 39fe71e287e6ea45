package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
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

// A closed-loop worker whose requests cannot even connect backs off
// (10 ms doubling to 1 s) instead of spinning: against a closed port for
// 1.5 s, two workers send tens of requests, not tens of thousands, and
// the records carry the waits.
func TestClosedLoopBacksOffOnConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v1"
	ln.Close() // nothing listens there now
	r, c := newRunner(t, http.NotFoundHandler(), Plan{Concurrency: 2, Duration: 1500 * time.Millisecond, Timeout: time.Second})
	prov, err := openai.New(openai.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	r.Provider = prov
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(c.recs); n < 4 || n > 60 {
		t.Fatalf("%d requests in 1.5 s against a closed port; want tens", n)
	}
	backedOff := 0
	for _, rec := range c.recs {
		if rec.ErrorKind != llm.KindConnection {
			t.Errorf("request %d: kind %q, want connection", rec.ID, rec.ErrorKind)
		}
		if rec.ConnBackoffS > 0 {
			backedOff++
			if rec.ConnBackoffS > 1 {
				t.Errorf("request %d waited %.3fs; the cap is 1s", rec.ID, rec.ConnBackoffS)
			}
		}
	}
	if backedOff < len(c.recs)-2 {
		t.Errorf("%d of %d requests record a backoff; all but each worker's first should", backedOff, len(c.recs))
	}
	t.Logf("%d requests in 1.5 s", len(c.recs))
}
