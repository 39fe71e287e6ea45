package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// maxResponseBytes bounds a non-streamed response body.
const maxResponseBytes = 64 << 20

// jsonStream reads a non-streamed response: its first Next reads the whole
// body and returns one Event with all of the text, then io.EOF.
type jsonStream struct {
	ctx    context.Context
	body   io.ReadCloser
	api    llm.API
	status int
	apiKey string
	// inputs is the number of inputs of an embeddings request, whose
	// response must carry as many vectors.
	inputs int

	err       error
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ llm.Stream = (*jsonStream)(nil)

func newJSONStream(ctx context.Context, body io.ReadCloser, api llm.API, status int, apiKey string) *jsonStream {
	return &jsonStream{ctx: ctx, body: body, api: api, status: status, apiKey: apiKey}
}

// completion is a non-streamed chat or completions response.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Message struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			Reasoning        string `json:"reasoning"`
			ToolCalls        []struct {
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
	Error   json.RawMessage `json:"error"`
	Timings *struct {
		PromptMS    *float64 `json:"prompt_ms"`
		PredictedMS *float64 `json:"predicted_ms"`
		CacheN      *int     `json:"cache_n"`
	} `json:"timings"` // llama.cpp server
}

// Next returns the response as one Event, then io.EOF.
func (s *jsonStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.closed.Load() {
		return llm.Event{}, wire.ErrClosed()
	}
	ev, err := s.read()
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	s.err = io.EOF
	return ev, nil
}

func (s *jsonStream) read() (llm.Event, error) {
	b, err := io.ReadAll(io.LimitReader(s.body, maxResponseBytes+1))
	if err != nil {
		if s.closed.Load() {
			return llm.Event{}, wire.ErrClosed()
		}
		return llm.Event{}, wire.WithStatus(llm.Classify(s.ctx, err), s.status)
	}
	if len(b) > maxResponseBytes {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "response body too large"}
	}
	if s.api == llm.APIEmbeddings {
		return s.embeddings(b)
	}
	var c completion
	if err := json.Unmarshal(b, &c); err != nil {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "invalid JSON response: " + err.Error()}
	}
	if (len(c.Error) > 0 && string(c.Error) != "null") || c.Object == "error" {
		return llm.Event{}, streamError(b, s.status, s.apiKey)
	}
	ev := llm.Event{ID: c.ID}
	if u := c.Usage; u != nil {
		ev.Usage = &llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
		if d := u.PromptTokensDetails; d != nil {
			ev.Usage.CachedPromptTokens, ev.Usage.HasCached = d.CachedTokens, true
		} else if t := c.Timings; t != nil && t.CacheN != nil {
			ev.Usage.CachedPromptTokens, ev.Usage.HasCached = *t.CacheN, true
		}
		if d := u.CompletionTokensDetails; d != nil {
			ev.Usage.ReasoningTokens, ev.Usage.HasReasoning = d.ReasoningTokens, true
		}
	}
	if t := c.Timings; t != nil {
		var tm timings
		if t.PromptMS != nil {
			tm.promptMS, tm.hasPromptMS = *t.PromptMS, true
		}
		if t.PredictedMS != nil {
			tm.predictedMS, tm.hasPredictedMS = *t.PredictedMS, true
		}
		ev.ServerTiming = tm.serverTiming()
	}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		ev.FinishReason = ch.FinishReason
		if s.api == llm.APICompletion {
			ev.Text = ch.Text
		} else {
			m := &ch.Message
			ev.Text = m.Content
			ev.Reasoning = m.ReasoningContent
			if ev.Reasoning == "" {
				ev.Reasoning = m.Reasoning
			}
			ev.ToolCalls = len(m.ToolCalls)
			var tc strings.Builder
			for _, t := range m.ToolCalls {
				tc.WriteString(t.Function.Name)
				tc.WriteString(t.Function.Arguments)
			}
			ev.ToolCallText = tc.String()
		}
	}
	return ev, nil
}

// embeddingResponse is a /v1/embeddings response; the vectors are
// checked to be JSON, not decoded.
type embeddingResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// embeddings reads an embeddings response: an event with the number of
// vectors and the usage. A response with another number of vectors than
// inputs, or an empty vector, is malformed.
func (s *jsonStream) embeddings(b []byte) (llm.Event, error) {
	var e embeddingResponse
	if err := json.Unmarshal(b, &e); err != nil {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status, Message: "invalid JSON response: " + err.Error()}
	}
	if (len(e.Error) > 0 && string(e.Error) != "null") || e.Object == "error" {
		return llm.Event{}, streamError(b, s.status, s.apiKey)
	}
	if len(e.Data) != s.inputs {
		return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status,
			Message: fmt.Sprintf("embeddings response carries %d vectors for %d inputs", len(e.Data), s.inputs)}
	}
	for i, d := range e.Data {
		if v := strings.TrimSpace(string(d.Embedding)); v == "" || v == "null" || v == "[]" || v == `""` {
			return llm.Event{}, &llm.Error{Kind: llm.KindMalformedStream, Status: s.status,
				Message: fmt.Sprintf("embeddings response: vector %d is empty", i)}
		}
	}
	ev := llm.Event{Embeddings: len(e.Data)}
	if e.Usage != nil {
		ev.Usage = &llm.Usage{PromptTokens: e.Usage.PromptTokens}
	}
	return ev, nil
}

// Close releases the response; it is idempotent.
func (s *jsonStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.body.Close()
	})
	return s.closeErr
}
