package openai

import (
	"context"
	"fmt"

	"github.com/llmload/llmload/llm/internal/wire"
)

// Models lists the models the endpoint serves (GET <BaseURL>/models), in
// the server's order. vLLM, llama.cpp, TGI's and Ollama's OpenAI APIs and
// most gateways answer it.
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := wire.GetJSON(ctx, p.client, p.modelsURL, p.apiKey, p.headers, &body); err != nil {
		return nil, fmt.Errorf("GET /models: %w", err)
	}
	ids := make([]string, 0, len(body.Data))
	for _, m := range body.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
