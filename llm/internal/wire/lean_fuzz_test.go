package wire

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// FuzzLeanMatchesStd: whatever bytes a server answers with, the lean
// client reads the same status and body as net/http's Transport, or
// fails where it fails. The response parser is net/http's in both; this
// holds the lean client's own parts (1xx, keep-alive, body ends) to it.
func FuzzLeanMatchesStd(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
		"HTTP/1.0 200 OK\r\n\r\nold",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nslow",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"garbage",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		if len(resp) > 4096 {
			return
		}
		std, err := NewClient(1, ClientStd)
		if err != nil {
			t.Fatal(err)
		}
		lean, _ := NewClient(1, ClientAuto)
		ss, sb, serr := fetchRaw(t, std, resp)
		ls, lb, lerr := fetchRaw(t, lean, resp)
		if (serr == nil) != (lerr == nil) || ss != ls || !bytes.Equal(sb, lb) {
			t.Errorf("response %q:\nstd  %d %q %v\nlean %d %q %v", resp, ss, sb, serr, ls, lb, lerr)
		}
	})
}

// fetchRaw sends one request to a server that answers every connection
// with resp and closes it, and reads the whole response.
func fetchRaw(t *testing.T, c *http.Client, resp []byte) (int, []byte, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if readRequest(bufio.NewReader(conn)) {
					conn.Write(resp)
				}
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	r, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}
