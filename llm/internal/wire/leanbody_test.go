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
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
)

// postLines posts "{}" to url with the lean client c, counting its
// connections in cc, and returns the response and a Body reading its
// lines (at most 1 KiB each).
func postLines(t *testing.T, c *http.Client, cc *connCount, url string) (*http.Response, *Body) {
	t.Helper()
	resp, err := post(t, cc.ctx(t.Context()), c, url, "{}", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := new(Body)
	b.Init(t.Context(), resp.Body, resp.StatusCode, 1<<10, "too long")
	return resp, b
}

// readLines reads a lean response's body line by line through Body, as
// the providers do, checking that it reads them from the connection's
// buffer (no bufio.Reader of its own); it returns the lines and the
// error that ended them (nil at io.EOF). With wait, each line is waited
// for with WaitData first, as the runner does.
func readLines(t *testing.T, b *Body, wait bool) ([]string, error) {
	t.Helper()
	if b.lines == nil {
		t.Fatalf("the body (%T) does not read lines itself", b.body)
	}
	var lines []string
	for {
		if wait {
			waitData(t, b)
		}
		line, err := b.ReadLine()
		if b.r != nil {
			t.Fatal("Body allocated a bufio.Reader for a lean body")
		}
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, string(line))
	}
}

// waitData is b.WaitData, failing the test if it waits more than 10 s
// (every server here sends what the body reads within milliseconds).
func waitData(t *testing.T, b *Body) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		b.WaitData()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.Close() // ends the wait, so that the servers' cleanup can end too
		t.Fatal("WaitData waited for bytes the body does not need")
	}
}

// TestLeanLines: lines read straight from the connection's buffer come
// out as sent however the server frames and writes them (each part below
// is a TCP write of its own, with a pause), and the connection is reused
// after a body read to its end unless the server closes it; the same
// when each line is waited for first (WaitData), which must not wait
// past a body's end for bytes it does not need (Content-Length on a
// connection kept alive).
func TestLeanLines(t *testing.T) {
	const chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct {
		name  string
		parts []string
		want  []string
		keep  bool
	}{
		{"a line split across two chunks and two writes", []string{chunked + "6\r\ndata: ", "\r\n", "a\r\n{\"a\":1}\n\n[\r\n", "0\r\n\r\n"},
			[]string{`data: {"a":1}`, "", "["}, true},
		{"many lines in one chunk", []string{chunked + "1d\r\ndata: 1\n\ndata: 2\r\n\r\ndata: 3\n\n\r\n0\r\n\r\n"},
			[]string{"data: 1", "", "data: 2", "", "data: 3", ""}, true},
		{"CR and LF in two chunks", []string{chunked + "8\r\ndata: a\r\r\n", "2\r\n\n\n\r\n", "7\r\ndata: b\r\n", "3\r\n\r\n\n\r\n0\r\n\r\n"},
			[]string{"data: a", "", "data: b", ""}, true},
		{"chunk extensions", []string{chunked + "4;name=value\r\nab\r\n\r\n3;a=\"b;c\" \r\ncd\n\r\n0;last\r\n\r\n"},
			[]string{"ab", "cd"}, true},
		{"a trailer", []string{chunked + "3\r\nab\n\r\n0\r\nX-Trailer: t\r\nX-Other: u\r\n", "\r\n"},
			[]string{"ab"}, true},
		{"a last line without LF", []string{chunked + "4\r\nab\nc\r\n", "1\r\nd\r\n0\r\n\r\n"},
			[]string{"ab", "cd"}, true},
		{"content-length", []string{"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\ndata: ", "x\n\nyz\n"},
			[]string{"data: x", "", "yz"}, true},
		{"close-delimited", []string{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: one\n", "\ndata: two\n\n"},
			[]string{"data: one", "", "data: two", ""}, false},
		{"chunked with Connection: close", []string{"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab\n\r\n0\r\n\r\n"},
			[]string{"ab"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := scriptedServer(t, tc.parts, tc.keep)
			c, _ := leanClient(t)
			var cc connCount
			for i := range 4 {
				resp, b := postLines(t, c, &cc, url)
				lines, err := readLines(t, b, i >= 2)
				b.Close()
				if err != nil || !slices.Equal(lines, tc.want) {
					t.Fatalf("request %d (waiting first: %v): %q, %v; want %q", i, i >= 2, lines, err, tc.want)
				}
				if strings.Contains(tc.name, "trailer") && (resp.Trailer.Get("X-Trailer") != "t" || resp.Trailer.Get("X-Other") != "u") {
					t.Errorf("trailer %v", resp.Trailer)
				}
			}
			if wantReused := map[bool]int{true: 3, false: 0}[tc.keep]; cc.reused != wantReused || cc.got != 4 {
				t.Errorf("connections %s; want %d reused of 4", cc.String(), wantReused)
			}
		})
	}
}

// TestLeanLineTooLong: a line longer than the limit is a malformed
// stream with the caller's message, whether it lies in one chunk or
// spans several, and a line of exactly the limit is not.
func TestLeanLineTooLong(t *testing.T) {
	long := strings.Repeat("x", 100)
	cases := []struct {
		name  string
		parts []string
		fail  bool
	}{
		{"in one chunk", []string{"65\r\n" + long + "x\n\r\n0\r\n\r\n"}, true},
		{"across chunks", []string{"32\r\n" + long[:50] + "\r\n", "33\r\n" + long[:50] + "y\n\r\n0\r\n\r\n"}, true},
		{"across chunks, unending", []string{"32\r\n" + long[:50] + "\r\n", "32\r\n" + long[:50] + "\r\n", "1\r\nz\r\n"}, true},
		{"at the limit", []string{"32\r\n" + long[:50] + "\r\n", "33\r\n" + long[:50] + "\n\r\n0\r\n\r\n"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
				if readRequest(r) {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
					for _, p := range tc.parts {
						io.WriteString(c, p)
						time.Sleep(2 * time.Millisecond)
					}
					r.ReadByte() // hold the connection open
				}
			})
			c, _ := leanClient(t)
			resp, err := post(t, t.Context(), c, url, "{}", nil)
			if err != nil {
				t.Fatal(err)
			}
			var b Body
			b.Init(t.Context(), resp.Body, resp.StatusCode, 100, "SSE line too long")
			defer b.Close()
			lines, err := readLines(t, &b, false)
			var le *llm.Error
			if !tc.fail {
				if err != nil || len(lines) != 1 || len(lines[0]) != 100 {
					t.Fatalf("%d lines, %v; want one of 100 bytes", len(lines), err)
				}
				return
			}
			if !errors.As(err, &le) || le.Kind != llm.KindMalformedStream || le.Message != "SSE line too long" || le.Status != 200 || len(lines) != 0 {
				t.Fatalf("%q, %v; want a malformed stream", lines, err)
			}
		})
	}
}

