package bedrock

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/llmload/llmload/llm"
)

// invokeBody builds the model-native body of InvokeModel(WithResponseStream).
// The default is Meta Llama's native shape:
//
//	{"prompt": <text>, "max_gen_len": MaxTokens, "temperature": T}
//
// where <text> is Request.Prompt, or the messages' contents joined by blank
// lines. Request.Extra is merged last: its fields are added or override
// these, and a field whose value is nil (JSON null) is removed, so any
// model's native body can be sent, e.g. Anthropic's with Extra
// {"prompt": null, "max_gen_len": null, "anthropic_version":
// "bedrock-2023-05-31", "max_tokens": 256, "messages": [...]}.
func invokeBody(req *llm.Request) ([]byte, error) {
	m := make(map[string]any, 3+len(req.Extra))
	prompt := req.Prompt
	if prompt == "" {
		parts := make([]string, 0, len(req.Messages))
		for _, msg := range req.Messages {
			parts = append(parts, msg.Content)
		}
		prompt = strings.Join(parts, "\n\n")
	}
	m["prompt"] = prompt
	if req.MaxTokens > 0 {
		m["max_gen_len"] = req.MaxTokens
	}
	if req.Temperature != nil {
		m["temperature"] = *req.Temperature
	}
	for k, v := range req.Extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return json.Marshal(m)
}

func (p *Provider) invoke(ctx context.Context, req *llm.Request, stream bool) (llm.Stream, error) {
	body, err := invokeBody(req)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "bedrock: encoding request: " + p.secrets.redact(err.Error())}
	}
	if !stream {
		out, err := p.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
			ModelId: aws.String(req.Model), Body: body,
			ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
			PerformanceConfigLatency: p.latency,
		}, callOptions(req, false)...)
		if err != nil {
			return nil, p.classify(ctx, err, 0)
		}
		ev, err := parseChunk(out.Body)
		if err != nil {
			return nil, &llm.Error{Kind: llm.KindMalformedStream, Status: httpStatus(out.ResultMetadata), Message: "response body: " + err.Error()}
		}
		ev.ID = requestID(out.ResultMetadata)
		headerMetrics(&ev, out.ResultMetadata)
		return &oneEvent{ev: ev}, nil
	}
	out, err := p.client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(req.Model), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
		PerformanceConfigLatency: p.latency,
	}, callOptions(req, true)...)
	if err != nil {
		return nil, p.classify(ctx, err, 0)
	}
	return &invokeStream{
		ctx: ctx, p: p, es: out.GetStream(),
		id: requestID(out.ResultMetadata), status: httpStatus(out.ResultMetadata),
	}, nil
}

// headerMetrics fills usage and latency from InvokeModel's response headers
// (X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count,
// -Invocation-Latency in ms) when the body did not carry them.
func headerMetrics(ev *llm.Event, md middleware.Metadata) {
	r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok || r.Response == nil {
		return
	}
	in, errIn := strconv.Atoi(r.Header.Get("X-Amzn-Bedrock-Input-Token-Count"))
	out, errOut := strconv.Atoi(r.Header.Get("X-Amzn-Bedrock-Output-Token-Count"))
	if errIn == nil && errOut == nil && ev.Usage == nil {
		ev.Usage = &llm.Usage{PromptTokens: in, CompletionTokens: out}
		read, errRead := strconv.Atoi(r.Header.Get("X-Amzn-Bedrock-Cache-Read-Input-Token-Count"))
		write, errWrite := strconv.Atoi(r.Header.Get("X-Amzn-Bedrock-Cache-Write-Input-Token-Count"))
		if errRead == nil || errWrite == nil {
			ev.Usage.PromptTokens += read + write
			ev.Usage.CachedPromptTokens, ev.Usage.HasCached = read, true
		}
	}
	if ms, err := strconv.ParseFloat(r.Header.Get("X-Amzn-Bedrock-Invocation-Latency"), 64); err == nil {
		if ev.ServerTiming == nil {
			ev.ServerTiming = map[string]float64{}
		}
		if _, ok := ev.ServerTiming["latency_s"]; !ok {
			ev.ServerTiming["latency_s"] = ms / 1000
		}
	}
}

