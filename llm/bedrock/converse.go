package bedrock

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/llmload/llmload/llm"
)

// converseParts are the fields ConverseInput and ConverseStreamInput share.
type converseParts struct {
	messages []types.Message
	system   []types.SystemContentBlock
	config   *types.InferenceConfiguration
	extra    document.Interface
	perf     *types.PerformanceConfiguration
}

// converseRequest maps req onto the Converse API: "system" messages become
// system blocks, "user" and "assistant" messages become messages with one
// text block each, a Prompt without Messages is one user message,
// MaxTokens and Temperature go to inferenceConfig, and Extra is sent as
// additionalModelRequestFields (model-specific fields such as top_k).
func (p *Provider) converseRequest(req *llm.Request) (converseParts, *llm.Error) {
	var c converseParts
	msgs := req.Messages
	if len(msgs) == 0 && req.Prompt != "" {
		msgs = []llm.Message{{Role: "user", Content: req.Prompt}}
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			c.system = append(c.system, &types.SystemContentBlockMemberText{Value: m.Content})
		case "user", "assistant":
			c.messages = append(c.messages, types.Message{
				Role:    types.ConversationRole(m.Role),
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: m.Content}},
			})
		default:
			return c, &llm.Error{Kind: llm.KindClient, Message: fmt.Sprintf("bedrock: message role %q: Converse accepts system, user and assistant", m.Role)}
		}
	}
	if len(c.messages) == 0 {
		return c, &llm.Error{Kind: llm.KindClient, Message: "bedrock: no user message"}
	}
	if req.MaxTokens > 0 || req.Temperature != nil {
		c.config = &types.InferenceConfiguration{}
		if req.MaxTokens > 0 {
			c.config.MaxTokens = aws.Int32(int32(min(req.MaxTokens, math.MaxInt32)))
		}
		if req.Temperature != nil {
			c.config.Temperature = aws.Float32(float32(*req.Temperature))
		}
	}
	if len(req.Extra) > 0 {
		c.extra = document.NewLazyDocument(req.Extra)
	}
	if p.latency != "" {
		c.perf = &types.PerformanceConfiguration{Latency: p.latency}
	}
	return c, nil
}

// callOptions are the per-call SDK options: req.Headers, and for the
// event-stream operations a protocol instance of the call's own.
//
// Why a protocol per stream: in smithy-go v1.28.9 the restJson1 protocol
// held by a client has one event-stream codec whose payload buffer (and
// lazily built decoder) every stream of that client shares, so concurrent
// streams race and can corrupt each other's events (aws/smithy-go#714,
// fix proposed in #716). A protocol is a few small allocations; giving
// each stream its own makes concurrent streams independent.
func callOptions(req *llm.Request, stream bool) []func(*bedrockruntime.Options) {
	if len(req.Headers) == 0 && !stream {
		return nil
	}
	return []func(*bedrockruntime.Options){func(o *bedrockruntime.Options) {
		if stream {
			o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
		}
		for k, v := range req.Headers {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(k, v))
		}
	}}
}

func (p *Provider) converse(ctx context.Context, req *llm.Request, stream bool) (llm.Stream, error) {
	c, lerr := p.converseRequest(req)
	if lerr != nil {
		return nil, lerr
	}
	if !stream {
		out, err := p.client.Converse(ctx, &bedrockruntime.ConverseInput{
			ModelId: aws.String(req.Model), Messages: c.messages, System: c.system,
			InferenceConfig: c.config, AdditionalModelRequestFields: c.extra, PerformanceConfig: c.perf,
		}, callOptions(req, false)...)
		if err != nil {
			return nil, p.classify(ctx, err, 0)
		}
		return &oneEvent{ev: converseEvent(out)}, nil
	}
	out, err := p.client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(req.Model), Messages: c.messages, System: c.system,
		InferenceConfig: c.config, AdditionalModelRequestFields: c.extra, PerformanceConfig: c.perf,
	}, callOptions(req, true)...)
	if err != nil {
		return nil, p.classify(ctx, err, 0)
	}
	return &converseStream{
		ctx: ctx, p: p, es: out.GetStream(),
		id: requestID(out.ResultMetadata), status: httpStatus(out.ResultMetadata),
	}, nil
}

// converseEvent is the single event of a whole Converse response.
func converseEvent(out *bedrockruntime.ConverseOutput) llm.Event {
	ev := llm.Event{ID: requestID(out.ResultMetadata), FinishReason: finishReason(string(out.StopReason))}
	if m, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		var b, r, tc strings.Builder
		for _, blk := range m.Value.Content {
			switch t := blk.(type) {
			case *types.ContentBlockMemberText:
				b.WriteString(t.Value)
			case *types.ContentBlockMemberReasoningContent:
				if rt, ok := t.Value.(*types.ReasoningContentBlockMemberReasoningText); ok {
					r.WriteString(aws.ToString(rt.Value.Text))
				}
			case *types.ContentBlockMemberToolUse:
				ev.ToolCalls++
				tc.WriteString(aws.ToString(t.Value.Name))
				if t.Value.Input != nil {
					if in, err := t.Value.Input.MarshalSmithyDocument(); err == nil {
						tc.Write(in)
					}
				}
			}
		}
		ev.Text, ev.Reasoning, ev.ToolCallText = b.String(), r.String(), tc.String()
	}
	ev.Usage = tokenUsage(out.Usage)
	if out.Metrics != nil && out.Metrics.LatencyMs != nil {
		ev.ServerTiming = map[string]float64{"latency_s": float64(*out.Metrics.LatencyMs) / 1000}
	}
	return ev
}

