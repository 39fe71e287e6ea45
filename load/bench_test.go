package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/workload"
)

// memTransport answers every request with the same in-memory SSE body,
// so the benchmark measures llmload's side of a response: the provider's
// parsing plus the runner's timing, recording and local token count.
type memTransport struct{ body []byte }

func (m memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(m.body)),
		Request:    req,
	}, nil
}

func sseBody(chunks int) []byte {
	var b strings.Builder
	for i := range chunks {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word%d\"},\"finish_reason\":null}]}\n\n", i%50)
	}
	fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", chunks)
	return []byte(b.String())
}

// BenchmarkRunnerPerChunk is the cost of measuring one streamed chunk end
// to end on llmload's side (parse, clock read, chunk time, text), plus the
// per-request cost (request body, record) spread over the chunks of a
// 256-token response. The server reports usage, so the local tokenizer
// counts the output of a sample of requests only: check=no is a request
// outside the sample (the common case), check=yes one inside it.
// check=no/max_tokens=4096 is the same response to a request allowed
// 4,096 tokens: its B/op shows the room for chunk times allocated before
// the response starts (chunkTimesCap).
func BenchmarkRunnerPerChunk(b *testing.B) {
	const chunks = 256
	prov, err := openai.New(openai.Options{BaseURL: "http://mem/v1", HTTPClient: &http.Client{Transport: memTransport{sseBody(chunks)}}})
	if err != nil {
		b.Fatal(err)
	}
	r, p, req := benchRunner(b, prov, 1, chunks)
	for _, tc := range []struct {
		name      string
		id        int64
		maxTokens int
	}{{"check=no", outputCheckFirst + 1, chunks}, {"check=yes", 0, chunks}, {"check=no/max_tokens=4096", outputCheckFirst + 1, 4096}} {
		if checksOutputCount(tc.id) != strings.HasPrefix(tc.name, "check=yes") {
			b.Fatalf("%s: id %d", tc.name, tc.id)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			p := p
			p.MaxTokens = tc.maxTokens
			for b.Loop() {
				rec, failed := r.attempt(context.Background(), slot{id: tc.id}, p, req, 0)
				if failed != nil || len(rec.ChunkTimesS) != chunks {
					b.Fatalf("failed %v, %d chunks", failed, len(rec.ChunkTimesS))
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/chunks, "ns/chunk")
		})
	}
}

// benchRunner is a runner of concurrency streams for the benchmarks that
// call its attempt directly, the prompt they send (max_tokens chunks) and
// its request.
func benchRunner(b *testing.B, prov llm.Provider, concurrency, chunks int) (*Runner, workload.Prompt, *llm.Request) {
	tok, err := workload.NewTokenizer("")
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{Provider: prov, Tokenizer: tok, Template: Template{Model: "m", API: llm.APIChat, Stream: true},
		Plan: Plan{Concurrency: concurrency, MaxRequests: concurrency, Timeout: time.Minute}}
	r.start = time.Now()
	p := workload.Prompt{Text: "hello", InputTokens: 1, MaxTokens: chunks}
	return r, p, r.Template.build(p)
}