// TestLeanLinesDrainAndAbort: Close after Done drains what is left (the
// last chunk, the trailer) so the connection is reused; Close before the
// end, from another goroutine while a read waits, ends the read as a
// closed stream and closes the connection; a canceled context or a
// passed deadline ends a waiting read with the context's error, which
// ReadError classifies as canceled or timed out.
func TestLeanLinesDrainAndAbort(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var requests atomic.Int32
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		for readRequest(r) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\ndata: [DONE]\n\n\r\n\r\n")
			if requests.Add(1) > 2 {
				<-release // the next chunk never comes
				return
			}
			time.Sleep(2 * time.Millisecond)
			io.WriteString(c, "0\r\nX-T: 1\r\n\r\n")
		}
	})
	c, lt := leanClient(t)
	var cc connCount
	// Done, then Close: the trailer is drained and the connection reused.
	for i := range 2 {
		_, b := postLines(t, c, &cc, url)
		for range 2 {
			if _, err := b.ReadLine(); err != nil {
				t.Fatal(err)
			}
		}
		b.Done()
		b.Close()
		if i == 1 && (cc.reused != 1 || cc.dials != 1) {
			t.Fatalf("connections %s; want the second reused", cc.String())
		}
	}
	// Ends while a read waits on the socket, or while WaitData does.
	for _, name := range []string{"close", "cancel", "deadline", "close, waiting first", "cancel, waiting first", "deadline, waiting first"} {
		how, waitFirst := strings.CutSuffix(name, ", waiting first")
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if how == "deadline" {
				ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
			}
			resp, err := post(t, ctx, c, url, "{}", nil)
			if err != nil {
				t.Fatal(err)
			}
			var b Body
			b.Init(ctx, resp.Body, resp.StatusCode, 1<<10, "too long")
			defer b.Close()
			done := make(chan error, 1)
			go func() {
				var err error
				for err == nil {
					if waitFirst {
						b.WaitData()
					}
					_, err = b.ReadLine()
				}
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			switch how {
			case "close":
				b.Close()
			case "cancel":
				cancel()
			}
			var err2 error
			select {
			case err2 = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the read did not end")
			}
			le := b.ReadError(err2).(*llm.Error)
			want := map[string]llm.ErrorKind{"close": llm.KindCanceled, "cancel": llm.KindCanceled, "deadline": llm.KindTimeout}[how]
			if le.Kind != want {
				t.Errorf("%v classified %v; want %v", err2, le.Kind, want)
			}
			if how == "cancel" && !errors.Is(err2, context.Canceled) || how == "deadline" && !errors.Is(err2, context.DeadlineExceeded) {
				t.Errorf("read error %v; want the context's", err2)
			}
			if _, err := b.ReadLine(); err == nil || err == io.EOF {
				t.Errorf("a read after the abort: %v", err)
			}
			b.Close()
			lt.mu.Lock()
			idle := len(lt.idle[strings.TrimPrefix(url, "http://")])
			lt.mu.Unlock()
			if idle != 0 {
				t.Errorf("%d connections in the pool after an aborted stream", idle)
			}
		})
	}
}

