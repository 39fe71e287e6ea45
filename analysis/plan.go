package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// Capacity planning from quotas: how many users an endpoint carries under
// a provider's RPM and TPM quotas and latency targets, and the reverse,
// the quota N users need. Every formula is in docs/planning.md ("Capacity
// from quotas"); plan.json holds a Plan.

// PlanSchemaVersion is the version of the Plan JSON schema (plan.json).
const PlanSchemaVersion = 1

// DefaultHeadroom is the share of every measured or granted limit a plan
// uses: CALIBRATION.md's "plan for 60% of a measured limit".
const DefaultHeadroom = 0.6

// LittleTolerance is how far throughput × response time may stray from
// the measured mean concurrency before a level is flagged.
const LittleTolerance = 0.10

// Binding limits, the values of PlanLevel.Binding and PlanAnswer.Binding.
const (
	BindingRPM      = "rpm"      // the requests-per-minute quota
	BindingTPM      = "tpm"      // the tokens-per-minute quota
	BindingEndpoint = "endpoint" // the endpoint's measured capacity within the targets
)

// PlanOptions are the question a plan answers.
type PlanOptions struct {
	// QuotaRPM and QuotaTPM are the provider's quotas, requests and
	// tokens (input + output) per minute; 0: none.
	QuotaRPM float64
	QuotaTPM float64
	// Targets are thresholds every level must pass to count (the
	// threshold syntax: "ttft_p95<=1s"). Without one naming error_rate,
	// a level must also fail at most KneeMaxErrorRate of its requests.
	Targets []Threshold
	// RequestsPerUserPerMin defines a user by its request rate; when 0,
	// ThinkTimeS defines it: a user waits for each response, then thinks
	// ThinkTimeS seconds before the next request.
	RequestsPerUserPerMin float64
	ThinkTimeS            float64
	// Headroom is the share of every limit used; 0 means DefaultHeadroom.
	Headroom float64
	// Users asks the reverse question: the quotas Users users need; 0: not asked.
	Users int
}

// Check returns every problem with the options, joined.
func (o PlanOptions) Check() error {
	var errs []error
	nonNeg := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s %g: want a number ≥ 0", name, v))
		}
	}
	nonNeg("--quota-rpm", o.QuotaRPM)
	nonNeg("--quota-tpm", o.QuotaTPM)
	nonNeg("--requests-per-user-per-min", o.RequestsPerUserPerMin)
	nonNeg("--think-time", o.ThinkTimeS)
	if o.RequestsPerUserPerMin > 0 && o.ThinkTimeS > 0 {
		errs = append(errs, errors.New("--requests-per-user-per-min and --think-time both define a user: give one"))
	}
	if !(o.Headroom >= 0 && o.Headroom <= 1) {
		errs = append(errs, fmt.Errorf("--headroom %g: want a share in (0, 1]", o.Headroom))
	}
	if o.Users < 0 {
		errs = append(errs, fmt.Errorf("--users %d: want a number ≥ 0", o.Users))
	}
	return errors.Join(errs...)
}

func (o PlanOptions) headroom() float64 {
	if o.Headroom == 0 {
		return DefaultHeadroom
	}
	return o.Headroom
}

