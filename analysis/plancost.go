package analysis

import (
	"fmt"
	"math"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// CostPlan prices every level of a plan by the token and by the
// instance-hour, with the hidden costs apart and the break-even between
// the two (docs/planning.md, "Cost").
type CostPlan struct {
	// TokenPrice is the token price used (absent: none given).
	TokenPrice *ModelPrice `json:"token_price,omitempty"`
	// InstancePrice is the instance price used (absent: none given).
	InstancePrice *InstancePrice `json:"instance_price,omitempty"`
	Levels        []LevelCost    `json:"levels"`
	// BreakEven compares the two for a sustained load; absent unless both
	// prices were given and a level succeeded.
	BreakEven *CostBreakEven `json:"break_even,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
}

// LevelCost is one level's cost.
type LevelCost struct {
	Level float64 `json:"level"`
	Dir   string  `json:"dir"`
	// Token is the token-priced cost; absent without a token price or a
	// successful request.
	Token *TokenCost `json:"token,omitempty"`
	// InstanceCostPer1MOutputTokens is price per hour × instances × 1e6 ÷
	// (output tokens/s × 3600); InstanceCostPerUserHour is price per hour
	// × instances ÷ the users the level carried. Absent without an
	// instance price or throughput.
	InstanceCostPer1MOutputTokens *float64 `json:"instance_cost_per_1m_output_tokens,omitempty"`
	InstanceCostPerUserHour       *float64 `json:"instance_cost_per_user_hour,omitempty"`
}

// TokenCost is a level's token-priced cost (stats.TokenCost: a run's
// summary.json carries the same).
type TokenCost = stats.TokenCost

// CostBreakEven is where an instance-priced deployment and a
// token-priced endpoint cost the same, for the measured workload.
type CostBreakEven struct {
	// Level and Dir name the level whose token mix and hidden costs are
	// used; TokenCostPer1MOutputTokens is its token-priced cost of a
	// million output tokens, all in.
	Level                      float64 `json:"level"`
	Dir                        string  `json:"dir"`
	TokenCostPer1MOutputTokens float64 `json:"token_cost_per_1m_output_tokens"`
	// OutputTokensPerS is the break-even output throughput: price per
	// hour × instances × 1e6 ÷ (3600 × TokenCostPer1MOutputTokens); above
	// it the instances are cheaper. RequestsPerMin is the same load in
	// successful requests per minute.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	RequestsPerMin   float64 `json:"requests_per_min"`
	// CapacityOutputTokensPerS is the highest output throughput of a
	// level meeting the targets; Utilization = OutputTokensPerS ÷ it
	// (above 1: the instances never pay off).
	CapacityOutputTokensPerS float64 `json:"capacity_output_tokens_per_s"`
	Utilization              float64 `json:"utilization"`
	// InstanceCostPerHour and TokenCostPerHour: what each costs per hour
	// at the capacity.
	InstanceCostPerHour float64 `json:"instance_cost_per_hour"`
	TokenCostPerHour    float64 `json:"token_cost_per_hour"`
	Sentence            string  `json:"sentence"`
}

// PriceLevels prices every level of p with tok and inst (either may be
// nil) and sets p.Cost.
func PriceLevels(p *Plan, tok *ModelPrice, inst *InstancePrice) error {
	if tok == nil && inst == nil {
		return nil
	}
	if tok != nil {
		if err := tok.Check(); err != nil {
			return err
		}
	}
	if inst != nil {
		if err := inst.Check(); err != nil {
			return err
		}
	}
	c := &CostPlan{TokenPrice: tok, InstancePrice: inst}
	for _, l := range p.Levels {
		lc := LevelCost{Level: l.Level, Dir: l.Dir}
		if tok != nil {
			lc.Token = tokenCost(l, *tok)
		}
		if inst != nil {
			if v, ok := inst.CostPer1M(l.OutputTokensPerS); ok {
				lc.InstanceCostPer1MOutputTokens = &v
			}
			if l.UsersCarried > 0 {
				v := inst.Hourly() / l.UsersCarried
				lc.InstanceCostPerUserHour = &v
			}
		}
		c.Levels = append(c.Levels, lc)
	}
	if tok != nil && tok.CachedInputPer1M != nil {
		c.Notes = append(c.Notes, "cached input tokens (as the server reported them) are priced at the cached-input price")
	}
	if tok != nil {
		c.Notes = append(c.Notes, "failed requests and retried attempts are priced as if billed in full (an upper bound: providers do not bill every failure)")
	}
	if tok != nil && inst != nil {
		c.BreakEven = breakEven(p, c, *inst)
	}
	p.Cost = c
	return nil
}

func tokenCost(l PlanLevel, p ModelPrice) *TokenCost {
	t := l.Tokens
	ok := t.Succeeded.Attempts
	if ok == 0 || t.Succeeded.OutputTokens == 0 {
		return nil
	}
	cost := func(s TokenSums) float64 {
		return p.Cost(float64(s.InputTokens), float64(s.CachedInputTokens), float64(s.OutputTokens))
	}
	n := float64(ok)
	all := t.All()
	tc := &TokenCost{
		SucceededPerRequest:    cost(t.Succeeded) / n,
		SystemPromptPerRequest: float64(t.SystemPromptTokens) * p.InputPer1M / 1e6,
		RetriedPerRequest:      cost(t.Retried) / n,
		FailedPerRequest:       cost(t.Failed) / n,
	}
	tc.CostPerRequest = tc.SucceededPerRequest + tc.RetriedPerRequest + tc.FailedPerRequest
	tc.CostPer1MOutputTokens = cost(all) / float64(t.Succeeded.OutputTokens) * 1e6
	tc.InputTokensPerOutputToken = float64(all.InputTokens) / float64(t.Succeeded.OutputTokens)
	if r := t.Requests(); r > 0 {
		tc.CostPerUserHour = cost(all) / float64(r) * l.RequestsPerUserPerMin * 60
	}
	return tc
}

// breakEven uses the plan's answer level (else the busiest level with a
// success) for the mix, and the best throughput meeting the targets as
// the capacity.
func breakEven(p *Plan, c *CostPlan, inst InstancePrice) *CostBreakEven {
	at := -1
	for i, l := range p.Levels {
		if c.Levels[i].Token == nil {
			continue
		}
		if l.Dir == p.Answer.Dir && p.Answer.Users > 0 {
			at = i
			break
		}
		if at < 0 || l.OutputTokensPerS > p.Levels[at].OutputTokensPerS {
			at = i
		}
	}
	if at < 0 {
		return nil
	}
	perM := c.Levels[at].Token.CostPer1MOutputTokens
	capacity := 0.0
	for _, l := range p.Levels {
		if l.MeetsTargets {
			capacity = max(capacity, l.OutputTokensPerS)
		}
	}
	be, err := FindBreakEven(inst, TokenPrice{OutputPer1M: perM}, 0, capacity)
	if err != nil {
		return nil
	}
	l := p.Levels[at]
	b := &CostBreakEven{Level: l.Level, Dir: l.Dir, TokenCostPer1MOutputTokens: perM,
		OutputTokensPerS: be.OutputTokensPerS, CapacityOutputTokensPerS: be.CapacityOutputTokensPerS,
		Utilization: be.Utilization, InstanceCostPerHour: be.InstanceCostPerHour, TokenCostPerHour: be.TokenCostPerHour}
	if ok := l.Tokens.Succeeded; ok.Attempts > 0 && ok.OutputTokens > 0 {
		b.RequestsPerMin = b.OutputTokensPerS / (float64(ok.OutputTokens) / float64(ok.Attempts)) * 60
	}
	b.Sentence = fmt.Sprintf("At %s/h the instances cost as much as tokens at %s per 1M output tokens (the mix of %s) for a sustained %s output tokens/s (%s requests/min);",
		money(inst.Hourly()), money(perM), l.Dir, trimNum(b.OutputTokensPerS), trimNum(b.RequestsPerMin))
	switch {
	case capacity <= 0:
		b.Sentence += " no level met the targets, so the instances' capacity is unknown."
	case b.Utilization > 1:
		b.Sentence += fmt.Sprintf(" that is %s of the %s tokens/s they carry within the targets: they never pay off.", pct(b.Utilization), trimNum(capacity))
	default:
		b.Sentence += fmt.Sprintf(" that is %s of the %s tokens/s they carry within the targets: above it the instances are cheaper.", pct(b.Utilization), trimNum(capacity))
	}
	return b
}

// money writes an amount with the precision a price needs: $0.693,
// $18, $1,234.
func money(v float64) string {
	switch {
	case math.Abs(v) >= 1000:
		return "$" + fmtRound(v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("$%.0f", v)
	}
	return "$" + trimNum(v)
}

// RunCost prices one run from its summary and records (nil when neither
// price is given): the token-priced cost for a user who always has a
// request in flight, and the instance-priced cost per 1M output tokens.
func RunCost(s *stats.Summary, recs []record.Record, systemPromptTokens int, tok *ModelPrice, inst *InstancePrice) *stats.Cost {
	if s == nil || tok == nil && inst == nil {
		return nil
	}
	c := &stats.Cost{}
	if tok != nil {
		l := PlanLevelOf(0, "", s, recs, systemPromptTokens, nil)
		planLevel(&l, PlanOptions{}, DefaultHeadroom)
		c.PriceModel, c.Token = tok.ID, tokenCost(l, *tok)
	}
	if inst != nil {
		if v, ok := inst.CostPer1M(s.Throughput.OutputTokensPerS); ok {
			c.InstanceCostPer1MOutputTokens = &v
		}
	}
	return c
}

// SetBreakEven sets ss.BreakEven from the first method of its knee that
// found one (target, then curvature, then the marginal methods): that
// level's all-in token cost per 1M output tokens (its row's
// TokenCostPer1MOutputTokens) and its output throughput as the capacity.
// It clears it when there is no price, knee or token cost.
func (ss *SweepSummary) SetBreakEven(inst *InstancePrice) {
	ss.BreakEven = nil
	if inst == nil || inst.Check() != nil || ss.Knee == nil {
		return
	}
	for _, m := range ss.Knee.Methods {
		if !m.Found {
			continue
		}
		for _, r := range ss.Rows {
			if r.Dir != m.Dir || r.TokenCostPer1MOutputTokens == nil {
				continue
			}
			perM := *r.TokenCostPer1MOutputTokens
			be, err := FindBreakEven(*inst, TokenPrice{OutputPer1M: perM}, 0, r.OutputTokensPerS)
			if err != nil {
				return
			}
			b := &CostBreakEven{Level: r.Level, Dir: r.Dir, TokenCostPer1MOutputTokens: perM,
				OutputTokensPerS: be.OutputTokensPerS, CapacityOutputTokensPerS: be.CapacityOutputTokensPerS,
				Utilization: be.Utilization, InstanceCostPerHour: be.InstanceCostPerHour, TokenCostPerHour: be.TokenCostPerHour}
			if r.TokenCostPerRequest != nil && *r.TokenCostPerRequest > 0 {
				// Successful requests per minute: the break-even's cost per
				// hour ÷ the cost of one request ÷ 60.
				b.RequestsPerMin = be.OutputTokensPerS * 3600 * perM / 1e6 / *r.TokenCostPerRequest / 60
			}
			verdict := "above it the instances are cheaper"
			if b.Utilization > 1 {
				verdict = "they never pay off"
			}
			b.Sentence = fmt.Sprintf("At %s/h the instances cost as much as tokens at %s per 1M output tokens (the mix of %s, the %s knee) for a sustained %s output tokens/s (%s requests/min); that is %s of the %s tokens/s measured there: %s.",
				money(inst.Hourly()), money(perM), r.Dir, m.Method, trimNum(b.OutputTokensPerS), trimNum(b.RequestsPerMin), pct(b.Utilization), trimNum(r.OutputTokensPerS), verdict)
			ss.BreakEven = b
			return
		}
	}
}
