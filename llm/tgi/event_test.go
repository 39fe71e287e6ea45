package tgi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"testing"
)

var eventSeeds = []string{
	`{"index":1,"token":{"id":578,"text":" the","logprob":-0.3,"special":false},"generated_text":null,"details":null}`,
	`{"index":3,"token":{"id":2,"text":"</s>","logprob":-0.01,"special":true},"generated_text":"Hello world","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null,"input_length":5}}`,
	`{"index":1,"token":{"id":1,"text":"a\n\"b\\\/\t","special":false},"top_tokens":[{"id":1}]}`,
	`{"token":{"text":"\u00e9\ud83d\ude00"}}`, `{"token":{"text":"é😀"}}`, `{"token":{"text":"\xff"}}`,
	`{"error":"Model is overloaded","error_type":"overloaded"}`, `{"error":{"message":"x"}}`, `{"error":null,"error_type":null}`,
	`{"token":null}`, `{"token":{"text":null,"special":null}}`, `{"token":{"text":"a"},"token":{"special":true}}`,
	`{"Token":{"TEXT":"a"}}`, `{"ſpecial":1}`, "{\"\u212aey\":1}", `{"details":{"generated_tokens":1.5}}`,
	`{"details":{"generated_tokens":99999999999999999999}}`, `{"details":{"input_length":-3,"generated_tokens":01}}`,
	`{"generated_text":5}`, `null`, `[]`, `{}`, ` {"a":[1,{"b":[true,false,null,"x"]}]} `, `{"a":1}x`, `{"a":-}`, `{"a":"\x01"}`,
}

// TestEventFastPathMatchesEncodingJSON checks that whenever the fast path
// accepts an event it reads exactly what encoding/json reads.
func TestEventFastPathMatchesEncodingJSON(t *testing.T) {
	var d decoder
	for _, s := range eventSeeds {
		checkEvent(t, &d, []byte(s))
	}
}

func checkEvent(t *testing.T, d *decoder, data []byte) {
	t.Helper()
	var fast, slow event
	if d.fast(data, &fast) != nil {
		return
	}
	fastCopy := snapshot(fast)
	if err := d.slow(data, &slow); err != nil {
		t.Errorf("%q: fast path accepted what encoding/json rejects: %v", data, err)
		return
	}
	if s := snapshot(slow); !reflect.DeepEqual(fastCopy, s) {
		t.Errorf("%q:\nfast %+v\nslow %+v", data, fastCopy, s)
	}
}

type eventView struct {
	HasToken, Special, Final, HasDetails, HasInput, HasErr bool
	Text, Finish, ErrMsg, ErrType                          string
	Generated, InputLength                                 int64
}

func snapshot(e event) eventView {
	return eventView{e.hasToken, e.special, e.final, e.hasDetails, e.hasInput, e.hasErr,
		string(e.text), string(e.finish), string(e.errMsg), string(e.errType), e.generated, e.inputLength}
}

// FuzzEventDecode holds the fast path to encoding/json on arbitrary input.
func FuzzEventDecode(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) { checkEvent(t, &d, data) })
}

// tgiBody is a TGI stream of n tokens ending with the EOS event.
func tgiBody(n int) []byte {
	var b bytes.Buffer
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dogs", ",", " and"}
	for i := range n {
		fmt.Fprintf(&b, `data:{"index":%d,"token":{"id":%d,"text":"%s","logprob":-0.%04d,"special":false},"generated_text":null,"details":null}`+"\n\n",
			i+1, 1000+i%len(words), words[i%len(words)], i%10000)
	}
	fmt.Fprintf(&b, `data:{"index":%d,"token":{"id":2,"text":"</s>","logprob":-0.01,"special":true},"generated_text":"…","details":{"finish_reason":"eos_token","generated_tokens":%d,"seed":null,"input_length":512}}`+"\n\n", n+1, n+1)
	return b.Bytes()
}

// BenchmarkStreamRead reads a whole TGI stream through the real sseStream
// from memory: the parsing cost per event, without the network.
func BenchmarkStreamRead(b *testing.B) {
	for _, n := range []int{256, 2048} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			body := tgiBody(n)
			r := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				r.Reset(body)
				s := newSSEStream(context.Background(), io.NopCloser(r), 200, "", nil)
				texts := 0
				for {
					ev, err := s.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if ev.Text != "" {
						texts++
					}
				}
				s.Close()
				if texts != n {
					b.Fatalf("%d text events, want %d", texts, n)
				}
			}
			runtime.ReadMemStats(&ms1)
			chunks := float64(b.N) * float64(n+1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/chunks, "ns/chunk")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/chunks, "B/chunk")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/chunks, "allocs/chunk")
		})
	}
}