// TokenSums are the attempts of one kind of a level and the tokens they
// sent and received (the counts statistics use: the server's when
// reported).
type TokenSums struct {
	Attempts          int   `json:"attempts"`
	InputTokens       int64 `json:"input_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
}

func (t *TokenSums) add(r *record.Record) {
	t.Attempts++
	t.InputTokens += int64(r.InputTokens)
	t.OutputTokens += int64(r.OutputTokens)
	if r.CachedInputTokens != nil {
		t.CachedInputTokens += int64(*r.CachedInputTokens)
	}
}

// Total is InputTokens + OutputTokens.
func (t TokenSums) Total() int64 { return t.InputTokens + t.OutputTokens }

// LevelTokens splits a level's attempts: the successful requests, the
// attempts that failed and were retried, and the requests that failed in
// the end. Warm-up records are left out.
type LevelTokens struct {
	Succeeded TokenSums `json:"succeeded"`
	Retried   TokenSums `json:"retried"`
	Failed    TokenSums `json:"failed"`
	// SystemPromptTokens is the system prompt's length, tokens, sent with
	// every request (0: none); counted by the run's tokenizer.
	SystemPromptTokens int `json:"system_prompt_tokens"`
}

// All sums the three kinds.
func (t LevelTokens) All() TokenSums {
	return TokenSums{
		Attempts:          t.Succeeded.Attempts + t.Retried.Attempts + t.Failed.Attempts,
		InputTokens:       t.Succeeded.InputTokens + t.Retried.InputTokens + t.Failed.InputTokens,
		CachedInputTokens: t.Succeeded.CachedInputTokens + t.Retried.CachedInputTokens + t.Failed.CachedInputTokens,
		OutputTokens:      t.Succeeded.OutputTokens + t.Retried.OutputTokens + t.Failed.OutputTokens,
	}
}

// Requests counts the level's requests (their final attempts).
func (t LevelTokens) Requests() int { return t.Succeeded.Attempts + t.Failed.Attempts }

// CountTokens sums the non-warm-up records of a level.
func CountTokens(recs []record.Record, systemPromptTokens int) LevelTokens {
	lt := LevelTokens{SystemPromptTokens: systemPromptTokens}
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Warmup:
		case r.Retried:
			lt.Retried.add(r)
		case r.OK():
			lt.Succeeded.add(r)
		default:
			lt.Failed.add(r)
		}
	}
	return lt
}

// PlanLevel is one measured level of a plan: what was measured (the
// first group of fields) and what the plan makes of it.
type PlanLevel struct {
	// Level is the sweep row's level (concurrency, rate in requests/s or
	// batch size); Dir its directory.
	Level float64 `json:"level"`
	Dir   string  `json:"dir"`
	// Tokens are the level's attempts and tokens by outcome.
	Tokens LevelTokens `json:"tokens"`
	// ErrorRate is the level's error rate (summary.json's).
	ErrorRate float64 `json:"error_rate"`
	// RequestsPerS is the successful requests per second.
	RequestsPerS float64 `json:"requests_per_s"`
	// OutputTokensPerS is the output throughput, tokens/s.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// ResponseTimeS and ResponseTimeP95S are the mean and p95 time a user
	// waits for a successful request, s: first attempt's send to final
	// attempt's end (retries and backoff included).
	ResponseTimeS    float64 `json:"response_time_s"`
	ResponseTimeP95S float64 `json:"response_time_p95_s"`
	// ConcurrencyMean is the measured mean number of requests in flight.
	ConcurrencyMean float64 `json:"concurrency_mean"`
	// ClientLimited: llmload may have distorted this level's numbers.
	ClientLimited bool `json:"client_limited,omitempty"`
	// Targets are the targets judged against the level's summary.
	Targets []ThresholdResult `json:"targets,omitempty"`
	// MeetsTargets: every target passed, a request succeeded and (without
	// an error_rate target) the error rate is at most 5%.
	MeetsTargets bool `json:"meets_targets"`

	// AttemptsPerRequest is attempts ÷ requests (retries raise it);
	// TokensPerRequest is (input + output tokens of every attempt) ÷
	// requests: what one user request takes from the quotas.
	AttemptsPerRequest float64 `json:"attempts_per_request"`
	TokensPerRequest   float64 `json:"tokens_per_request"`
	// RequestsPerUserPerMin is one user's request rate at this level:
	// the option, or 60 ÷ (ResponseTimeS + think time).
	RequestsPerUserPerMin float64 `json:"requests_per_user_per_min"`
	// ThinkTimeS is a user's time between a response and the next
	// request, s: the option, or 60 ÷ rate − ResponseTimeS (negative: a
	// user cannot send that many requests one after another).
	ThinkTimeS float64 `json:"think_time_s"`
	// UsersCarried is the users whose load the level served, by Little's
	// law: RequestsPerS × (ResponseTimeS + ThinkTimeS).
	UsersCarried float64 `json:"users_carried"`
	// LittleInFlight is RequestsPerS × ResponseTimeS, the requests in
	// flight Little's law predicts; compared with ConcurrencyMean.
	LittleInFlight float64 `json:"little_in_flight"`
	// UsersByRPM and UsersByTPM are the users the quotas allow at
	// headroom (absent without the quota); UsersByEndpoint is
	// headroom × UsersCarried when the level meets the targets, else 0.
	UsersByRPM      *float64 `json:"users_by_rpm,omitempty"`
	UsersByTPM      *float64 `json:"users_by_tpm,omitempty"`
	UsersByEndpoint float64  `json:"users_by_endpoint"`
	// Users is the least of the three, Binding the limit that sets it.
	Users   float64 `json:"users"`
	Binding string  `json:"binding"`
	// Notes say what may make the level's numbers misleading.
	Notes []string `json:"notes,omitempty"`
}

// PlanLevelOf measures one level from its summary and records, and
// judges the targets.
func PlanLevelOf(level float64, dir string, s *stats.Summary, recs []record.Record, systemPromptTokens int, targets []Threshold) PlanLevel {
	l := PlanLevel{Level: level, Dir: dir, Tokens: CountTokens(recs, systemPromptTokens)}
	if s == nil {
		return l
	}
	l.ErrorRate = s.ErrorRate
	l.RequestsPerS = s.Throughput.RequestsPerS
	l.OutputTokensPerS = s.Throughput.OutputTokensPerS
	l.ResponseTimeS, l.ResponseTimeP95S = s.Metrics.E2E.Mean, s.Metrics.E2E.P95
	if s.Retries != nil && s.Retries.RequestE2E.Count > 0 {
		l.ResponseTimeS, l.ResponseTimeP95S = s.Retries.RequestE2E.Mean, s.Retries.RequestE2E.P95
	}
	l.ConcurrencyMean = s.Concurrency.Mean
	l.ClientLimited = s.ClientHealth != nil && s.ClientHealth.ClientLimited
	pass := s.Requests.Succeeded > 0
	errTarget := false
	for _, t := range targets {
		r := t.Evaluate(s)
		l.Targets = append(l.Targets, r)
		pass = pass && r.Pass
		errTarget = errTarget || r.Metric == "error_rate"
	}
	if !errTarget && s.ErrorRate > KneeMaxErrorRate {
		pass = false
	}
	l.MeetsTargets = pass
	return l
}

// Plan is what plan.json holds.
type Plan struct {
	SchemaVersion int `json:"schema_version"`
	// Dir is the run or sweep directory planned from; Kind the sweep's
	// kind ("concurrency", "rate", "batch_size"; a single run: its mode's).
	Dir  string `json:"dir"`
	Kind string `json:"kind"`
	// QuotaRPM and QuotaTPM are the quotas (0: none), per minute.
	QuotaRPM float64 `json:"quota_rpm"`
	QuotaTPM float64 `json:"quota_tpm"`
	// Targets are the targets, canonical text.
	Targets []string `json:"targets"`
	// RequestsPerUserPerMin or ThinkTimeS define a user (the options).
	RequestsPerUserPerMin float64 `json:"requests_per_user_per_min,omitempty"`
	ThinkTimeS            float64 `json:"think_time_s"`
	// Headroom is the share of every limit used.
	Headroom float64     `json:"headroom"`
	Levels   []PlanLevel `json:"levels"`
	// Answer is how many users the quotas and the endpoint carry.
	Answer PlanAnswer `json:"answer"`
	// Reverse answers --users: the quotas that many users need.
	Reverse *PlanReverse `json:"reverse,omitempty"`
	// Cost is the cost at every level, when prices were given.
	Cost *CostPlan `json:"cost,omitempty"`
	// Warnings are conditions that make the plan misleading.
	Warnings []string `json:"warnings,omitempty"`
}

// PlanAnswer is the plan's answer in numbers and in one sentence.
type PlanAnswer struct {
	// Users is the most users any level meeting the targets supports
	// within every limit at headroom (rounded down); 0 when none does.
	Users int `json:"users"`
	// Binding is the limit that sets it: rpm, tpm or endpoint.
	Binding string `json:"binding,omitempty"`
	// Level and Dir name the level whose measurements set it.
	Level float64 `json:"level,omitempty"`
	Dir   string  `json:"dir,omitempty"`
	// LatencyLevel, LatencyDir and ResponseTimeP95S: the smallest level
	// meeting the targets that carried at least Users users, and its p95
	// response time, s — an upper bound on what Users users wait.
	LatencyLevel     float64 `json:"latency_level,omitempty"`
	LatencyDir       string  `json:"latency_dir,omitempty"`
	ResponseTimeP95S float64 `json:"response_time_p95_s,omitempty"`
	// AtTop: the highest level measured meets the targets, so the
	// endpoint's own limit was not reached.
	AtTop    bool   `json:"at_top,omitempty"`
	Sentence string `json:"sentence"`
}

// PlanReverse is what Users users need.
type PlanReverse struct {
	Users int `json:"users"`
	// Level and Dir: the level whose measurements are used, the smallest
	// meeting the targets that carried Users users (else the one that
	// carried most; Carried then false).
	Level   float64 `json:"level"`
	Dir     string  `json:"dir"`
	Carried bool    `json:"carried"`
	// RequestsPerMin and TokensPerMin are the load Users users put on a
	// quota: Users × rate × attempts (tokens) per request.
	RequestsPerMin float64 `json:"requests_per_min"`
	TokensPerMin   float64 `json:"tokens_per_min"`
	// QuotaRPM and QuotaTPM are the quotas to ask for: the load ÷ headroom.
	QuotaRPM float64 `json:"quota_rpm"`
	QuotaTPM float64 `json:"quota_tpm"`
	// ResponseTimeP95S is the level's p95 response time, s.
	ResponseTimeP95S float64 `json:"response_time_p95_s"`
	Sentence         string  `json:"sentence"`
}

// MakePlan computes the plan of measured levels (in the order given).
func MakePlan(dir, kind string, levels []PlanLevel, o PlanOptions) (*Plan, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if len(levels) == 0 {
		return nil, errors.New("no measured level to plan from")
	}
	h := o.headroom()
	p := &Plan{SchemaVersion: PlanSchemaVersion, Dir: dir, Kind: kind, QuotaRPM: o.QuotaRPM, QuotaTPM: o.QuotaTPM,
		Targets: []string{}, RequestsPerUserPerMin: o.RequestsPerUserPerMin, ThinkTimeS: o.ThinkTimeS, Headroom: h}
	for _, t := range o.Targets {
		p.Targets = append(p.Targets, t.String())
	}
	for i := range levels {
		l := levels[i]
		planLevel(&l, o, h)
		if l.ClientLimited {
			p.Warnings = append(p.Warnings, fmt.Sprintf("level %s: llmload may have distorted its own measurements (client_limited)", l.Dir))
		}
		p.Levels = append(p.Levels, l)
	}
	p.Answer = answer(p, o)
	if o.Users > 0 {
		p.Reverse = reverse(p, o)
	}
	return p, nil
}

// planLevel fills the plan's figures of one level.
func planLevel(l *PlanLevel, o PlanOptions, h float64) {
	all := l.Tokens.All()
	n := l.Tokens.Requests()
	if n > 0 {
		l.AttemptsPerRequest = float64(all.Attempts) / float64(n)
		l.TokensPerRequest = float64(all.Total()) / float64(n)
	}
	R := l.ResponseTimeS
	if o.RequestsPerUserPerMin > 0 {
		l.RequestsPerUserPerMin = o.RequestsPerUserPerMin
		l.ThinkTimeS = 60/o.RequestsPerUserPerMin - R
	} else if R+o.ThinkTimeS > 0 {
		l.ThinkTimeS = o.ThinkTimeS
		l.RequestsPerUserPerMin = 60 / (R + o.ThinkTimeS)
	}
	l.LittleInFlight = l.RequestsPerS * R
	if l.RequestsPerUserPerMin > 0 {
		l.UsersCarried = l.RequestsPerS * 60 / l.RequestsPerUserPerMin
	}
	if l.MeetsTargets {
		l.UsersByEndpoint = h * l.UsersCarried
	}
	l.Users, l.Binding = l.UsersByEndpoint, BindingEndpoint
	u := l.RequestsPerUserPerMin
	if o.QuotaRPM > 0 && u > 0 && l.AttemptsPerRequest > 0 {
		v := h * o.QuotaRPM / (u * l.AttemptsPerRequest)
		l.UsersByRPM = &v
		if v < l.Users {
			l.Users, l.Binding = v, BindingRPM
		}
	}
	if o.QuotaTPM > 0 && u > 0 && l.TokensPerRequest > 0 {
		v := h * o.QuotaTPM / (u * l.TokensPerRequest)
		l.UsersByTPM = &v
		if v < l.Users {
			l.Users, l.Binding = v, BindingTPM
		}
	}
	if !l.MeetsTargets {
		l.Users = 0
	}
	switch {
	case n == 0:
		l.Notes = append(l.Notes, "no records: nothing was measured")
	case l.Tokens.Succeeded.Attempts == 0:
		l.Notes = append(l.Notes, "no request succeeded")
	}
	if l.ThinkTimeS < 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("a user cannot send %s requests/min one after another when each takes %s s: the rate is an open-loop arrival rate, not one user's loop",
			trimNum(l.RequestsPerUserPerMin), trimNum(R)))
	}
	if c := l.ConcurrencyMean; c > 0 && l.LittleInFlight > 0 && math.Abs(l.LittleInFlight/c-1) > LittleTolerance {
		l.Notes = append(l.Notes, fmt.Sprintf("Little's law does not hold: requests/s × response time = %s in flight, measured %s (off by %s): failures, retries or a level that never reached a steady state",
			trimNum(l.LittleInFlight), trimNum(c), pct(math.Abs(l.LittleInFlight/c-1))))
	}
}

// answer picks the level meeting the targets that supports the most
// users within every limit.
func answer(p *Plan, o PlanOptions) PlanAnswer {
	best := -1
	for i, l := range p.Levels {
		if l.MeetsTargets && (best < 0 || l.Users > p.Levels[best].Users) {
			best = i
		}
	}
	a := PlanAnswer{}
	quota := quotaText(o, p.Headroom)
	user := userText(o)
	if best < 0 {
		a.Sentence = fmt.Sprintf("No measured level met the targets (%s): %s, the endpoint supports no users at them.", targetText(p.Targets), quota)
		return a
	}
	b := p.Levels[best]
	a.Users = int(math.Floor(b.Users + 1e-9))
	a.Binding, a.Level, a.Dir = b.Binding, b.Level, b.Dir
	a.AtTop = best == len(p.Levels)-1 || allBelow(p.Levels[best+1:], b.Level)
	lat := best
	for i, l := range p.Levels {
		if l.MeetsTargets && l.UsersCarried >= float64(a.Users) && l.UsersCarried < p.Levels[lat].UsersCarried {
			lat = i
		}
	}
	a.LatencyLevel, a.LatencyDir, a.ResponseTimeP95S = p.Levels[lat].Level, p.Levels[lat].Dir, p.Levels[lat].ResponseTimeP95S
	a.Sentence = fmt.Sprintf("%s, the endpoint supports %d concurrent users (%s) at p95 response time %s s (measured at %s); the binding limit is %s.",
		capitalize(quota), a.Users, user, trimNum(a.ResponseTimeP95S), a.LatencyDir, bindingText(a.Binding, p.Targets))
	if a.AtTop && a.Binding == BindingEndpoint {
		a.Sentence += " The highest level measured met the targets: the endpoint may carry more; sweep higher."
	}
	return a
}

// allBelow tells whether no level of ls is above level (the levels after
// the best are smaller: an auto sweep's order).
func allBelow(ls []PlanLevel, level float64) bool {
	for _, l := range ls {
		if l.Level > level {
			return false
		}
	}
	return true
}

// reverse answers: what quota do Users users need?
func reverse(p *Plan, o PlanOptions) *PlanReverse {
	n := float64(o.Users)
	pick, most := -1, -1
	for i, l := range p.Levels {
		if !l.MeetsTargets {
			continue
		}
		if l.UsersCarried >= n && (pick < 0 || l.UsersCarried < p.Levels[pick].UsersCarried) {
			pick = i
		}
		if most < 0 || l.UsersCarried > p.Levels[most].UsersCarried {
			most = i
		}
	}
	r := &PlanReverse{Users: o.Users, Carried: pick >= 0}
	if pick < 0 {
		pick = most
	}
	if pick < 0 { // no level meets the targets: the highest load measured
		for i, l := range p.Levels {
			if pick < 0 || l.UsersCarried > p.Levels[pick].UsersCarried {
				pick = i
			}
		}
	}
	l := p.Levels[pick]
	r.Level, r.Dir, r.ResponseTimeP95S = l.Level, l.Dir, l.ResponseTimeP95S
	r.RequestsPerMin = n * l.RequestsPerUserPerMin * l.AttemptsPerRequest
	r.TokensPerMin = n * l.RequestsPerUserPerMin * l.TokensPerRequest
	r.QuotaRPM, r.QuotaTPM = r.RequestsPerMin/p.Headroom, r.TokensPerMin/p.Headroom
	r.Sentence = fmt.Sprintf("%d users (%s) need %s requests/min and %s tokens/min; at %s headroom, ask for a quota of %s RPM and %s TPM (measured at %s, p95 response time %s s).",
		o.Users, userText(o), fmtRound(r.RequestsPerMin), fmtRound(r.TokensPerMin), pct(p.Headroom),
		fmtRound(math.Ceil(r.QuotaRPM)), fmtRound(math.Ceil(r.QuotaTPM)), l.Dir, trimNum(r.ResponseTimeP95S))
	if !r.Carried {
		r.Sentence += fmt.Sprintf(" No measured level carried %d users within the targets: the endpoint itself needs more capacity, and these figures extrapolate from %s.", o.Users, l.Dir)
	}
	return r
}

func quotaText(o PlanOptions, h float64) string {
	var q []string
	if o.QuotaRPM > 0 {
		q = append(q, fmtRound(o.QuotaRPM)+" RPM")
	}
	if o.QuotaTPM > 0 {
		q = append(q, fmtRound(o.QuotaTPM)+" TPM")
	}
	if len(q) == 0 {
		return fmt.Sprintf("with no quota, planned at %s of the measured capacity", pct(h))
	}
	return fmt.Sprintf("with a quota of %s, planned at %s of every limit", strings.Join(q, " and "), pct(h))
}

func userText(o PlanOptions) string {
	if o.RequestsPerUserPerMin > 0 {
		return fmt.Sprintf("each sending %s requests/min", trimNum(o.RequestsPerUserPerMin))
	}
	return fmt.Sprintf("each waiting for its response, then thinking %s s", trimNum(o.ThinkTimeS))
}

func targetText(ts []string) string {
	if len(ts) == 0 {
		return "error rate at most 5%"
	}
	return strings.Join(ts, ", ")
}

func bindingText(b string, targets []string) string {
	switch b {
	case BindingRPM:
		return "RPM"
	case BindingTPM:
		return "TPM"
	}
	return "the endpoint itself (its measured capacity within " + targetText(targets) + ")"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fmtRound writes a count rounded to a whole number with thousands
// separators: 600000 → "600,000".
func fmtRound(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// trimNum is fmtNum without trailing zeros: 30 → "30", 2.5 → "2.5".
func trimNum(v float64) string {
	s := fmtNum(v)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
