package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSocketReadMatchesConnRead holds the lean client's raw socket read
// to net.Conn's Read: the same bytes, io.EOF, and errors of the same
// type, text and identity (errors.Is) at a reset, a deadline and a Close
// while the read waits.
func TestSocketReadMatchesConnRead(t *testing.T) {
	cases := []struct {
		name   string
		serve  func(c *net.TCPConn)        // the server's side
		client func(c net.Conn)            // done to the client's side before reading
		check  func(t *testing.T, e error) // the read's error
	}{
		{name: "data then close", serve: func(c *net.TCPConn) { io.WriteString(c, "hello"); c.Close() }},
		{name: "reset", serve: func(c *net.TCPConn) { c.SetLinger(0); c.Close() },
			check: func(t *testing.T, e error) {
				if !errors.Is(e, syscall.ECONNRESET) {
					t.Errorf("not ECONNRESET: %v", e)
				}
			}},
		{name: "deadline", serve: func(*net.TCPConn) {},
			client: func(c net.Conn) { c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) },
			check: func(t *testing.T, e error) {
				var ne net.Error
				if !errors.Is(e, os.ErrDeadlineExceeded) || !errors.As(e, &ne) || !ne.Timeout() {
					t.Errorf("not a deadline timeout: %v", e)
				}
			}},
		{name: "close while waiting", serve: func(*net.TCPConn) {},
			client: func(c net.Conn) { time.AfterFunc(20*time.Millisecond, func() { c.Close() }) },
			check: func(t *testing.T, e error) {
				if !errors.Is(e, net.ErrClosed) {
					t.Errorf("not net.ErrClosed: %v", e)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release) // before rawServer's cleanup waits for it
			addr := strings.TrimPrefix(rawServer(t, func(_ int, c net.Conn, _ *bufio.Reader) {
				// Served once the client is connected and has written
				// (a reset sooner could fail the dial).
				io.ReadFull(c, make([]byte, 1))
				tc.serve(c.(*net.TCPConn))
				<-release
			}), "http://")
			// The same reads through net.Conn and through a lean
			// connection; each gives its bytes and its last error.
			read := func(c net.Conn, r func([]byte) (int, error)) (data string, last error, text string) {
				io.WriteString(c, "x")
				if tc.client != nil {
					tc.client(c)
				}
				var got strings.Builder
				buf := make([]byte, 3) // smaller than "hello": two reads
				if n, err := r(buf[:0]); n != 0 || err != nil {
					t.Errorf("empty read: %d, %v", n, err)
				}
				for {
					n, err := r(buf)
					got.Write(buf[:n])
					if err != nil {
						// Addresses differ between the two connections.
						text := strings.NewReplacer(c.LocalAddr().String(), "LOCAL", c.RemoteAddr().String(), "REMOTE").Replace(err.Error())
						return got.String(), err, text
					}
				}
			}
			std, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer std.Close()
			wantData, wantErr, wantText := read(std, std.Read)
			lc, err := newLeanTransport(1).dial(context.Background(), addr)
			if err != nil {
				t.Fatal(err)
			}
			defer lc.conn.Close()
			gotData, gotErr, gotText := read(lc.conn, lc.Read)
			if gotData != wantData || gotText != wantText || fmt.Sprintf("%T", gotErr) != fmt.Sprintf("%T", wantErr) {
				t.Errorf("lean read %q, %T %s; net.Conn read %q, %T %s", gotData, gotErr, gotText, wantData, wantErr, wantText)
			}
			if lc.got != int64(len(gotData)) {
				t.Errorf("counted %d bytes, read %d", lc.got, len(gotData))
			}
			if tc.check != nil {
				tc.check(t, wantErr)
				tc.check(t, gotErr)
			} else if gotErr != io.EOF {
				t.Errorf("got %v, want io.EOF", gotErr)
			}
		})
	}
}

// BenchmarkPacedStreams is the client's CPU per chunk when chunks come
// as a model server sends them, one token at a time with gaps between
// (20 ms apart on each of 100 streams, as a model decoding at 50
// tokens/s sends them), so that the process goes idle between
// chunks: the lean client reading with raw system calls (read=raw) and
// with net.Conn's Read (read=conn). The server is this test binary run
// again as its own process (TestPacedServerProcess), so the CPU time per
// chunk is the client's alone.
func BenchmarkPacedStreams(b *testing.B) {
	const streams, chunks = 100, 32
	cmd := exec.Command(os.Args[0], "-test.run=^TestPacedServerProcess$")
	cmd.Env = append(os.Environ(), "LLMLOAD_PACED_SERVER="+strconv.Itoa(chunks))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	in, err := cmd.StdinPipe() // the server ends when this closes
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	url = strings.TrimSpace(url)
	for _, raw := range []bool{true, false} {
		name := map[bool]string{true: "read=raw", false: "read=conn"}[raw]
		b.Run(name, func(b *testing.B) {
			rawReads = raw
			defer func() { rawReads = true }()
			c, err := NewClient(streams, ClientAuto)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			cpu0 := processCPU()
			for b.Loop() {
				var wg sync.WaitGroup
				for range streams {
					wg.Go(func() {
						if n := streamOnce(b, context.Background(), c, url); n != 2*chunks {
							b.Errorf("%d lines", n)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/(streams*chunks), "cpu-ns/chunk")
		})
	}
}

// TestPacedServerProcess is BenchmarkPacedStreams's server when run by
// it; otherwise it does nothing. It prints its URL and serves streams of
// LLMLOAD_PACED_SERVER chunks, 20 ms apart, until its stdin closes.
func TestPacedServerProcess(t *testing.T) {
	chunks, _ := strconv.Atoi(os.Getenv("LLMLOAD_PACED_SERVER"))
	if chunks == 0 {
		t.Skip("run by BenchmarkPacedStreams")
	}
	srv := chunkServer(chunks, 20*time.Millisecond)
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}

// TestWaitingStreamsHoldNoBuffer: a stream waiting for its next token
// holds no read buffer (leanConn.await gives it back before the wait and
// takes one when the socket has something), and the stream still reads
// every line after the wait.
func TestWaitingStreamsHoldNoBuffer(t *testing.T) {
	const streams = 64
	var held atomic.Int64
	testHookBuffer = func(d int) { held.Add(int64(d)) }
	defer func() { testHookBuffer = nil }()

	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: 2\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	c, _ := leanClient(t)

	var started, done sync.WaitGroup
	started.Add(streams)
	lines := make([][]string, streams)
	for i := range streams {
		done.Go(func() {
			resp, err := post(t, context.Background(), c, srv.URL, "{}", nil)
			if err != nil {
				started.Done()
				t.Error(err)
				return
			}
			var body Body
			body.Init(context.Background(), resp.Body, resp.StatusCode, 1<<20, "too long")
			defer body.Close()
			for {
				line, err := body.ReadLine()
				if err != nil {
					break
				}
				if len(line) > 0 {
					lines[i] = append(lines[i], string(line))
				}
				if len(lines[i]) == 1 && len(line) == 0 {
					started.Done() // the next ReadLine waits for the second token
				}
			}
			body.Done()
		})
	}
	started.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for held.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := held.Load(); n > 0 {
		t.Errorf("%d streams waiting for their next token hold %d read buffers; want none", streams, n)
	}
	close(release)
	done.Wait()
	for i, l := range lines {
		if strings.Join(l, "|") != "data: 1|data: 2|data: [DONE]" {
			t.Fatalf("stream %d read %q", i, l)
		}
	}
	if n := held.Load(); n != 0 {
		t.Errorf("%d read buffers held after every stream ended; want 0", n)
	}
}
