package config

// ProviderOptions are the settings of the providers beyond the
// OpenAI-compatible one. Credentials never go here: AWS providers use the
// SDK's default chain (environment, profiles, SSO, roles).
type ProviderOptions struct {
	// Region and EndpointURL address AWS services (bedrock, sagemaker);
	// EndpointURL overrides the service endpoint (VPC endpoints, the
	// simulator). AWSProfile selects a shared-config profile.
	Region      string `yaml:"region,omitempty"`
	EndpointURL string `yaml:"endpoint_url,omitempty"`
	AWSProfile  string `yaml:"aws_profile,omitempty"`
	// BedrockAPI is converse-stream (default), converse or invoke-stream.
	BedrockAPI string `yaml:"bedrock_api,omitempty"`
	// Performance is Bedrock's latency-optimized or standard inference.
	Performance string `yaml:"performance,omitempty"`
	// EndpointName is the SageMaker endpoint; SageMakerFormat the payload
	// (tgi, messages, template) and Template the user template.
	EndpointName       string `yaml:"endpoint_name,omitempty"`
	SageMakerFormat    string `yaml:"sagemaker_format,omitempty"`
	Template           string `yaml:"template,omitempty"`
	InferenceComponent string `yaml:"inference_component,omitempty"`
	CustomAttributes   string `yaml:"custom_attributes,omitempty"`
	// OllamaAPI is chat (default) or generate.
	OllamaAPI string `yaml:"ollama_api,omitempty"`
	// HTTPClient is the HTTP client of the openai, sim, tgi and ollama
	// providers: auto (default: a lean HTTP/1.1 client for plain http://
	// without a proxy, net/http otherwise) or std (net/http always).
	HTTPClient string `yaml:"http_client,omitempty"`
}
