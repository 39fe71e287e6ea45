package sim

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// CloseAfterResponse answers the first request on a connection without
// "Connection: close", then reads a second one sent on it but answers
// nothing: the connection closes before any response byte, as
// llama-server's do.
func TestCloseAfterResponse(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	CloseAfterResponse(ts.Config, 50*time.Millisecond)
	ts.Start()
	defer ts.Close()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	get := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	io.WriteString(c, get)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello" || resp.Close || resp.Header.Get("Connection") != "" {
		t.Fatalf("first response: body %q, close %v, Connection %q", body, resp.Close, resp.Header.Get("Connection"))
	}
	start := time.Now()
	io.WriteString(c, get) // on a connection the server is done with
	if b, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("second request: read %q, %v; want EOF before any response byte", b, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("closed after %s, want about 50ms", el)
	}
}
