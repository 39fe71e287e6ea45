package analysis

import (
	"errors"
	"fmt"
	"math"
)

// Cost: what a million tokens costs, priced by the instance-hour or by the
// token, and where the two break even. The formulas are in
// docs/planning.md ("Cost"); prices are in any one currency.

// InstancePrice is an instance-priced deployment: Instances instances at
// PerHour each.
type InstancePrice struct {
	PerHour   float64 `json:"price_per_hour"`
	Instances float64 `json:"instances"`
}

// Hourly is the deployment's price per hour: PerHour × Instances
// (Instances 0 counts as 1).
func (p InstancePrice) Hourly() float64 {
	n := p.Instances
	if n == 0 {
		n = 1
	}
	return p.PerHour * n
}

// Check returns an error when the price is not a number ≥ 0 or the
// instance count is negative.
func (p InstancePrice) Check() error {
	switch {
	case !(p.PerHour >= 0) || math.IsInf(p.PerHour, 0):
		return fmt.Errorf("price per hour %g: want a number ≥ 0", p.PerHour)
	case !(p.Instances >= 0) || math.IsInf(p.Instances, 0):
		return fmt.Errorf("instances %g: want a number ≥ 0", p.Instances)
	}
	return nil
}

// CostPer1M is the cost of a million tokens produced at tokensPerS
// (sustained, by all the instances together):
//
//	price per hour × instances × 1e6 / (tokensPerS × 3600)
//
// ok is false when tokensPerS is not positive (nothing was produced; the
// cost is unbounded) or a number is not finite.
func (p InstancePrice) CostPer1M(tokensPerS float64) (cost float64, ok bool) {
	if !(tokensPerS > 0) || math.IsInf(tokensPerS, 0) || p.Check() != nil {
		return 0, false
	}
	return p.Hourly() * 1e6 / (tokensPerS * 3600), true
}

// TokenPrice is a token-priced endpoint: a price per million input tokens
// and per million output tokens (Claude 3.5 Sonnet: 3 and 15 dollars).
type TokenPrice struct {
	InputPer1M  float64 `json:"input_per_1m"`
	OutputPer1M float64 `json:"output_per_1m"`
}

// Check returns an error when a price is not a number ≥ 0.
func (p TokenPrice) Check() error {
	if !(p.InputPer1M >= 0) || !(p.OutputPer1M >= 0) || math.IsInf(p.InputPer1M+p.OutputPer1M, 0) {
		return fmt.Errorf("token prices %g/%g per 1M: want numbers ≥ 0", p.InputPer1M, p.OutputPer1M)
	}
	return nil
}

// Cost is what inputTokens and outputTokens cost.
func (p TokenPrice) Cost(inputTokens, outputTokens float64) float64 {
	return (inputTokens*p.InputPer1M + outputTokens*p.OutputPer1M) / 1e6
}

// PerMillionOutput is the cost of a million output tokens together with
// the inputTokensPerOutput input tokens each brings (the workload's mean
// input ÷ mean output tokens):
//
//	input price × inputTokensPerOutput + output price
func (p TokenPrice) PerMillionOutput(inputTokensPerOutput float64) float64 {
	return p.InputPer1M*inputTokensPerOutput + p.OutputPer1M
}

// BreakEven compares an instance-priced deployment with a token-priced
// endpoint for a sustained load.
type BreakEven struct {
	// OutputTokensPerS is the sustained output throughput at which both
	// cost the same per hour:
	//
	//	price per hour × instances × 1e6 / (3600 × (input price × r + output price))
	//
	// with r the input tokens per output token. Above it the instances are
	// cheaper, below it the tokens.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// TokenCostPerHour is what the token-priced endpoint charges per hour
	// at CapacityOutputTokensPerS; InstanceCostPerHour what the
	// instances cost per hour whatever they carry.
	TokenCostPerHour    float64 `json:"token_cost_per_hour"`
	InstanceCostPerHour float64 `json:"instance_cost_per_hour"`
	// CapacityOutputTokensPerS is the instances' measured (or estimated)
	// capacity; Utilization = OutputTokensPerS / capacity, the share of it
	// a load must keep busy for the instances to pay off. Above 1 they
	// never do.
	CapacityOutputTokensPerS float64 `json:"capacity_output_tokens_per_s"`
	Utilization              float64 `json:"utilization"`
}

// FindBreakEven computes the break-even of inst against tok for a
// workload of inputTokensPerOutput input tokens per output token, with the
// instances' capacity (output tokens/s; ≤ 0: unknown, Utilization 0).
func FindBreakEven(inst InstancePrice, tok TokenPrice, inputTokensPerOutput, capacityOutputTokensPerS float64) (BreakEven, error) {
	if err := errors.Join(inst.Check(), tok.Check()); err != nil {
		return BreakEven{}, err
	}
	if !(inputTokensPerOutput >= 0) || math.IsInf(inputTokensPerOutput, 0) {
		return BreakEven{}, fmt.Errorf("input tokens per output token %g: want a number ≥ 0", inputTokensPerOutput)
	}
	perM := tok.PerMillionOutput(inputTokensPerOutput)
	if perM <= 0 {
		return BreakEven{}, errors.New("token prices are 0: an instance never breaks even with free tokens")
	}
	b := BreakEven{InstanceCostPerHour: inst.Hourly()}
	b.OutputTokensPerS = inst.Hourly() * 1e6 / (3600 * perM)
	if capacityOutputTokensPerS > 0 && !math.IsInf(capacityOutputTokensPerS, 0) {
		b.CapacityOutputTokensPerS = capacityOutputTokensPerS
		b.Utilization = b.OutputTokensPerS / capacityOutputTokensPerS
		b.TokenCostPerHour = capacityOutputTokensPerS * 3600 / 1e6 * perM
	}
	return b, nil
}
