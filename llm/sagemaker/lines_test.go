package sagemaker

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
)

// reassemble feeds data to a lineBuffer cut at the given points and
// returns the lines it yields, then the unterminated rest.
func reassemble(t *testing.T, data []byte, cuts []int) []string {
	t.Helper()
	var b lineBuffer
	var out []string
	prev := 0
	for _, c := range append(cuts, len(data)) {
		// Each part is a fresh slice, as the SDK allocates one per event.
		b.write(bytes.Clone(data[prev:c]))
		prev = c
		for {
			line, ok, err := b.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			out = append(out, string(line))
		}
	}
	if rest := b.rest(); len(rest) > 0 {
		out = append(out, string(rest))
	}
	return out
}

// wantLines is the reference split: on "\n", dropping a "\r" before it
// and a final empty piece.
func wantLines(data []byte) []string {
	parts := strings.Split(string(data), "\n")
	if last := parts[len(parts)-1]; last == "" || last == "\r" {
		parts = parts[:len(parts)-1] // no unterminated last line
	}
	for i, p := range parts {
		parts[i] = strings.TrimSuffix(p, "\r")
	}
	return parts
}

func randomCuts(r *rand.Rand, n int) []int {
	if n == 0 {
		return nil
	}
	k := r.IntN(n + 1)
	cuts := make([]int, k)
	for i := range cuts {
		cuts[i] = r.IntN(n + 1)
	}
	// Sorted, possibly repeated (empty parts are legal).
	for i := 1; i < len(cuts); i++ {
		for j := i; j > 0 && cuts[j] < cuts[j-1]; j-- {
			cuts[j], cuts[j-1] = cuts[j-1], cuts[j]
		}
	}
	return cuts
}

func TestLineBufferRandomSplits(t *testing.T) {
	stream := []byte(`data:{"token":{"id":1,"text":" the","logprob":-0.1,"special":false},"generated_text":null,"details":null}` + "\n\n" +
		`data:{"token":{"id":2,"text":" é\u00e9","logprob":-0.1,"special":false},"generated_text":null,"details":null}` + "\r\n\r\n" +
		`{"token":{"id":3,"text":"x"}}` + "\n" +
		`data:{"token":{"id":4,"text":"!","special":false},"generated_text":" the éé x!","details":{"finish_reason":"length","generated_tokens":4}}`)
	want := wantLines(stream)
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		cuts := randomCuts(r, len(stream))
		if got := reassemble(t, stream, cuts); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("cuts %v:\n got %q\nwant %q", cuts, got, want)
		}
	}
}

func FuzzLineBuffer(f *testing.F) {
	f.Add([]byte("a\nbc\r\n\nd"), uint64(1))
	f.Add([]byte(`data:{"token":{"text":"x"}}`+"\n\n"), uint64(7))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		cuts := randomCuts(rand.New(rand.NewPCG(seed, seed)), len(data))
		got := reassemble(t, data, cuts)
		want := wantLines(data)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("cuts %v:\n got %q\nwant %q", cuts, got, want)
		}
	})
}

func TestLineTooLong(t *testing.T) {
	var b lineBuffer
	b.write(make([]byte, maxLineBytes+1))
	if _, _, err := b.next(); err == nil {
		t.Fatal("no error for a line over the limit")
	}
}

func TestStreamLines(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []llm.Event // the events the lines make
		final bool        // generation ended
		err   llm.ErrorKind
	}{
		// TGI: token text, a special token without text, the final line with details.
		{"tgi", []string{
			`data:{"index":1,"token":{"id":1,"text":" the","logprob":-0.1,"special":false},"generated_text":null,"details":null}`,
			`data: {"token":{"id":2,"text":"</s>","special":true},"generated_text":null,"details":null}`,
			`data:{"token":{"id":3,"text":" end","special":false},"generated_text":" the end","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null}}`,
		}, []llm.Event{{Text: " the", ID: "rid"}, {Text: " end", FinishReason: "stop", Usage: &llm.Usage{CompletionTokens: 3}, ID: "rid"}}, true, ""},
		// TGI versions that report the prompt: prompt_tokens or input_length.
		{"tgi prompt", []string{
			`data:{"token":{"text":"a"},"generated_text":"a","details":{"finish_reason":"length","generated_tokens":1,"input_length":9}}`,
		}, []llm.Event{{Text: "a", FinishReason: "length", Usage: &llm.Usage{PromptTokens: 9, CompletionTokens: 1}, ID: "rid"}}, true, ""},
		// OpenAI chat chunks with SSE comments and an event field, then usage and [DONE].
		{"messages", []string{
			`: keep-alive`, `event: message`,
			`data: {"id":"c1","choices":[{"delta":{"role":"assistant"}}]}`,
			`data: {"id":"c1","choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}`,
			`data: {"id":"c1","choices":[{"delta":{"content":"!"},"finish_reason":"length"}]}`,
			`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`,
			`data: [DONE]`,
		}, []llm.Event{{Text: "Hi", ID: "c1"}, {Text: "!", FinishReason: "length", ID: "c1"}, {Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 2}, ID: "c1"}}, true, ""},
		// Completion chunks as bare JSON lines (LMI jsonlines style).
		{"completion lines", []string{`{"choices":[{"text":"x"}]}`, `{"generated_text":"whole"}`},
			[]llm.Event{{Text: "x", ID: "rid"}, {Text: "whole", ID: "rid"}}, false, ""},
		// TGI's in-stream error.
		{"tgi error", []string{`data:{"error":"Request failed during generation: OOM","error_type":"generation"}`}, nil, false, llm.KindServer},
		// Overload reported in the stream.
		{"overloaded", []string{`data:{"error":"Model is overloaded","error_type":"overloaded"}`}, nil, false, llm.KindOverloaded},
		// Garbage.
		{"not json", []string{`data: {"token":`}, nil, false, llm.KindMalformedStream},
		{"not a field", []string{`hello world`}, nil, false, llm.KindMalformedStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &eventStream{reqID: "rid"}
			var got []llm.Event
			var err error
			for _, l := range tt.lines {
				var ev llm.Event
				var emit bool
				if ev, emit, err = s.line([]byte(l)); err != nil {
					break
				}
				if emit {
					got = append(got, ev)
				}
			}
			if tt.err != "" {
				var e *llm.Error
				if !errors.As(err, &e) || e.Kind != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.final != tt.final {
				t.Errorf("final = %v, want %v", s.final, tt.final)
			}
			if gs, ws := eventsString(got), eventsString(tt.want); gs != ws {
				t.Errorf("events\n got %s\nwant %s", gs, ws)
			}
		})
	}
}

