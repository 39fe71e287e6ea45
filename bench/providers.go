package bench

import (
	"context"
	"fmt"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/openai"
)

// newProvider builds the provider cfg names. baseURL is cfg.BaseURL, or
// the simulator's when provider is sim.
func newProvider(ctx context.Context, cfg *config.Config, baseURL string, conns int) (llm.Provider, error) {
	switch cfg.Provider {
	case config.ProviderOpenAI, config.ProviderSim:
		return openai.New(openai.Options{BaseURL: baseURL, APIKey: cfg.APIKey, Headers: cfg.Headers, MaxConns: conns})
	}
	return nil, fmt.Errorf("--provider %q is not known", cfg.Provider)
}
