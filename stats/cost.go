package stats

// Cost is what a run cost: token-priced with a token price
// (--price-model, --price-input/--price-output), instance-priced with
// --price-per-hour. analysis.RunCost computes it; Summarize leaves it nil.
// Formulas: docs/planning.md ("Cost at each level").
type Cost struct {
	// PriceModel is the token price's id in the price table ("given" for
	// prices given as flags); empty without a token price.
	PriceModel string `json:"price_model,omitempty"`
	// Token is the token-priced cost; nil without a token price or a
	// successful request.
	Token *TokenCost `json:"token,omitempty"`
	// InstanceCostPer1MOutputTokens is price per hour × instances × 1e6 ÷
	// (output tokens/s × 3600); nil without a price per hour.
	InstanceCostPer1MOutputTokens *float64 `json:"instance_cost_per_1m_output_tokens,omitempty"`
}

// TokenCost is a token-priced cost, in the currency of the prices. "Per
// request" is per successful request: what an answer costs.
type TokenCost struct {
	// CostPerRequest is every attempt's tokens priced (successful,
	// retried and failed) ÷ successful requests.
	CostPerRequest float64 `json:"cost_per_request"`
	// SucceededPerRequest is the successful attempts alone;
	// SystemPromptPerRequest is the part of it the system prompt costs
	// (its tokens at the full input price); RetriedPerRequest and
	// FailedPerRequest the retried attempts and failed requests, spread
	// over the successful requests. CostPerRequest is
	// SucceededPerRequest + RetriedPerRequest + FailedPerRequest.
	SucceededPerRequest    float64 `json:"succeeded_per_request"`
	SystemPromptPerRequest float64 `json:"system_prompt_per_request"`
	RetriedPerRequest      float64 `json:"retried_per_request"`
	FailedPerRequest       float64 `json:"failed_per_request"`
	// CostPer1MOutputTokens is every attempt's cost ÷ the successful
	// requests' output tokens × 1e6.
	CostPer1MOutputTokens float64 `json:"cost_per_1m_output_tokens"`
	// CostPerUserHour is every attempt's cost ÷ requests × one user's
	// requests per hour (a run's summary: a user who always has a request
	// in flight; llmload plan: the user it was given).
	CostPerUserHour float64 `json:"cost_per_user_hour"`
	// InputTokensPerOutputToken is every attempt's input tokens ÷ the
	// successful requests' output tokens: the measured mix.
	InputTokensPerOutputToken float64 `json:"input_tokens_per_output_token"`
}