func eventsString(evs []llm.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("{" + ev.Text + "|" + ev.FinishReason + "|" + ev.ID)
		if ev.Usage != nil {
			b.WriteString("|" + strings.Repeat("p", ev.Usage.PromptTokens) + "/" + strings.Repeat("c", ev.Usage.CompletionTokens))
		}
		b.WriteString("}")
	}
	return b.String()
}

func TestWholeResponses(t *testing.T) {
	tests := []struct {
		name, body string
		text       string
		usage      *llm.Usage
		err        llm.ErrorKind
	}{
		{"tgi", `[{"generated_text":"hello","details":{"finish_reason":"length","generated_tokens":2}}]`, "hello", &llm.Usage{CompletionTokens: 2}, ""},
		{"generated_text object", `{"generated_text":"hi"}`, "hi", nil, ""},
		{"chat", `{"id":"x","choices":[{"message":{"content":"yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`, "yo", &llm.Usage{PromptTokens: 3, CompletionTokens: 1}, ""},
		{"empty array", `[]`, "", nil, llm.KindMalformedStream},
		{"error", `{"error":{"message":"bad","type":"validation"}}`, "", nil, llm.KindClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := newWholeStream([]byte(tt.body), "rid").Next()
			if tt.err != "" {
				var e *llm.Error
				if !errors.As(err, &e) || e.Kind != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || ev.Text != tt.text || (ev.Usage == nil) != (tt.usage == nil) || ev.Usage != nil && *ev.Usage != *tt.usage {
				t.Errorf("event %+v, %v", ev, err)
			}
		})
	}
}

func TestBodies(t *testing.T) {
	temp0, temp7 := 0.0, 0.7
	tests := []struct {
		name   string
		format string
		tmpl   string
		req    llm.Request
		want   string
	}{
		// TGI: details on, temperature 0 dropped (TGI rejects it), Extra into parameters.
		{"tgi", FormatTGI, "", llm.Request{Prompt: "p", MaxTokens: 8, Stream: true, Temperature: &temp0, Extra: map[string]any{"top_p": 0.9}},
			`{"inputs":"p","parameters":{"decoder_input_details":false,"details":true,"max_new_tokens":8,"top_p":0.9},"stream":true}`},
		// TGI from chat messages: their contents, one per line.
		{"tgi messages", FormatTGI, "", llm.Request{Messages: []llm.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}}, Temperature: &temp7},
			`{"inputs":"s\nu","parameters":{"decoder_input_details":false,"details":true,"temperature":0.7},"stream":false}`},
		// Chat: usage asked for when streaming; ignore_eos and min_tokens.
		{"messages", FormatMessages, "", llm.Request{Prompt: "p", MaxTokens: 4, Stream: true, IgnoreEOS: true},
			`{"ignore_eos":true,"max_tokens":4,"messages":[{"role":"user","content":"p"}],"min_tokens":4,"stream":true,"stream_options":{"include_usage":true}}`},
		// A template: the prompt JSON-escaped (no HTML escaping), numbers and booleans filled in.
		{"template", FormatTemplate, `{"text_inputs": "{{prompt}}", "max_length": {{max_tokens}}, "stream": {{stream}}}`,
			llm.Request{Prompt: "a \"b\" <c>\n", MaxTokens: 3, Stream: true},
			`{"text_inputs": "a \"b\" <c>\n", "max_length": 3, "stream": true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{format: tt.format, template: tt.tmpl}
			b, err := p.body(&tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("body\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

// BenchmarkTGILine is the per-token cost of the stream reader: reassembling
// and decoding one TGI line, without the SDK's frame decoding.
func BenchmarkTGILine(b *testing.B) {
	part := []byte(`data:{"index":7,"token":{"id":1996,"text":" the","logprob":-0.25,"special":false},"generated_text":null,"details":null}` + "\n\n")
	s := &eventStream{reqID: "rid"}
	b.SetBytes(int64(len(part)))
	b.ReportAllocs()
	for b.Loop() {
		s.lines.write(part)
		for {
			line, ok, err := s.lines.next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			if _, _, err := s.line(line); err != nil {
				b.Fatal(err)
			}
		}
	}
}
