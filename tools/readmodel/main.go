//go:build linux

// Command readmodel measures the floor of a Go client's CPU per streamed
// event on this machine, for two ways of reading many SSE streams: a
// goroutine per connection reading through Go's poller (what llmload and
// hey do), and one epoll loop per core over raw non-blocking sockets that
// skips the empty read a goroutine makes before it parks (it stops at a
// read shorter than its buffer). Both only
// count events and find each response's end: no parsing, no timestamps,
// so the difference to llmload is llmload's own work per event.
//
// It talks HTTP/1.1 to `peerbench serve` (docs/performance.md, "Is an
// event loop cheaper?"):
//
//	go run ./tools/peerbench serve -addr 127.0.0.1:18080 -tokens 128 &
//	go run ./tools/readmodel -mode goroutine -n 1000 -rounds 2
//	go run ./tools/readmodel -mode epoll -n 1000 -rounds 2
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const body = `{"model":"gt","messages":[{"role":"user","content":"hello hello hello hello hello hello hello hello"}],"max_tokens":128,"stream":true}`

var request = []byte("POST /v1/chat/completions HTTP/1.1\r\nHost: gt\r\nContent-Type: application/json\r\nContent-Length: " +
	strconv.Itoa(len(body)) + "\r\n\r\n" + body)

var (
	dataPrefix = []byte("data: ")
	// end is how peerbench's chunked responses end: [DONE], then the
	// chunked body's last chunk.
	end = []byte("[DONE]\n\n\r\n0\r\n\r\n")
)

// scanner counts a response's events and finds its end across reads.
type scanner struct {
	events *atomic.Int64
	tail   []byte // the last bytes of the previous read, for an end split between reads
}

// feed takes the bytes of one read and tells whether the response ended.
func (s *scanner) feed(b []byte) bool {
	s.events.Add(int64(bytes.Count(b, dataPrefix)))
	joined := append(s.tail, b...)
	if bytes.Contains(joined, end) {
		s.tail = s.tail[:0]
		return true
	}
	s.tail = append(s.tail[:0], joined[max(0, len(joined)-len(end)):]...)
	return false
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perGoroutine reads each connection in a goroutine of its own.
func perGoroutine(addr string, n, rounds int, events *atomic.Int64) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Go(func() {
			err := func() error {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				defer c.Close()
				buf := make([]byte, 2048)
				s := scanner{events: events}
				for range rounds {
					if _, err := c.Write(request); err != nil {
						return err
					}
					for {
						k, err := c.Read(buf)
						if err != nil {
							return err
						}
						if s.feed(buf[:k]) {
							break
						}
					}
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

type stream struct {
	fd    int
	left  int
	lines scanner
}

// epollLoops reads every connection from one epoll loop per P, over raw
// non-blocking sockets (not registered with Go's poller). A read shorter
// than the buffer drained the socket, and edge-triggered epoll reports the
// next packet, so only a read after one that filled the buffer can find
// the socket empty.
func epollLoops(addr string, n, rounds int, events *atomic.Int64) error {
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	loops := runtime.GOMAXPROCS(0)
	errs := make([]error, loops)
	var wg sync.WaitGroup
	for l := range loops {
		wg.Go(func() { errs[l] = epollLoop(sa, l, loops, n, rounds, events) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func epollLoop(sa *syscall.SockaddrInet4, first, step, n, rounds int, events *atomic.Int64) error {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(ep)
	streams := map[int32]*stream{}
	for i := first; i < n; i += step {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := syscall.Connect(fd, sa); err != nil { // blocking: set-up is not measured apart
			return err
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if err := syscall.SetNonblock(fd, true); err != nil {
			return err
		}
		streams[int32(fd)] = &stream{fd: fd, left: rounds, lines: scanner{events: events}}
		ev := syscall.EpollEvent{Events: uint32(syscall.EPOLLIN) | 1<<31 /* EPOLLET */, Fd: int32(fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
		if _, err := syscall.Write(fd, request); err != nil {
			return err
		}
	}
	buf := make([]byte, 2048)
	ready := make([]syscall.EpollEvent, 128)
	for open := len(streams); open > 0; {
		k, err := syscall.EpollWait(ep, ready, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range ready[:k] {
			s := streams[ev.Fd]
			for s.left > 0 {
				m, err := syscall.Read(s.fd, buf)
				if err == syscall.EAGAIN {
					break
				}
				if err != nil {
					return err
				}
				if m == 0 {
					return fmt.Errorf("connection closed with %d responses left", s.left)
				}
				if s.lines.feed(buf[:m]) {
					if s.left--; s.left == 0 {
						syscall.Close(s.fd)
						open--
						break
					}
					if _, err := syscall.Write(s.fd, request); err != nil {
						return err
					}
				}
				if m < len(buf) {
					break
				}
			}
		}
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "peerbench serve's address")
	n := flag.Int("n", 1000, "concurrent streams")
	rounds := flag.Int("rounds", 2, "requests per stream, one after the other")
	mode := flag.String("mode", "goroutine", "goroutine (one per connection, Go's poller) or epoll (one loop per P, raw sockets)")
	flag.Parse()
	read := map[string]func(string, int, int, *atomic.Int64) error{"goroutine": perGoroutine, "epoll": epollLoops}[*mode]
	if read == nil || *n < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "readmodel: -mode goroutine|epoll, -n and -rounds at least 1")
		os.Exit(2)
	}
	var events atomic.Int64
	c0, t0 := cpu(), time.Now()
	err := read(*addr, *n, *rounds, &events)
	c1, t1 := cpu(), time.Now()
	if err != nil {
		fmt.Fprintln(os.Stderr, "readmodel:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d streams × %d requests, %d events in %.1f s, CPU %.2f s: %.2f µs per event\n",
		*mode, *n, *rounds, events.Load(), t1.Sub(t0).Seconds(), (c1 - c0).Seconds(),
		float64((c1-c0).Nanoseconds())/1e3/float64(max(events.Load(), 1)))
}
