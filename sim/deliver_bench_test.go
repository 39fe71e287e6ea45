package sim

import (
	"io"
	"net/http"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures encoding a content chunk, not the network.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkContentChunk is the simulator's own work per streamed token on
// the OpenAI route: the JSON-free path (plain) against encoding/json
// (json), side by side.
func BenchmarkContentChunk(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w := &discardWriter{h: http.Header{}}
	wr := &responder{s: s, w: w, rc: http.NewResponseController(w), chat: true, id: "chatcmpl-42", created: 1700000000}
	b.Run("path=plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if ok, err := wr.plainToken(word(7, i)); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("path=json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := wr.event(wr.chunkOf(chunkChoice{Delta: &delta{Content: word(7, i)}})); err != nil {
				b.Fatal(err)
			}
		}
	})
}
