package sim

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// CloseAfterResponse makes hs behave like llama-server with keep-alive:
// d after each response ends, the server closes the connection, without
// having sent "Connection: close". A request the client sends on that
// connection in the meantime is read but never answered: the client sees
// the connection close before any response byte (the "Post …: EOF" of a
// stale keep-alive connection). It wraps hs.Handler and sets
// hs.ConnContext, so call it before the server starts. d <= 0 leaves hs
// alone.
func CloseAfterResponse(hs *http.Server, d time.Duration) {
	if d <= 0 {
		return
	}
	inner := hs.Handler
	if inner == nil {
		inner = http.DefaultServeMux
	}
	prev := hs.ConnContext
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		return context.WithValue(ctx, doomKey{}, &doomed{conn: c})
	}
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dm, _ := r.Context().Value(doomKey{}).(*doomed)
		if dm == nil {
			inner.ServeHTTP(w, r)
			return
		}
		if closed := dm.closing(); closed != nil {
			// The server is done with this connection: read the request,
			// answer nothing, and let the close end it.
			io.Copy(io.Discard, r.Body) // ends at the latest when the close comes
			<-closed
			return
		}
		inner.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		dm.doom(d)
	})
}

type doomKey struct{}

// doomed is one connection's close schedule.
type doomed struct {
	conn   net.Conn
	mu     sync.Mutex
	closed chan struct{} // nil until a response ended
}

// closing returns the channel closed when the connection is closed, nil
// while the connection is still served.
func (d *doomed) closing() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed == nil {
		return nil
	}
	return d.closed
}

// doom schedules the close after a response.
func (d *doomed) doom(after time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed != nil {
		return
	}
	ch := make(chan struct{})
	d.closed = ch
	time.AfterFunc(after, func() {
		d.conn.Close()
		close(ch)
	})
}
