// Package llm defines what llmload needs from an inference endpoint: a
// Provider that starts a request and a Stream of Events read from the wire.
//
// Providers parse; they never time. The load runner calls Stream.Next in a
// loop and stamps each returned Event with the monotonic clock the moment it
// comes back, so every provider is measured the same way (DESIGN.md: "Timing
// is taken in one place").
package llm

import (
	"context"
	"io"
	"time"
)

// API selects the request shape of an OpenAI-style endpoint.
type API string

// The request shapes a provider may support.
const (
	APIChat       API = "chat"        // /v1/chat/completions: messages in, delta.content out
	APICompletion API = "completions" // /v1/completions: prompt in, text out
	APIEmbeddings API = "embeddings"  // /v1/embeddings: Inputs in, one vector each out
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one inference request, independent of the wire protocol.
type Request struct {
	Model string
	// API selects chat (Messages) or completions (Prompt).
	API      API
	Messages []Message
	Prompt   string
	// Inputs are the texts of an embeddings request (API embeddings), one
	// vector each.
	Inputs []string
	// MaxTokens caps the output; 0 leaves it to the server.
	MaxTokens int
	// IgnoreEOS asks the server to generate exactly MaxTokens tokens
	// (vLLM/llama.cpp ignore_eos, vLLM min_tokens).
	IgnoreEOS bool
	// Stream asks for a streamed (SSE) response.
	Stream bool
	// Temperature is sent when non-nil.
	Temperature *float64
	// Extra holds JSON body fields passed through as given; they override
	// fields llmload sets itself.
	Extra map[string]any
	// Headers are sent with the request; they override defaults.
	Headers map[string]string
}

// Usage is the token accounting a server reports.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CachedPromptTokens is how many of PromptTokens the server took from
	// its prompt (prefix) cache instead of computing them, when HasCached:
	// OpenAI's usage.prompt_tokens_details.cached_tokens, llama.cpp's
	// timings.cache_n, Bedrock's cacheReadInputTokens (see
	// docs/providers.md). Providers that report cache reads outside their
	// input count (Bedrock, Anthropic) add them to PromptTokens, so that
	// PromptTokens is always the whole prompt.
	CachedPromptTokens int  `json:"-"`
	HasCached          bool `json:"-"`
	// ReasoningTokens is how many of CompletionTokens the server reports
	// as reasoning, when HasReasoning: OpenAI's and vLLM's
	// usage.completion_tokens_details.reasoning_tokens.
	ReasoningTokens int  `json:"-"`
	HasReasoning    bool `json:"-"`
}

// Event is one unit read from a response: output text, usage, or both.
// A non-streamed response yields a single Event holding all of its text.
//
// Output comes in three kinds, all of them output tokens (docs/metrics.md,
// "Reasoning and tool calls"): answer text (Text), reasoning text
// (Reasoning) and tool calls (ToolCalls, ToolCallText). An event carries
// output when any of them is non-empty. Providers pass "<think>" blocks
// in Text as they come; the runner splits them off.
type Event struct {
	// Text is answer text carried by this event; empty for events that
	// carry none (role-only deltas, usage-only chunks).
	Text string
	// Reasoning is reasoning text carried by this event: a delta's
	// "reasoning_content" (vLLM, DeepSeek) or "reasoning" (newer vLLM,
	// OpenRouter and other gateways).
	Reasoning string
	// ToolCalls counts the tool calls this event starts (the first delta
	// of each tool_calls index); ToolCallText holds the function names
	// and argument fragments it carries, concatenated.
	ToolCalls    int
	ToolCallText string
	// Embeddings counts the vectors an embeddings response carried.
	Embeddings int
	// Usage is set when the event carries the server's token accounting.
	Usage *Usage
	// FinishReason is set on the event that ends generation ("stop", "length").
	FinishReason string
	// ID is the server's response id, when it sends one.
	ID string
	// ServerTiming holds timings the server reports about its own handling
	// of the request, in seconds, under stable snake_case names documented
	// per provider in docs/providers.md (e.g. "latency_s" for Bedrock's
	// latencyMs, "prompt_eval_s" and "eval_s" for Ollama and llama.cpp).
	// Providers convert units; they never add llmload's own clock readings.
	ServerTiming map[string]float64
}

// HasOutput reports whether the event carries output of any kind.
func (e *Event) HasOutput() bool {
	return e.Text != "" || e.Reasoning != "" || e.ToolCalls > 0 || e.ToolCallText != ""
}

// Stream yields the events of one response in arrival order.
//
// Next returns io.EOF after the last event of a well-formed response, and
// an *Error for anything else. Next must not be called concurrently.
// Close releases the connection; it is safe to call more than once.
type Stream interface {
	Next() (Event, error)
	io.Closer
}

// EventText is the output text of one event as bytes that alias the
// stream's buffers: valid only until the next call of Next or NextText.
type EventText struct {
	Text, Reasoning, ToolCallText []byte
}

// HasOutput reports whether ev, with its text in t, carries output of any
// kind.
func (t *EventText) HasOutput(ev *Event) bool {
	return len(t.Text) > 0 || len(t.Reasoning) > 0 || len(t.ToolCallText) > 0 || ev.ToolCalls > 0
}

// TextStream is a Stream that can hand out an event's text without
// copying it: the hot path of the load runner, which copies only the text
// it keeps (DESIGN.md, docs/performance.md "Per-request work").
//
// NextText is Next with the event's Text, Reasoning and ToolCallText left
// empty and returned in *t instead, valid until the next call of Next or
// NextText. The two may be mixed on one stream.
type TextStream interface {
	Stream
	NextText(t *EventText) (Event, error)
}

// Waiter is a Stream that can wait for its next bytes apart from reading
// them: Wait returns once the next call of Next or NextText has something
// to read, or once the read it would make failed (that call returns the
// failure). The runner calls Wait before each NextText, so that a stream
// waits for its next token high in its goroutine's stack: after the wait,
// the parse runs in frames just written, rather than returning through
// frames that went cold in the tens of milliseconds between two tokens
// (docs/performance.md, "Waiting high in the stack").
type Waiter interface {
	Wait()
}

// ReceiveStamper is a Stream that knows when the data of the event it
// returned last reached this host: the kernel's receive time of the
// packet that completed it (SO_TIMESTAMPNS), on now's clock (now read
// after the event was returned), or the zero Time when unknown; events
// that came in one read have the same time. A client
// short of CPU reads late, but the kernel stamped the packet when it
// came, so the runner stamps arrivals with this time when it has it
// (docs/metrics.md, "Kernel receive timestamps").
type ReceiveStamper interface {
	Received(now time.Time) time.Time
}

// Provider sends requests to one endpoint. Implementations are safe for
// concurrent use by many goroutines.
type Provider interface {
	// Name is the provider's identifier, e.g. "openai".
	Name() string
	// Start sends req and returns once the response status and headers have
	// arrived. A non-success response is returned as an *Error whose Kind
	// classifies it. ctx bounds the whole response, including the Stream.
	Start(ctx context.Context, req *Request) (Stream, error)
}
