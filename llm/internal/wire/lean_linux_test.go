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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/llmload/llmload/internal/childproc"
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
// chunks: the lean client reading with raw recvmsg calls that take the
// kernel's receive timestamps (read=raw), with raw reads and no
// timestamps (read=raw-unstamped), and with net.Conn's Read (read=conn,
// no timestamps). The server is this test binary run
// again as its own process (TestPacedServerProcess), so the CPU time per
// chunk is the client's alone.
func BenchmarkPacedStreams(b *testing.B) {
	const streams, chunks = 100, 32
	url := childproc.Serve(b, "TestPacedServerProcess", "LLMLOAD_PACED_SERVER="+strconv.Itoa(chunks))
	for _, m := range []struct {
		name        string
		raw, stamps bool
	}{{"read=raw", true, true}, {"read=raw-unstamped", true, false}, {"read=conn", false, false}} {
		b.Run(m.name, func(b *testing.B) {
			rawReads, kernelStamps = m.raw, m.stamps
			defer func() { rawReads, kernelStamps = true, true }()
			c, err := NewClient(streams, ClientAuto)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			cpu0 := childproc.CPU()
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
			b.ReportMetric(float64(childproc.CPU()-cpu0)/float64(b.N)/(streams*chunks), "cpu-ns/chunk")
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
			body := lineBody(context.Background(), resp)
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

// TestReceivedIsTheKernelsTime: a line read long after it arrived carries
// the kernel's receive time, not the read's; the time of each line is
// that of the read that completed it, and a connection without
// timestamps reports none.
func TestReceivedIsTheKernelsTime(t *testing.T) {
	// The server reports the interval around its write: the kernel's
	// stamp lies inside it, however late the server's goroutine runs
	// after the write(2) returns (a busy machine, the race detector).
	type interval struct{ before, after time.Time }
	wrote := make(chan interval, 4)
	next := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for _, ev := range []string{"data: 1\n\n", "data: 2\n\n"} {
			<-next
			before := time.Now()
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
			wrote <- interval{before, time.Now()}
		}
	}))
	defer srv.Close()
	holdStamping(t)
	for _, stamps := range []bool{true, false} {
		t.Run(fmt.Sprintf("stamps=%v", stamps), func(t *testing.T) {
			kernelStamps = stamps
			defer func() { kernelStamps = true }()
			c, _ := leanClient(t)
			resp, err := post(t, context.Background(), c, srv.URL, "{}", nil)
			if err != nil {
				t.Fatal(err)
			}
			body := lineBody(context.Background(), resp)
			defer body.Close()
			for i := range 2 {
				next <- struct{}{}
				w := <-wrote
				time.Sleep(50 * time.Millisecond) // the client reads late
				line, err := body.ReadLine()
				read := time.Now()
				if err != nil || string(line) != fmt.Sprintf("data: %d", i+1) {
					t.Fatalf("line %d: %q, %v", i+1, line, err)
				}
				got := body.Received(read)
				if !stamps {
					if !got.IsZero() {
						t.Fatalf("received %v without timestamps", got)
					}
					body.ReadLine() // the blank line
					continue
				}
				// The kernel stamped the data while the server wrote it
				// (loopback delivers within the write), 50 ms before the read.
				// The 1 ms either side is for the two clocks' conversion.
				if got.Before(w.before.Add(-time.Millisecond)) || got.After(w.after.Add(time.Millisecond)) {
					t.Errorf("line %d received %v after the server began its write, which took %v; want within it",
						i+1, got.Sub(w.before), w.after.Sub(w.before))
				}
				if lag := read.Sub(got); lag < 45*time.Millisecond {
					t.Errorf("line %d: read %v after it was received; want about 50 ms", i+1, lag)
				}
				body.ReadLine() // the blank line, from the same read
				if again := body.Received(read); again.Sub(got).Abs() > time.Microsecond {
					t.Errorf("line %d: the blank line of the same read has another time", i+1)
				}
			}
		})
	}
}

// stampTime places a wall-clock stamp at now less the wall-clock time
// since it, and gives none for 0 or a stamp after now.
func TestStampTime(t *testing.T) {
	now := time.Now()
	if got := stampTime(now.Add(-3*time.Millisecond).UnixNano(), now); now.Sub(got) != 3*time.Millisecond {
		t.Errorf("stamp 3 ms ago: %v before now", now.Sub(got))
	}
	for _, rx := range []int64{0, now.Add(time.Second).UnixNano()} {
		if got := stampTime(rx, now); !got.IsZero() {
			t.Errorf("stampTime(%d) = %v; want none (unknown or after now)", rx, got)
		}
	}
}

// holdStamping keeps the kernel timestamping received packets for the
// rest of the test. The kernel turns it on when a first socket asks and
// off when the last one closes, both a moment later (a deferred static
// key), so a test's first packets may come without a time: a UDP socket
// with SO_TIMESTAMPNS, which sends itself datagrams until one comes back
// stamped, holds it on.
func holdStamping(t *testing.T) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	uc := pc.(*net.UDPConn)
	raw, _ := uc.SyscallConn()
	var serr error
	raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if serr != nil {
		t.Skipf("SO_TIMESTAMPNS: %v", serr)
	}
	oob := make([]byte, 64)
	for range 200 {
		uc.WriteTo([]byte("x"), uc.LocalAddr())
		uc.SetReadDeadline(time.Now().Add(time.Second))
		var b [1]byte
		_, n, _, _, err := uc.ReadMsgUDP(b[:], oob)
		if err != nil {
			t.Fatal(err)
		}
		if parseStamp(oob[:n]) != 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Skip("the kernel does not timestamp received packets here")
}
