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
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzLeanMatchesStd: whatever bytes a server answers with, the lean
// client reads the same status and body as net/http's Transport, or
// fails where it fails. The response head's parser is net/http's in
// both; this holds the lean client's own parts (1xx, keep-alive, the body
// decoder of leanbody.go through Read) to it.
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
	ln := answerEach(t, func(conn net.Conn) { conn.Write(resp) })
	defer ln.Close()
	_, r, cancel, err := getFrom(c, ln)
	defer cancel()
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}

// FuzzLeanLines: Body.ReadLine on a response of the lean client, which
// decodes the framing itself and reads lines straight from the
// connection's buffer (leanBody.readLine), gives the same lines and the
// same end (io.EOF, or a failure with the same message) as on net/http's
// Transport through Body's own bufio.Reader. mode picks the response:
// raw (body is the whole response: arbitrary framing), chunked (body cut
// into chunks of the sizes in sizes, with chunk extensions, a trailer,
// bad chunk ends or a cut connection as mode's bits say),
// Content-Length (short or exact) or close-delimited; the server writes
// it in two parts (split, from sizes) with a pause between when mode
// says so.
func FuzzLeanLines(f *testing.F) {
	for _, s := range []struct {
		mode  uint8
		body  string
		sizes string
		extra string
	}{
		{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\ncd\r\n3;x=y\r\n\r\nx\r\n0\r\nT: 1\r\n\r\n", "", ""},
		{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\r\r\n1\r\n\n\r\n0\r\n\r\n", "", ""},
		{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\ncdx\n0\r\n\r\n", "", ""}, // no CRLF after the data
		{1, "data: one\n\ndata: two\r\n\r\ndata: [DONE]\n\n", "\x03\x07\x01", ""},
		{1 | 8 | 16, "data: {\"a\":1}\n\ndata: [DONE]\n\n", "\x05", "X-T: v\r\n"},
		{1 | 32, "line one\nline two\n", "\x04", "\x03"},
		{1 | 64, strings.Repeat("data: 0123456789abcdef\n\n", 200), "\x40\xff", ""},
		{2, "a\nb\r\nc", "", ""},
		{2 | 32, "a\nbcdef\n", "", "\x02"},
		{3, "x\ny\n\nlast", "", ""},
		{1, strings.Repeat("y", 5000) + "\n" + strings.Repeat("z", 3000), "\xff\x10", ""},
	} {
		f.Add(s.mode, []byte(s.body), []byte(s.sizes), []byte(s.extra))
	}
	f.Fuzz(func(t *testing.T, mode uint8, body, sizes, extra []byte) {
		if len(body) > 16<<10 || len(extra) > 512 || len(sizes) > 256 {
			return
		}
		resp := fuzzResponse(mode, body, sizes, extra)
		var split int
		if mode&64 != 0 && len(sizes) > 0 {
			split = int(sizes[len(sizes)-1]) * len(resp) / 256
		}
		std, err := NewClient(1, ClientStd)
		if err != nil {
			t.Fatal(err)
		}
		lean, _ := NewClient(1, ClientAuto)
		sl, serr := fetchLines(t, std, resp, split, false, false)
		ll, lerr := fetchLines(t, lean, resp, split, true, true)
		if !slices.Equal(sl, ll) || (serr == nil) != (lerr == nil) || (serr != nil && serr.Error() != lerr.Error()) {
			t.Errorf("response %q:\nstd  %q %v\nlean %q %v", resp, sl, serr, ll, lerr)
		}
		// SkipBlank on Body's own bufio.Reader reads the same lines too.
		bl, berr := fetchLines(t, std, resp, split, false, true)
		if !slices.Equal(sl, bl) || fmt.Sprint(serr) != fmt.Sprint(berr) {
			t.Errorf("response %q:\nstd            %q %v\nstd, SkipBlank %q %v", resp, sl, serr, bl, berr)
		}
	})
}

// fuzzResponse builds FuzzLeanLines's response.
func fuzzResponse(mode uint8, body, sizes, extra []byte) []byte {
	var w bytes.Buffer
	switch mode % 4 {
	case 0:
		return body
	case 1:
		w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i, rest := 0, body; len(rest) > 0; i++ {
			n := len(rest)
			if len(sizes) > 0 {
				n = min(n, max(1, int(sizes[i%len(sizes)])))
			}
			fmt.Fprintf(&w, "%x", n)
			if mode&8 != 0 {
				fmt.Fprintf(&w, ";ext%d=\"v\"", i)
			}
			w.WriteString("\r\n")
			w.Write(rest[:n])
			if mode&32 != 0 && i == 1 {
				w.WriteString("\n") // a chunk ending in a bare LF
			} else {
				w.WriteString("\r\n")
			}
			rest = rest[n:]
		}
		w.WriteString("0\r\n")
		if mode&16 != 0 {
			w.Write(extra) // the trailer, well-formed or not
		}
		w.WriteString("\r\n")
		if mode&32 != 0 && len(extra) > 0 && mode&16 == 0 {
			// A connection cut short.
			w.Truncate(max(0, w.Len()-int(extra[0])))
		}
	case 2:
		n := len(body)
		if mode&32 != 0 && len(extra) > 0 {
			n += int(extra[0]) // more than the server sends
		}
		fmt.Fprintf(&w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)
		w.Write(body)
	case 3:
		w.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
		w.Write(body)
	}
	return w.Bytes()
}

// getFrom sends a GET to the server listening on ln, with a 5 s deadline
// (ctx) that cancel ends.
func getFrom(c *http.Client, ln net.Listener) (ctx context.Context, r *http.Response, cancel context.CancelFunc, err error) {
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	r, err = c.Do(req)
	return ctx, r, cancel, err
}

// fetchLines sends one request to a server that answers every connection
// with resp (in two writes, split at split, when 0 < split < len(resp))
// and closes it, and reads the body line by line through Body. lean says
// the client is the lean one, whose body must read lines itself; skip,
// that a blank line after each line is read by SkipBlank when it can be
// (the line read before must stay as it was).
func fetchLines(t *testing.T, c *http.Client, resp []byte, split int, lean, skip bool) ([]string, error) {
	ln := answerEach(t, func(conn net.Conn) {
		if split > 0 && split < len(resp) {
			conn.Write(resp[:split])
			time.Sleep(time.Millisecond)
			conn.Write(resp[split:])
			return
		}
		conn.Write(resp)
	})
	defer ln.Close()
	ctx, r, cancel, err := getFrom(c, ln)
	defer cancel()
	if err != nil {
		// The two clients word a bad response head differently
		// (FuzzLeanMatchesStd compares them).
		return nil, errors.New("no response")
	}
	var b Body
	b.Init(ctx, r.Body, r.StatusCode, 1<<20, "too long")
	defer b.Close()
	if lean && b.lines == nil {
		t.Fatalf("a lean body (%T) does not read lines itself", r.Body)
	}
	lines := []string{fmt.Sprint(r.StatusCode)}
	for {
		line, err := b.ReadLine()
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		kept := string(line)
		lines = append(lines, kept)
		if skip && len(line) > 0 && b.SkipBlank() {
			if string(line) != kept {
				t.Fatalf("SkipBlank changed the line read before: %q, was %q", line, kept)
			}
			lines = append(lines, "")
		}
	}
}

// answerEach listens on 127.0.0.1 and, on every connection, reads one
// request, calls answer and closes the connection. The caller closes the
// listener.
func answerEach(t *testing.T, answer func(net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if readRequest(bufio.NewReader(conn)) {
					answer(conn)
				}
			}()
		}
	}()
	return ln
}
