package ollama

import (
	"context"
	"fmt"

	"github.com/llmload/llmload/llm/internal/wire"
)

// Models lists the models the server has pulled (GET /api/tags).
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	var tags struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := wire.GetJSON(ctx, p.client, p.tagsURL, "", p.headers, &tags); err != nil {
		return nil, fmt.Errorf("GET /api/tags: %w", err)
	}
	names := make([]string, 0, len(tags.Models))
	for _, m := range tags.Models {
		if m.Name != "" {
			names = append(names, m.Name)
		}
	}
	return names, nil
}