// nativeChunk is the union of the chunk shapes llmload reads from
// model-native responses.
type nativeChunk struct {
	// Meta Llama
	Generation *string `json:"generation"`
	StopReason *string `json:"stop_reason"`
	// Amazon Titan
	OutputText       *string `json:"outputText"`
	CompletionReason *string `json:"completionReason"`
	// Mistral
	Outputs []struct {
		Text       string  `json:"text"`
		StopReason *string `json:"stop_reason"`
	} `json:"outputs"`
	// Anthropic Messages (streamed events and whole responses)
	Type  string `json:"type"`
	Delta *struct {
		Type       string  `json:"type"`
		Text       string  `json:"text"`
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	// Bedrock's own accounting, on the last chunk of every model.
	Metrics *struct {
		InputTokenCount  *int `json:"inputTokenCount"`
		OutputTokenCount *int `json:"outputTokenCount"`
		// Prompt caching (Anthropic models): counted outside inputTokenCount.
		CacheReadInputTokenCount  *int     `json:"cacheReadInputTokenCount"`
		CacheWriteInputTokenCount *int     `json:"cacheWriteInputTokenCount"`
		InvocationLatency         *float64 `json:"invocationLatency"`
		FirstByteLatency          *float64 `json:"firstByteLatency"`
	} `json:"amazon-bedrock-invocationMetrics"`
}

// parseChunk reads one model-native JSON document (a streamed chunk's bytes
// or a whole InvokeModel body): its text, finish reason, and Bedrock's
// invocation metrics as Usage and ServerTiming ("latency_s",
// "first_byte_latency_s").
func parseChunk(b []byte) (llm.Event, error) {
	var c nativeChunk
	if err := json.Unmarshal(b, &c); err != nil {
		return llm.Event{}, err
	}
	var ev llm.Event
	var text strings.Builder
	stop := ""
	switch {
	case c.Generation != nil:
		text.WriteString(*c.Generation)
		stop = deref(c.StopReason)
	case c.OutputText != nil:
		text.WriteString(*c.OutputText)
		stop = deref(c.CompletionReason)
	case len(c.Outputs) > 0:
		text.WriteString(c.Outputs[0].Text)
		stop = deref(c.Outputs[0].StopReason)
	case c.Delta != nil:
		text.WriteString(c.Delta.Text)
		stop = deref(c.Delta.StopReason)
	case len(c.Content) > 0:
		for _, b := range c.Content {
			if b.Type == "text" || b.Type == "" {
				text.WriteString(b.Text)
			}
		}
		stop = deref(c.StopReason)
	default:
		stop = deref(c.StopReason)
	}
	ev.Text = text.String()
	ev.FinishReason = finishReason(stop)
	if m := c.Metrics; m != nil {
		if m.InputTokenCount != nil || m.OutputTokenCount != nil {
			ev.Usage = &llm.Usage{PromptTokens: derefInt(m.InputTokenCount), CompletionTokens: derefInt(m.OutputTokenCount)}
			if m.CacheReadInputTokenCount != nil || m.CacheWriteInputTokenCount != nil {
				read := derefInt(m.CacheReadInputTokenCount)
				ev.Usage.PromptTokens += read + derefInt(m.CacheWriteInputTokenCount)
				ev.Usage.CachedPromptTokens, ev.Usage.HasCached = read, true
			}
		}
		if m.InvocationLatency != nil || m.FirstByteLatency != nil {
			ev.ServerTiming = make(map[string]float64, 2)
			if m.InvocationLatency != nil {
				ev.ServerTiming["latency_s"] = *m.InvocationLatency / 1000
			}
			if m.FirstByteLatency != nil {
				ev.ServerTiming["first_byte_latency_s"] = *m.FirstByteLatency / 1000
			}
		}
	}
	return ev, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// invokeStream reads an InvokeModelWithResponseStream response: each
// "chunk" event's bytes are parsed by parseChunk; chunks with no text,
// finish reason, usage or timing are skipped. The stream is complete when
// it ends after a chunk with a finish reason or Bedrock's invocation
// metrics; otherwise it is malformed.
type invokeStream struct {
	ctx    context.Context
	p      *Provider
	es     *bedrockruntime.InvokeModelWithResponseStreamEventStream
	id     string
	status int

	sawEnd    bool
	err       error
	closed    atomic.Bool
	closeOnce sync.Once
}

var _ llm.Stream = (*invokeStream)(nil)

func (s *invokeStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	for {
		ev, ok := <-s.es.Events()
		if !ok {
			return llm.Event{}, s.end()
		}
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			continue
		}
		out, err := parseChunk(chunk.Value.Bytes)
		if err != nil {
			s.err = &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "chunk: " + err.Error()}
			s.Close()
			return llm.Event{}, s.err
		}
		if out.FinishReason != "" || out.Usage != nil {
			s.sawEnd = true
		}
		if out.Text != "" || out.FinishReason != "" || out.Usage != nil || out.ServerTiming != nil {
			out.ID = s.id
			return out, nil
		}
	}
}

func (s *invokeStream) end() error {
	switch {
	case s.closed.Load():
		s.err = errClosed()
	case s.es.Err() != nil:
		s.err = s.p.classify(s.ctx, s.es.Err(), s.status)
	case s.ctx.Err() != nil:
		s.err = llm.Classify(s.ctx, s.ctx.Err())
	case s.sawEnd:
		s.err = io.EOF
	default:
		s.err = &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "stream ended before the final chunk"}
	}
	return s.err
}

// Close releases the stream; see converseStream.Close.
func (s *invokeStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.es.Close()
	})
	return nil
}
