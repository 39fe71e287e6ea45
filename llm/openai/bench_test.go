package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/llmload/llmload/llm"
)

// vllmBody is a realistic vLLM chat stream of n content chunks: a
// role-only first delta, n one-word deltas, a finish chunk, a usage-only
// chunk and [DONE].
func vllmBody(n int) []byte { return vllmBodyField(n, "content") }

// vllmBodyField is vllmBody with the words sent in delta.<field>: content,
// or reasoning_content as vLLM's reasoning parsers send them.
func vllmBodyField(n int, field string) []byte {
	const id = "chatcmpl-9f1c2b7e4d3a4f0e8b6c5d2a1e0f9b8c"
	var b bytes.Buffer
	fmt.Fprintf(&b, `data: {"id":"%s","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`+"\n\n", id)
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dogs", ",", " and"}
	for i := range n {
		fmt.Fprintf(&b, `data: {"id":"%s","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"%s":"%s"},"logprobs":null,"finish_reason":null}]}`+"\n\n", id, field, words[i%len(words)])
	}
	fmt.Fprintf(&b, `data: {"id":"%s","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length","stop_reason":null}]}`+"\n\n", id)
	fmt.Fprintf(&b, `data: {"id":"%s","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[],"usage":{"prompt_tokens":512,"total_tokens":%d,"completion_tokens":%d}}`+"\n\n", id, 512+n, n)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkStreamRead reads a whole vLLM-style stream through the real
// sseStream from memory: the parsing cost per chunk, without the network.
// read=next uses Next (text copied into strings), read=text NextText (text
// as bytes, as the load runner reads it).
func BenchmarkStreamRead(b *testing.B) {
	for _, tc := range []struct {
		n     int
		field string
		text  bool
	}{{256, "content", false}, {2048, "content", false}, {2048, "reasoning_content", false},
		{256, "content", true}, {2048, "content", true}, {2048, "reasoning_content", true}} {
		n := tc.n
		name := fmt.Sprintf("chunks=%d", n)
		if tc.field != "content" {
			name += "/" + tc.field
		}
		if tc.text {
			name += "/read=text"
		} else {
			name += "/read=next"
		}
		b.Run(name, func(b *testing.B) {
			body := vllmBodyField(n, tc.field)
			r := bytes.NewReader(body)
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				r.Reset(body)
				s := newSSEStream(ctx, io.NopCloser(r), llm.APIChat, 200, "")
				texts := 0
				var tx llm.EventText
				for {
					var ev llm.Event
					var err error
					if tc.text {
						ev, err = s.NextText(&tx)
					} else {
						ev, err = s.Next()
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if ev.HasOutput() || tx.HasOutput(&ev) {
						texts++
					}
				}
				s.Close()
				if texts != n {
					b.Fatalf("%d text events, want %d", texts, n)
				}
			}
			runtime.ReadMemStats(&ms1)
			chunks := float64(b.N) * float64(n+3) // content + role + finish + usage chunks
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/chunks, "ns/chunk")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/chunks, "B/chunk")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/chunks, "allocs/chunk")
		})
	}
}

// BenchmarkStreamReadCold reads many vLLM-style streams in turns, one
// event from each before the next from any, as a load generator with
// that many streams in flight does: every event finds its stream's state
// (the sseStream, its decoder and memo) gone from the CPU's caches, where
// BenchmarkStreamRead keeps one stream hot. The per-chunk cost that
// matters at 1,000 streams is mostly those cache misses.
func BenchmarkStreamReadCold(b *testing.B) {
	const streams, n = 2000, 64
	body := vllmBody(n)
	ctx := context.Background()
	rs := make([]*bytes.Reader, streams)
	ss := make([]*sseStream, streams)
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		for i := range ss {
			if rs[i] == nil {
				rs[i] = bytes.NewReader(body)
			}
			rs[i].Reset(body)
			ss[i] = newSSEStream(ctx, io.NopCloser(rs[i]), llm.APIChat, 200, "")
		}
		var tx llm.EventText
		for live := streams; live > 0; {
			live = 0
			for i, s := range ss {
				if s == nil {
					continue
				}
				_, err := s.NextText(&tx)
				if err == io.EOF {
					s.Close()
					ss[i] = nil
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
				events++
				live++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
