package load

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/sim"
)

// partsServer writes parts as one SSE response, one write and flush per
// part, 2 ms apart, so that each part is its own read.
func partsServer(parts ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, p := range parts {
			if i > 0 {
				time.Sleep(2 * time.Millisecond)
			}
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	})
}

func content(s string) string {
	return `data: {"id":"r","choices":[{"index":0,"delta":{"content":"` + s + `"},"finish_reason":null}]}` + "\n\n"
}

func reasoningContent(s string) string {
	return `data: {"id":"r","choices":[{"index":0,"delta":{"reasoning_content":"` + s + `","content":null},"finish_reason":null}]}` + "\n\n"
}

const (
	roleOnly = `data: {"id":"r","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	finish   = `data: {"id":"r","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	done     = "data: [DONE]\n\n"
)

func runOne(t *testing.T, h http.Handler) record.Record {
	t.Helper()
	r, c := newRunner(t, h, Plan{Concurrency: 1, MaxRequests: 1, Timeout: 10 * time.Second})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.recs) != 1 {
		t.Fatalf("%d records", len(c.recs))
	}
	rec := c.recs[0]
	if !rec.OK() {
		t.Fatalf("request failed: %s: %s", rec.ErrorKind, rec.Error)
	}
	return rec
}

// TestRunnerTimesReasoningStreams checks that every output chunk of a
// reasoning stream is timed, that TTFT is the first of any kind, and that
// the first reasoning and first answer times are the chunks they name.
func TestRunnerTimesReasoningStreams(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []string
		// chunks is the number of output chunks; reasoning and answer are
		// the indices in chunk_times_s of the first reasoning and answer
		// chunk (-1: none).
		chunks, reasoning, answer int
		reasoningChunks           int
		reasoningTokens           int
		toolCalls, toolChunks     int
	}{
		{"vllm reasoning_content", []string{roleOnly, reasoningContent("Okay"), reasoningContent(" so"), content("\\n\\n"), content("Paris"), finish,
			`data: {"id":"r","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"completion_tokens_details":{"reasoning_tokens":2}}}` + "\n\n", done},
			4, 0, 3, 2, 2, 0, 0},
		{"vllm reasoning", []string{roleOnly,
			`data: {"id":"r","choices":[{"index":0,"delta":{"reasoning":"Hmm"},"finish_reason":null}]}` + "\n\n",
			content("Yes"), finish, done},
			2, 0, 1, 1, 1, 0, 0}, // "Hmm": one token, counted locally
		{"deepseek", []string{
			`data: {"id":"r","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"We"},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{"content":"4","reasoning_content":null},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"completion_tokens_details":{"reasoning_tokens":1}}}` + "\n\n",
			done},
			2, 0, 1, 1, 1, 0, 0},
		// Tags split across chunks: "<th" + "ink>" opens, "</th" + "ink>" closes.
		{"think split", []string{roleOnly, content("\\n"), content("<th"), content("ink>\\nLet"), content(" me think</th"), content("ink>\\n\\n"), content("Answer"), finish, done},
			6, 1, 5, 4, 6, 0, 0}, // "\nLet me think": 4 tokens, plus 2 tags
		{"think one chunk", []string{roleOnly, content("<think>x</think>y"), finish, done},
			1, 0, 0, 1, 3, 0, 0},
		{"tool calls", []string{
			`data: {"id":"r","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":null}]}` + "\n\n",
			`data: {"id":"r","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n", done},
			3, -1, -1, 0, 0, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := runOne(t, partsServer(tc.parts...))
			if len(rec.ChunkTimesS) != tc.chunks {
				t.Fatalf("%d chunk times %v, want %d", len(rec.ChunkTimesS), rec.ChunkTimesS, tc.chunks)
			}
			if rec.TTFTS != rec.ChunkTimesS[0] {
				t.Errorf("ttft_s %v, want the first output chunk %v", rec.TTFTS, rec.ChunkTimesS[0])
			}
			at := func(i int) float64 {
				if i < 0 {
					return 0
				}
				return rec.ChunkTimesS[i]
			}
			if rec.TTFTReasoningS != at(tc.reasoning) {
				t.Errorf("ttft_reasoning_s %v, want %v (chunk %d of %v)", rec.TTFTReasoningS, at(tc.reasoning), tc.reasoning, rec.ChunkTimesS)
			}
			if rec.TTFTAnswerS != at(tc.answer) {
				t.Errorf("ttft_answer_s %v, want %v (chunk %d of %v)", rec.TTFTAnswerS, at(tc.answer), tc.answer, rec.ChunkTimesS)
			}
			if rec.ReasoningChunks != tc.reasoningChunks || rec.ReasoningTokens != tc.reasoningTokens {
				t.Errorf("reasoning chunks %d, tokens %d; want %d, %d", rec.ReasoningChunks, rec.ReasoningTokens, tc.reasoningChunks, tc.reasoningTokens)
			}
			if rec.ToolCalls != tc.toolCalls || rec.ToolCallChunks != tc.toolChunks {
				t.Errorf("tool calls %d in %d chunks, want %d in %d", rec.ToolCalls, rec.ToolCallChunks, tc.toolCalls, tc.toolChunks)
			}
			if tc.toolCalls > 0 && rec.TTFTToolCallS != rec.ChunkTimesS[0] {
				t.Errorf("ttft_tool_call_s %v, want %v", rec.TTFTToolCallS, rec.ChunkTimesS[0])
			}
		})
	}
}

// TestPlainStreamHasNoReasoningFields checks that an answer-only stream
// keeps the records it always had: no reasoning or answer times.
func TestPlainStreamHasNoReasoningFields(t *testing.T) {
	rec := runOne(t, partsServer(roleOnly, content("<b>"), content(" hi <think>"), finish, done))
	if rec.TTFTReasoningS != 0 || rec.TTFTAnswerS != 0 || rec.ReasoningChunks != 0 || len(rec.ChunkTimesS) != 2 {
		t.Errorf("record %+v", rec)
	}
}

// TestThinkSplitter feeds the splitter chunk by chunk and checks what it
// takes for reasoning and for answer.
func TestThinkSplitter(t *testing.T) {
	for _, tc := range []struct {
		chunks            []string
		reasoning, answer string
		firstAnswer       float64 // chunk number (1-based) of the first answer; 0: none
		firstReasoning    float64
	}{
		{[]string{"Hello", " world"}, "", "Hello world", 1, 0},
		{[]string{" ", "\n", "<think>", "a", "</think>", "b"}, "a", "b", 6, 3},
		{[]string{"<", "t", "h", "i", "n", "k", ">", "r", "<", "/", "think", ">", "\n", "ans"}, "r", "\nans", 14, 1},
		{[]string{"<thinking about it"}, "", "<thinking about it", 1, 0},
		{[]string{"<th", "is"}, "", "<this", 1, 0},
		{[]string{"<think>", "never closed </thi"}, "never closed </thi", "", 0, 1},
		{[]string{"<think>a</think>", "  "}, "a", "  ", 0, 1},
		{[]string{"<th"}, "", "<th", 1, 0}, // an unfinished tag at the end is answer text
		{[]string{"ok <think>x</think>"}, "", "ok <think>x</think>", 1, 0},
	} {
		var o output
		for i, c := range tc.chunks {
			addText(&o, c, float64(i+1))
		}
		o.finish()
		var fa, fr float64
		if o.hasAnswer {
			fa = o.firstAnswer
		}
		if o.hasReasoning {
			fr = o.firstReasoning
		}
		if o.reasoning.String() != tc.reasoning || o.answer.String() != tc.answer || fa != tc.firstAnswer || fr != tc.firstReasoning {
			t.Errorf("%q: reasoning %q, answer %q, first answer %v, first reasoning %v; want %q, %q, %v, %v",
				tc.chunks, o.reasoning.String(), o.answer.String(), fa, fr, tc.reasoning, tc.answer, tc.firstAnswer, tc.firstReasoning)
		}
	}
}

// TestReasoningAgainstSimulator runs the simulator as a reasoning model in
// each of its three fields and checks that the records show both times,
// the server's reasoning count, and that TTFT is the first reasoning token.
func TestReasoningAgainstSimulator(t *testing.T) {
	for _, field := range []string{sim.ReasoningContent, sim.ReasoningPlain, sim.ReasoningThink} {
		t.Run(field, func(t *testing.T) {
			srv, err := sim.New(sim.Options{TimeScale: 0.01, ReasoningTokens: 10, ReasoningField: field, TraceCapacity: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			r, c := newRunner(t, srv, Plan{Concurrency: 2, MaxRequests: 4, Timeout: 30 * time.Second})
			r.Template.Model = srv.ModelName()
			r.Template.IgnoreEOS = true
			if _, err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, rec := range c.recs {
				if !rec.OK() {
					t.Fatalf("failed: %s", rec.Error)
				}
				n := rec.OutputTokens
				if len(rec.ChunkTimesS) != n {
					t.Errorf("%d chunk times for %d output tokens: reasoning chunks not timed?", len(rec.ChunkTimesS), n)
				}
				if rec.ReasoningTokens != min(10, n) {
					t.Errorf("reasoning_tokens %d, want %d", rec.ReasoningTokens, min(10, n))
				}
				if rec.TTFTReasoningS != rec.TTFTS || rec.ReasoningChunks != min(10, n) {
					t.Errorf("ttft_reasoning_s %v (ttft_s %v), %d reasoning chunks", rec.TTFTReasoningS, rec.TTFTS, rec.ReasoningChunks)
				}
				if n > 10 && (rec.TTFTAnswerS != rec.ChunkTimesS[10]) {
					t.Errorf("ttft_answer_s %v, want the 11th chunk %v", rec.TTFTAnswerS, rec.ChunkTimesS[10])
				}
				if field == sim.ReasoningThink && strings.Contains(rec.Error, "think") {
					t.Errorf("%s", rec.Error)
				}
			}
		})
	}
}

// addText adds answer text s to o the way the runner does on its
// allocation-free path: as bytes valid only during the call. It clobbers
// them afterwards, so text output kept without copying shows up as 'X'.
func addText(o *output, s string, t float64) {
	b := []byte(s)
	o.add(&llm.Event{}, &llm.EventText{Text: b}, t)
	for i := range b {
		b[i] = 'X'
	}
}

// FuzzThinkSplitter checks that how a text is cut into chunks does not
// change what the splitter takes for reasoning and for answer, nor how
// many tags it counted: tags split across chunks are found all the same.
func FuzzThinkSplitter(f *testing.F) {
	for _, s := range []string{"<think>a</think>b", "\n <think>\nx y</think>\n\nz", "<th", "<think>never", "a<think>b</think>", "</think>x", "<think></think>", "<think><think></think></think>"} {
		f.Add(s, uint64(0x9e3779b97f4a7c15))
	}
	f.Fuzz(func(t *testing.T, s string, cuts uint64) {
		var whole output
		addText(&whole, s, 1)
		whole.finish()
		var parts output
		rest := s
		for i := 0; rest != ""; i++ {
			n := 1 + int(cuts>>(i%60)&7) // chunks of 1 to 8 bytes
			n = min(n, len(rest))
			addText(&parts, rest[:n], float64(i+1))
			rest = rest[n:]
		}
		parts.finish()
		if whole.reasoning.String() != parts.reasoning.String() || whole.answer.String() != parts.answer.String() ||
			whole.thinkTags != parts.thinkTags || whole.hasReasoning != parts.hasReasoning || whole.hasAnswer != parts.hasAnswer {
			t.Errorf("%q whole: reasoning %q answer %q tags %d; in chunks: reasoning %q answer %q tags %d",
				s, whole.reasoning.String(), whole.answer.String(), whole.thinkTags, parts.reasoning.String(), parts.answer.String(), parts.thinkTags)
		}
	})
}
