package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func leanClient(t *testing.T) (*http.Client, *leanTransport) {
	t.Helper()
	c, err := NewClient(4, ClientAuto)
	if err != nil {
		t.Fatal(err)
	}
	lt := c.Transport.(*autoTransport).lean
	t.Cleanup(lt.CloseIdleConnections)
	return c, lt
}

// connCount counts connections through httptrace, as load/conntrace.go
// does.
type connCount struct {
	mu           sync.Mutex
	got, reused  int
	dials, first int
}

func (cc *connCount) String() string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return fmt.Sprintf("got %d, reused %d, dials %d, first bytes %d", cc.got, cc.reused, cc.dials, cc.first)
}

func (cc *connCount) ctx(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			cc.mu.Lock()
			cc.got++
			if i.Reused {
				cc.reused++
			}
			cc.mu.Unlock()
		},
		ConnectDone:          func(string, string, error) { cc.mu.Lock(); cc.dials++; cc.mu.Unlock() },
		GotFirstResponseByte: func() { cc.mu.Lock(); cc.first++; cc.mu.Unlock() },
	})
}

func post(t *testing.T, ctx context.Context, c *http.Client, url, body string, hdr map[string]string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	SetHeaders(req, "text/event-stream", "", hdr)
	MarkReplayable(req)
	return c.Do(req)
}

// lineBody reads resp's body line by line (lines up to 1 MiB), as the
// providers do.
func lineBody(ctx context.Context, resp *http.Response) *Body {
	b := new(Body)
	b.Init(ctx, resp.Body, resp.StatusCode, 1<<20, "too long")
	return b
}