func tokenUsage(u *types.TokenUsage) *llm.Usage {
	if u == nil {
		return nil
	}
	out := &llm.Usage{PromptTokens: int(aws.ToInt32(u.InputTokens)), CompletionTokens: int(aws.ToInt32(u.OutputTokens))}
	// Bedrock counts cache reads and writes outside inputTokens (as
	// Anthropic does): add them, so PromptTokens is the whole prompt.
	if u.CacheReadInputTokens != nil || u.CacheWriteInputTokens != nil {
		read := int(aws.ToInt32(u.CacheReadInputTokens))
		out.PromptTokens += read + int(aws.ToInt32(u.CacheWriteInputTokens))
		out.CachedPromptTokens, out.HasCached = read, true
	}
	return out
}

// finishReason normalizes a stop reason to llmload's vocabulary: "length"
// when the output hit its token limit, "stop" when the model ended it (end
// of turn, stop sequence); any other reason (tool_use,
// guardrail_intervened, content_filtered, …) is kept as the server said.
func finishReason(r string) string {
	switch strings.ToLower(r) {
	case "":
		return ""
	case "max_tokens", "length", "model_context_window_exceeded":
		return "length"
	case "end_turn", "stop_sequence", "stop", "finish", "eos_token":
		return "stop"
	}
	return r
}

func requestID(md middleware.Metadata) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	return id
}

func httpStatus(md middleware.Metadata) int {
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && r.Response != nil {
		return r.StatusCode
	}
	return 200
}

// oneEvent is a whole response: one event, then io.EOF.
type oneEvent struct {
	ev   llm.Event
	done bool
}

func (s *oneEvent) Next() (llm.Event, error) {
	if s.done {
		return llm.Event{}, io.EOF
	}
	s.done = true
	return s.ev, nil
}

func (s *oneEvent) Close() error { return nil }

// converseStream reads a ConverseStream response. The SDK decodes the
// event-stream frames in its own goroutine; Next receives them:
// contentBlockDelta text → Event.Text, messageStop → Event.FinishReason,
// metadata → Event.Usage and ServerTiming["latency_s"]. messageStart,
// contentBlockStart/Stop and unknown events carry nothing and are skipped.
// An exception frame ends the stream with its classified error; a stream
// that ends before messageStop is malformed.
type converseStream struct {
	ctx    context.Context
	p      *Provider
	es     *bedrockruntime.ConverseStreamEventStream
	id     string
	status int

	sawStop   bool
	err       error // sticky
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ llm.Stream = (*converseStream)(nil)

func (s *converseStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	for {
		ev, ok := <-s.es.Events()
		if !ok {
			return llm.Event{}, s.end()
		}
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				if d.Value != "" {
					return llm.Event{Text: d.Value, ID: s.id}, nil
				}
			case *types.ContentBlockDeltaMemberReasoningContent:
				// Extended thinking: its text is reasoning output; a
				// signature or redacted (encrypted) reasoning carries none.
				if t, ok := d.Value.(*types.ReasoningContentBlockDeltaMemberText); ok && t.Value != "" {
					return llm.Event{Reasoning: t.Value, ID: s.id}, nil
				}
			case *types.ContentBlockDeltaMemberToolUse:
				if in := aws.ToString(d.Value.Input); in != "" {
					return llm.Event{ToolCallText: in, ID: s.id}, nil
				}
			}
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if t, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				return llm.Event{ToolCalls: 1, ToolCallText: aws.ToString(t.Value.Name), ID: s.id}, nil
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			s.sawStop = true
			return llm.Event{FinishReason: finishReason(string(v.Value.StopReason)), ID: s.id}, nil
		case *types.ConverseStreamOutputMemberMetadata:
			out := llm.Event{ID: s.id, Usage: tokenUsage(v.Value.Usage)}
			if m := v.Value.Metrics; m != nil && m.LatencyMs != nil {
				out.ServerTiming = map[string]float64{"latency_s": float64(*m.LatencyMs) / 1000}
			}
			if out.Usage != nil || out.ServerTiming != nil {
				return out, nil
			}
		}
	}
}

// end decides how a stream whose event channel closed ended.
func (s *converseStream) end() error {
	switch {
	case s.closed.Load():
		s.err = errClosed()
	case s.es.Err() != nil:
		s.err = s.p.classify(s.ctx, s.es.Err(), s.status)
	case s.ctx.Err() != nil:
		s.err = llm.Classify(s.ctx, s.ctx.Err())
	case s.sawStop:
		s.err = io.EOF
	default:
		s.err = &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "stream ended before messageStop"}
	}
	return s.err
}

// Close releases the stream; it is idempotent and may be called from
// another goroutine to abort a blocked Next, which then returns canceled.
func (s *converseStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.es.Close()
	})
	return nil
}

// errClosed is the error of a Next after (or aborted by) Close.
func errClosed() error { return &llm.Error{Kind: llm.KindCanceled, Message: "stream closed"} }