// TestLeanLargeBodies: bodies far larger than the connection's buffer,
// read with large reads (which go from the socket straight into the
// caller's buffer) and small ones, come through whole, in big chunks, a
// Content-Length and the connection's close, and a Content-Length body
// cut short fails.
func TestLeanLargeBodies(t *testing.T) {
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	var chunked strings.Builder
	chunked.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
	for rest := big; len(rest) > 0; {
		n := min(len(rest), 100<<10)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	chunked.WriteString("0\r\n\r\n")
	cases := []struct {
		name, resp string
		fail       bool
	}{
		{"chunked", chunked.String(), false},
		{"content-length", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big), false},
		{"close-delimited", fmt.Sprintf("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", big), false},
		{"content-length cut short", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big)+1, big), true},
	}
	for _, tc := range cases {
		for _, size := range []int{100, 64 << 10} {
			t.Run(fmt.Sprintf("%s/read=%d", tc.name, size), func(t *testing.T) {
				url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
					if readRequest(r) {
						io.WriteString(c, tc.resp)
					}
				})
				c, _ := leanClient(t)
				resp, err := post(t, t.Context(), c, url, "{}", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var got bytes.Buffer
				p := make([]byte, size)
				for {
					n, err := resp.Body.Read(p)
					got.Write(p[:n])
					if err == io.EOF {
						break
					}
					if err != nil {
						if !tc.fail || !errors.Is(err, io.ErrUnexpectedEOF) {
							t.Fatalf("after %d bytes: %v", got.Len(), err)
						}
						break
					}
				}
				if !bytes.Equal(got.Bytes(), big) {
					t.Errorf("read %d bytes, not the %d sent", got.Len(), len(big))
				}
			})
		}
	}
}

// TestLeanBodyKeepsNoRequest: while a stream is read, its body keeps
// neither the response nor, through it, the request (headers, URL, body):
// both become garbage once Start's caller has the body, as they would
// otherwise stay for the whole stream (docs/performance.md, "Where the
// memory goes"). The trailer still reaches resp.Trailer (TestLeanLines).
func TestLeanBodyKeepsNoRequest(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url := rawServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		if readRequest(r) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n")
			<-release
		}
	})
	c, _ := leanClient(t)
	freed := make(chan struct{}, 2)
	b := func() *Body { // req and resp are unreachable once it returns
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		MarkReplayable(req)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(req, func(ch chan struct{}) { ch <- struct{}{} }, freed)
		runtime.AddCleanup(resp, func(ch chan struct{}) { ch <- struct{}{} }, freed)
		b := new(Body)
		b.Init(t.Context(), resp.Body, resp.StatusCode, 1<<10, "too long")
		return b
	}()
	if line, err := b.ReadLine(); err != nil || string(line) != "data: a" {
		t.Fatalf("%q, %v", line, err)
	}
	for got, deadline := 0, time.Now().Add(5*time.Second); got < 2; {
		runtime.GC()
		select {
		case <-freed:
			got++
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("%d of the request and response freed while the body is read; want both", got)
			}
		}
	}
	runtime.KeepAlive(b)
	b.Close()
}

// TestWaitDataKeepsTheReadError: when the read WaitData makes fails (here
// the server resets the connection mid-stream), the next ReadLine returns
// that failure, as it would had it made the read itself: a reset, not
// the io.ErrUnexpectedEOF a second read of the reset socket would give.
func TestWaitDataKeepsTheReadError(t *testing.T) {
	url := rawServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		if readRequest(r) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\n\n\r\n")
			time.Sleep(20 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	})
	c, _ := leanClient(t)
	var texts [2]string
	for i, wait := range []bool{false, true} {
		var cc connCount
		_, b := postLines(t, c, &cc, url)
		lines, err := readLines(t, b, wait)
		b.Close()
		if !slices.Equal(lines, []string{"ab", ""}) || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("waiting first %v: %q, %v; want two lines, then a reset", wait, lines, err)
		}
		texts[i] = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(err.Error(), "ADDR") // the client's port differs
	}
	if texts[0] != texts[1] {
		t.Errorf("error %q after WaitData; %q without", texts[1], texts[0])
	}
}