// TestLeanStreamsAndReuses: a chunked stream written chunk by chunk comes
// through whole, headers and body as sent; the second request reuses the
// connection; the request carries Host, custom headers and no
// Accept-Encoding.
func TestLeanStreamsAndReuses(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.Store(r.Host + "|" + r.Header.Get("X-Custom") + "|" + r.Header.Get("Accept-Encoding") + "|" + string(b))
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 {
			io.WriteString(w, "data: "+strings.Repeat("x", i)+"\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	c, _ := leanClient(t)
	var cc connCount
	for i := range 3 {
		resp, err := post(t, cc.ctx(t.Context()), c, srv.URL+"/v1/x", `{"a":1}`, map[string]string{"X-Custom": "yes", "Host": "example.test"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "data: \n\ndata: x\n\ndata: xx\n\ndata: xxx\n\ndata: xxxx\n\n"
		if err != nil || string(b) != want || resp.Header.Get("content-type") != "text/event-stream" {
			t.Fatalf("request %d: %q, %v, %v", i, b, err, resp.Header)
		}
	}
	if s := seen.Load().(string); s != `example.test|yes||{"a":1}` {
		t.Errorf("server saw %q", s)
	}
	if cc.got != 3 || cc.reused != 2 || cc.dials != 1 || cc.first != 3 {
		t.Errorf("connections %s; want 3, 2 reused, 1 dial, 3 first bytes", cc.String())
	}
}

// rawServer serves each connection with handle on a loopback listener.
func rawServer(t *testing.T, handle func(n int, c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(n, c, bufio.NewReader(c))
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// readRequest reads one request and its body; false at the end of the
// connection.
func readRequest(r *bufio.Reader) bool {
	req, err := http.ReadRequest(r)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, req.Body)
	return true
}

// TestLeanOddButLegalHTTP: 1xx responses, lower-case headers, chunk
// extensions, trailers, chunks split across reads, and a body ended by
// the connection's close all read as net/http reads them.
func TestLeanOddButLegalHTTP(t *testing.T) {
	cases := []struct {
		name  string
		parts []string // written one by one, with a pause between
		want  string
		keep  bool // the connection may be reused
	}{
		{"chunked with extensions and trailer", []string{
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n",
			"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
			"7;name=value\r\ndata: a\r\n", "8\r\n\ndata: b\r", "\n", "4\r\n\n\nda\r\n", "c", "\r\nta: [DONE]", "\n\n\r\n",
			"0\r\nX-Trailer: t\r\n\r\n"}, "data: a\ndata: b\n\ndata: [DONE]\n\n", true},
		{"content-length", []string{"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 12\r\n\r\ndata: ", "hi\n\n\n\n"}, "data: hi\n\n\n\n", true},
		{"close-delimited", []string{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: one\n\n", "data: two\n\n"}, "data: one\n\ndata: two\n\n", false},
		{"HTTP/1.0", []string{"HTTP/1.0 200 OK\r\n\r\nold\n"}, "old\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := scriptedServer(t, tc.parts, tc.keep)
			c, _ := leanClient(t)
			var cc connCount
			for i := range 2 {
				resp, err := post(t, cc.ctx(t.Context()), c, url, "{}", nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != tc.want || resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d, %q, %v; want %q", i, resp.StatusCode, b, err, tc.want)
				}
			}
			if wantReused := map[bool]int{true: 1, false: 0}[tc.keep]; cc.reused != wantReused || cc.got != 2 {
				t.Errorf("connections %s; want %d reused of 2", cc.String(), wantReused)
			}
		})
	}
}

// TestLeanNoBodyFreesConnection: a response without a body (204) needs
// no read or Close to give its connection back.
func TestLeanNoBodyFreesConnection(t *testing.T) {
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		for readRequest(r) {
			io.WriteString(c, "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
		}
	})
	c, _ := leanClient(t)
	var cc connCount
	for range 3 {
		resp, err := post(t, cc.ctx(t.Context()), c, url, "{}", nil)
		if err != nil || resp.StatusCode != http.StatusNoContent || resp.Header.Get("x-a") != "1" {
			t.Fatalf("%v, %v", resp, err)
		}
	}
	if cc.dials != 1 || cc.reused != 2 {
		t.Errorf("connections %s; want 1 dial, 2 reused", cc.String())
	}
}

// TestLeanReplaysOnceOnAClosedKeepAlive: a server that reads the request
// on a kept-alive connection and closes it without a byte of response
// costs a replay on a new connection, not an error; a request the server
// fails that way on a new connection is an error.
func TestLeanReplaysOnceOnAClosedKeepAlive(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		// The first connection answers once, then drops the next request
		// unanswered; every later connection answers everything.
		for i := 0; readRequest(r); i++ {
			if n == 0 && i == 1 {
				return
			}
			io.WriteString(c, ok)
		}
	})
	c, _ := leanClient(t)
	var cc connCount
	for i := range 2 {
		resp, err := post(t, cc.ctx(t.Context()), c, url, "{}", nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	if cc.got != 3 || cc.dials != 2 || cc.reused != 1 {
		t.Errorf("connections %s; want 3 (one a replay), 2 dials", cc.String())
	}

	// Not replayable (no GetBody, no idempotency key): an error.
	c2, _ := leanClient(t)
	url2 := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		for i := 0; readRequest(r); i++ {
			if i == 1 {
				return
			}
			io.WriteString(c, ok)
		}
	})
	for i := range 2 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url2, io.NopCloser(strings.NewReader("{}")))
		req.ContentLength = 2
		resp, err := c2.Do(req)
		if i == 0 {
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Error("a non-replayable request dropped by the server succeeded")
		}
	}
}

// TestLeanDropsClosedIdleConnections: an idle connection the server
// closed is not used again (no replay needed).
func TestLeanDropsClosedIdleConnections(t *testing.T) {
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		if readRequest(r) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c, lt := leanClient(t)
	var cc connCount
	for range 3 {
		resp, err := post(t, cc.ctx(t.Context()), c, url, "{}", nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		// Wait until the server's close reached the idle connection.
		for j := 0; j < 500; j++ {
			lt.mu.Lock()
			l := lt.idle[strings.TrimPrefix(url, "http://")]
			dead := len(l) == 1 && !peekAlive(l[0].raw)
			lt.mu.Unlock()
			if dead {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	if cc.got != 3 || cc.dials != 3 || cc.reused != 0 {
		t.Errorf("connections %s; want 3 fresh", cc.String())
	}
}

// TestLeanCancelEndsWaits: canceling the context ends a wait for the
// response head and a wait for the next body byte, with the context's
// error.
func TestLeanCancelEndsWaits(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		if !readRequest(r) {
			return
		}
		if n == 1 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
		}
		<-release
	})
	c, _ := leanClient(t)
	for _, mid := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			resp, err := post(t, ctx, c, url, "{}", nil)
			if err == nil {
				var b [3]byte
				io.ReadFull(resp.Body, b[:])
				_, err = resp.Body.Read(b[:])
				resp.Body.Close()
			}
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("mid-body %v: %v, want context.Canceled", mid, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("mid-body %v: cancel did not end the wait", mid)
		}
	}
}

// TestLeanBodyClosedEarlyClosesConnection: a body closed before its end
// does not return its connection to the pool.
func TestLeanBodyClosedEarlyClosesConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 100<<10))
	}))
	defer srv.Close()
	c, _ := leanClient(t)
	var cc connCount
	for range 2 {
		resp, err := post(t, cc.ctx(t.Context()), c, srv.URL, "{}", nil)
		if err != nil {
			t.Fatal(err)
		}
		var b [10]byte
		io.ReadFull(resp.Body, b[:])
		resp.Body.Close()
	}
	if cc.dials != 2 || cc.reused != 0 {
		t.Errorf("connections %s; want 2 fresh", cc.String())
	}
}

// TestAutoUsesStdForHTTPSAndProxies: https and proxied requests go
// through net/http.
func TestAutoUsesStdForHTTPSAndProxies(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	defer srv.Close()
	c, _ := leanClient(t)
	at := c.Transport.(*autoTransport)
	at.std.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := post(t, t.Context(), c, srv.URL, "{}", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/1.1" && string(b) != "HTTP/2.0" {
		t.Errorf("https: %q", b)
	}
	// A proxy that applies: net/http's transport sends through it.
	var proxied atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Store(r.URL.IsAbs())
		io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	at.std.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(proxy.URL) }
	resp, err = post(t, t.Context(), c, "http://example.invalid/v1", "{}", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "via proxy" || !proxied.Load() {
		t.Errorf("proxied request: %q", b)
	}
}

// scriptedServer answers each request on a connection with parts, written
// 2 ms apart; keep says the connection then serves the next request, else
// it is closed.
func scriptedServer(t *testing.T, parts []string, keep bool) string {
	return rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		for readRequest(r) {
			for _, p := range parts {
				io.WriteString(c, p)
				time.Sleep(2 * time.Millisecond)
			}
			if !keep {
				return
			}
		}
	})
}
