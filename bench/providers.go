package bench

import (
	"context"
	"fmt"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/bedrock"
	"github.com/llmload/llmload/llm/ollama"
	"github.com/llmload/llmload/llm/openai"
	"github.com/llmload/llmload/llm/sagemaker"
	"github.com/llmload/llmload/llm/tgi"
)

// newProvider builds the provider cfg names. baseURL is cfg.BaseURL, or
// the simulator's when provider is sim; conns sizes connection pools to
// the expected peak of requests in flight.
func newProvider(ctx context.Context, cfg *config.Config, baseURL string, conns int) (llm.Provider, error) {
	po := cfg.Providers
	switch cfg.Provider {
	case config.ProviderOpenAI, config.ProviderSim:
		return openai.New(openai.Options{BaseURL: baseURL, APIKey: cfg.APIKey, Headers: cfg.Headers, MaxConns: conns, Client: po.HTTPClient})
	case config.ProviderTGI:
		return tgi.New(tgi.Options{BaseURL: baseURL, APIKey: cfg.APIKey, Headers: cfg.Headers, MaxConns: conns, Client: po.HTTPClient})
	case config.ProviderOllama:
		return ollama.New(ollama.Options{BaseURL: baseURL, Headers: cfg.Headers, MaxConns: conns, API: po.OllamaAPI, Client: po.HTTPClient})
	case config.ProviderBedrock:
		return bedrock.New(ctx, bedrock.Options{
			Region:      po.Region,
			EndpointURL: po.EndpointURL,
			Profile:     po.AWSProfile,
			API:         po.BedrockAPI,
			Performance: po.Performance,
			MaxConns:    conns,
		})
	case config.ProviderSageMaker:
		return sagemaker.New(ctx, sagemaker.Options{
			Endpoint:           po.EndpointName,
			Region:             po.Region,
			EndpointURL:        po.EndpointURL,
			Profile:            po.AWSProfile,
			Format:             po.SageMakerFormat,
			Template:           po.Template,
			InferenceComponent: po.InferenceComponent,
			CustomAttributes:   po.CustomAttributes,
			MaxConns:           conns,
		})
	}
	return nil, fmt.Errorf("--provider %q is not known", cfg.Provider)
}
