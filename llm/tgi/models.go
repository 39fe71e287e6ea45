package tgi

import (
	"context"
	"fmt"

	"github.com/llmload/llmload/llm/internal/wire"
)

// Models returns the one model the server serves: the model_id of GET
// /info.
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	var info struct {
		ModelID string `json:"model_id"`
	}
	if err := wire.GetJSON(ctx, p.client, p.infoURL, p.apiKey, p.headers, &info); err != nil {
		return nil, fmt.Errorf("GET /info: %w", err)
	}
	if info.ModelID == "" {
		return nil, nil
	}
	return []string{info.ModelID}, nil
}
