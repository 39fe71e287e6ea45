package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RecommendSchemaVersion is the version of the Recommendation JSON schema
// (llmload plan --simulate --out, llmload plan DIR1 DIR2 --out). A
// change of meaning bumps it.
const RecommendSchemaVersion = 1

// Recommendation criteria, the names DeploymentResult.Best takes.
const (
	BestLatency    = "lowest_latency"
	BestThroughput = "highest_throughput"
	BestCost       = "lowest_cost"
)

// Deployment is one way to serve a model whose sweep a recommendation
// compares: simulated from the catalog or measured.
type Deployment struct {
	// Label names the deployment in the table ("8xa10g:tp2", a sweep's name).
	Label string `json:"label"`
	// Source is "simulated" (sim.SimulateSweep) or "measured" (a sweep
	// directory).
	Source string `json:"source"`
	// Spec is the simulator profile (MODEL@NxACCEL:tpT:rR) of a simulated
	// deployment, or the sweep directory of a measured one.
	Spec string `json:"spec"`
	// Accelerator, DevicesPerInstance, TP, Replicas and Instances describe
	// a simulated deployment: Instances instances of DevicesPerInstance
	// devices each, split into Replicas replicas of tensor-parallel degree
	// TP (Replicas × TP = Instances × DevicesPerInstance). 0 when unknown
	// (a measured sweep).
	Accelerator        string `json:"accelerator,omitempty"`
	DevicesPerInstance int    `json:"devices_per_instance,omitempty"`
	TP                 int    `json:"tp,omitempty"`
	Replicas           int    `json:"replicas,omitempty"`
	Instances          int    `json:"instances,omitempty"`
	// Instance is the instance type of the price table that priced it.
	Instance string `json:"instance,omitempty"`
	// PricePerHour is the price per hour of all its instances together,
	// dollars; absent when unpriced.
	PricePerHour *float64 `json:"price_per_hour,omitempty"`
	// PriceSource says where the price came from: "instance table",
	// "--deployment-price" or "sweep" (the sweep's --price-per-hour).
	PriceSource string `json:"price_source,omitempty"`
}

// RecLevel is one level of a deployment's sweep, as the table shows it.
// Times are seconds.
type RecLevel struct {
	Level            float64 `json:"level"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	RequestsPerS     float64 `json:"requests_per_s"`
	TTFTP50          float64 `json:"ttft_p50_s"`
	TPOTP50          float64 `json:"tpot_p50_s"`
	E2EP50           float64 `json:"e2e_p50_s"`
	E2EP95           float64 `json:"e2e_p95_s"`
	// CostPer1MOutputTokens is the deployment's price per hour × 1e6 /
	// (output tokens/s × 3600), dollars; absent when unpriced.
	CostPer1MOutputTokens *float64 `json:"cost_per_1m_output_tokens,omitempty"`
}

// DeploymentResult is one deployment's line of the recommendation.
type DeploymentResult struct {
	Deployment Deployment `json:"deployment"`
	// Levels are the sweep's levels (SweepRow, as in sweep.json).
	Levels []SweepRow `json:"levels"`
	// Eligible tells whether any level meets the latency ceiling (true
	// without one).
	Eligible bool `json:"eligible"`
	// LowestLatency is the lowest level (concurrency 1 in a closed-loop
	// sweep from 1) meeting the ceiling: the latency one request sees on
	// an idle deployment. Absent when no level meets it.
	LowestLatency *RecLevel `json:"lowest_latency,omitempty"`
	// HighestThroughput is the level of the highest output tokens/s among
	// those meeting the ceiling; its cost is the deployment's cost.
	HighestThroughput *RecLevel `json:"highest_throughput,omitempty"`
	// Knee is the knee of the curve (FindKnee): the target method under
	// the ceiling when given and found, else curvature, else marginal
	// E2E, else marginal TTFT; absent when no method placed it.
	Knee *KneeMethod `json:"knee,omitempty"`
	// Best lists the criteria (lowest_latency, highest_throughput,
	// lowest_cost) this deployment wins.
	Best []string `json:"best,omitempty"`
	// Notes say where a number may mislead (throughput still rising at
	// the last level, timeouts, client-limited levels).
	Notes []string `json:"notes,omitempty"`
	// Plan is the capacity plan of the deployment's sweep under the
	// quotas and users given (plan.json's fields, the ceiling as its
	// targets); absent without --quota-rpm, --quota-tpm or --users.
	Plan *Plan `json:"plan,omitempty"`
}

// Split compares the ways to split one instance shape into replicas:
// every tensor-parallel degree that was run on it.
type Split struct {
	// Shape is the instances' shape, e.g. "8xa10g" (with :rR when several).
	Shape string `json:"shape"`
	// Labels are the deployments compared, by TP from 1 up.
	Labels []string `json:"labels"`
	// BestThroughput and BestLatency are the labels of the split with the
	// highest throughput and the lowest latency at the lowest level.
	BestThroughput string `json:"best_throughput"`
	BestLatency    string `json:"best_latency"`
	// ThroughputRatio is the best split's highest throughput ÷ that of
	// the largest TP (one replica per instance).
	ThroughputRatio float64 `json:"throughput_ratio"`
	Sentence        string  `json:"sentence"`
}

// Recommendation compares deployments of one model.
type Recommendation struct {
	SchemaVersion int    `json:"schema_version"`
	Model         string `json:"model"`
	// InputTokens and OutputTokens are a simulated request's lengths; 0
	// for measured sweeps.
	InputTokens  int `json:"input_tokens,omitempty"`
	OutputTokens int `json:"output_tokens,omitempty"`
	// MaxLatency is the latency ceiling, threshold syntax; empty without.
	MaxLatency  []string           `json:"max_latency,omitempty"`
	Deployments []DeploymentResult `json:"deployments"`
	// LowestLatency, HighestThroughput and LowestCost are the winning
	// deployments' labels; empty when none qualifies.
	LowestLatency     string  `json:"lowest_latency"`
	HighestThroughput string  `json:"highest_throughput"`
	LowestCost        string  `json:"lowest_cost"`
	Splits            []Split `json:"splits,omitempty"`
	// Sentence is the recommendation in one sentence.
	Sentence string   `json:"sentence"`
	Notes    []string `json:"notes,omitempty"`
}

// DeploymentSweep is the input of Recommend: a deployment and its levels.
type DeploymentSweep struct {
	Deployment Deployment
	Rows       []SweepRow
}

// ceilingValue returns the value of a ceiling's metric in a sweep row:
// the latency percentiles a sweep row holds, its throughputs and error
// rate.
func ceilingValue(r SweepRow, metric string) (float64, bool) {
	v, ok := map[string]float64{
		"ttft_p50": r.TTFTP50, "ttft_p90": r.TTFTP90, "ttft_p95": r.TTFTP95, "ttft_p99": r.TTFTP99,
		"e2e_p50": r.E2EP50, "e2e_p90": r.E2EP90, "e2e_p95": r.E2EP95, "e2e_p99": r.E2EP99,
		"tpot_p50": r.TPOTP50, "tpot_p95": r.TPOTP95,
		"output_tokens_per_s": r.OutputTokensPerS, "requests_per_s": r.RequestsPerS, "error_rate": r.ErrorRate,
	}[metric]
	return v, ok
}

// CheckCeiling returns an error when a threshold cannot be judged on a
// sweep's rows.
func CheckCeiling(ts []Threshold) error {
	var errs []error
	for _, t := range ts {
		if _, ok := ceilingValue(SweepRow{}, t.metric); !ok {
			errs = append(errs, fmt.Errorf("--max-latency %s: a sweep row has no %s (want ttft, e2e at p50, p90, p95 or p99, tpot at p50 or p95, output_tokens_per_s, requests_per_s, error_rate)", t, t.metric))
		}
	}
	return errors.Join(errs...)
}

// meets tells whether r meets every ceiling; a ceiling on a p95 a row
// lacks (0: written before it existed) fails.
func meets(r SweepRow, ts []Threshold) bool {
	for _, t := range ts {
		v, ok := ceilingValue(r, t.metric)
		if !ok || (v == 0 && strings.Contains(t.metric, "_p")) || !t.op.holds(v, t.limit) {
			return false
		}
	}
	return r.Succeeded > 0
}

func recLevel(r SweepRow, price *float64) *RecLevel {
	l := &RecLevel{Level: r.Level, OutputTokensPerS: r.OutputTokensPerS, RequestsPerS: r.RequestsPerS,
		TTFTP50: r.TTFTP50, TPOTP50: r.TPOTP50, E2EP50: r.E2EP50, E2EP95: r.E2EP95}
	if price != nil {
		if c, ok := (InstancePrice{PerHour: *price, Instances: 1}).CostPer1M(r.OutputTokensPerS); ok {
			l.CostPer1MOutputTokens = &c
		}
	}
	return l
}

// Recommend compares the sweeps of deployments of one model: per
// deployment its lowest latency, its highest throughput and the cost per
// 1M output tokens there, its knee, all under the ceiling; then which
// deployment is best for each, and the ways each instance shape splits
// into replicas. Rows are closed-loop levels (concurrency).
func Recommend(model string, ds []DeploymentSweep, ceiling []Threshold) (*Recommendation, error) {
	if len(ds) == 0 {
		return nil, errors.New("no deployments to compare")
	}
	if err := CheckCeiling(ceiling); err != nil {
		return nil, err
	}
	rec := &Recommendation{SchemaVersion: RecommendSchemaVersion, Model: model}
	var slos []SLO
	for _, t := range ceiling {
		rec.MaxLatency = append(rec.MaxLatency, t.String())
		// The knee's target method judges ttft, tpot and e2e at p95.
		if base, ok := strings.CutSuffix(t.metric, "_p95"); ok && (base == "ttft" || base == "tpot" || base == "e2e") {
			if s, err := ParseSLO(base + string(t.op) + formatLimit(t.num, t.unit)); err == nil {
				slos = append(slos, s)
			}
		}
	}
	for _, d := range ds {
		rows := slices.Clone(d.Rows)
		slices.SortStableFunc(rows, func(a, b SweepRow) int { return cmp.Compare(a.Level, b.Level) })
		res := DeploymentResult{Deployment: d.Deployment, Levels: rows}
		price := d.Deployment.PricePerHour
		var best *SweepRow
		for i := range rows {
			r := rows[i]
			if r.Succeeded < r.Requests {
				res.Notes = appendOnce(res.Notes, fmt.Sprintf("level %s: %d of %d requests failed or timed out; its throughput counts only successes", lvl(r.Level), r.Requests-r.Succeeded, r.Requests))
			}
			if r.ClientLimited {
				res.Notes = append(res.Notes, fmt.Sprintf("level %s: llmload was client-limited; its numbers may understate the endpoint", lvl(r.Level)))
			}
			if !meets(r, ceiling) {
				continue
			}
			if res.LowestLatency == nil {
				res.LowestLatency = recLevel(r, price)
			}
			if best == nil || r.OutputTokensPerS > best.OutputTokensPerS {
				best = &rows[i]
			}
		}
		res.Eligible = best != nil
		if best != nil {
			res.HighestThroughput = recLevel(*best, price)
			if last := rows[len(rows)-1]; best.Level == last.Level && len(rows) > 1 {
				prev := rows[len(rows)-2]
				if prev.OutputTokensPerS > 0 && last.OutputTokensPerS > 1.05*prev.OutputTokensPerS {
					res.Notes = append(res.Notes, fmt.Sprintf("throughput still rises at the last level (%s: %.4g → %.4g tokens/s): the maximum lies beyond it; add higher levels",
						lvl(last.Level), prev.OutputTokensPerS, last.OutputTokensPerS))
				}
			}
		} else if len(ceiling) > 0 {
			res.Notes = append(res.Notes, "no level meets the latency ceiling")
		}
		k := FindKnee(rows, KneeOptions{SLOs: slos, Integer: true})
		for _, name := range []string{KneeTarget, KneeCurvature, KneeMarginalE2E, KneeMarginalTTFT} {
			for _, m := range k.Methods {
				if m.Method == name && m.Found && res.Knee == nil {
					m := m
					res.Knee = &m
				}
			}
		}
		rec.Deployments = append(rec.Deployments, res)
	}
	rec.pickBest()
	rec.Splits = splits(rec.Deployments)
	rec.Sentence = rec.sentence()
	return rec, nil
}

func appendOnce(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

// pickBest marks the winner of each criterion: the lowest E2E p50 at the
// lowest level, the highest throughput, the lowest cost per 1M output
// tokens at the highest throughput. Ties go to the first deployment.
func (rec *Recommendation) pickBest() {
	lat, thr, cost := -1, -1, -1
	for i, d := range rec.Deployments {
		if !d.Eligible {
			continue
		}
		if lat < 0 || d.LowestLatency.E2EP50 < rec.Deployments[lat].LowestLatency.E2EP50 {
			lat = i
		}
		if thr < 0 || d.HighestThroughput.OutputTokensPerS > rec.Deployments[thr].HighestThroughput.OutputTokensPerS {
			thr = i
		}
		if c := d.HighestThroughput.CostPer1MOutputTokens; c != nil && (cost < 0 || *c < *rec.Deployments[cost].HighestThroughput.CostPer1MOutputTokens) {
			cost = i
		}
	}
	mark := func(i int, crit string, label *string) {
		if i >= 0 {
			rec.Deployments[i].Best = append(rec.Deployments[i].Best, crit)
			*label = rec.Deployments[i].Deployment.Label
		}
	}
	mark(lat, BestLatency, &rec.LowestLatency)
	mark(thr, BestThroughput, &rec.HighestThroughput)
	mark(cost, BestCost, &rec.LowestCost)
	lows := map[float64]bool{}
	for _, d := range rec.Deployments {
		if d.Eligible {
			lows[d.LowestLatency.Level] = true
		}
	}
	if len(lows) > 1 {
		rec.Notes = append(rec.Notes, "the deployments' lowest levels differ: their lowest latencies are not at the same load, and the lowest latency compares unlike things")
	}
	priced := 0
	for _, d := range rec.Deployments {
		if d.Deployment.PricePerHour != nil {
			priced++
		}
	}
	if priced > 0 && priced < len(rec.Deployments) {
		rec.Notes = append(rec.Notes, fmt.Sprintf("only %d of %d deployments have a price: the lowest cost is among those", priced, len(rec.Deployments)))
	}
}

func (rec *Recommendation) find(label string) *DeploymentResult {
	for i := range rec.Deployments {
		if rec.Deployments[i].Deployment.Label == label {
			return &rec.Deployments[i]
		}
	}
	return nil
}

func (rec *Recommendation) sentence() string {
	var parts []string
	if d := rec.find(rec.LowestLatency); d != nil {
		l := d.LowestLatency
		parts = append(parts, fmt.Sprintf("lowest latency on %s (%.3g s per request, %.3g ms/token at level %s)", d.Deployment.Label, l.E2EP50, 1000*l.TPOTP50, lvl(l.Level)))
	}
	if d := rec.find(rec.HighestThroughput); d != nil {
		l := d.HighestThroughput
		parts = append(parts, fmt.Sprintf("highest throughput on %s (%.4g output tokens/s at level %s)", d.Deployment.Label, l.OutputTokensPerS, lvl(l.Level)))
	}
	if d := rec.find(rec.LowestCost); d != nil {
		l := d.HighestThroughput
		parts = append(parts, fmt.Sprintf("lowest cost on %s ($%.3g per 1M output tokens at %.4g tokens/s)", d.Deployment.Label, *l.CostPer1MOutputTokens, l.OutputTokensPerS))
	}
	under := ""
	if len(rec.MaxLatency) > 0 {
		under = " under " + strings.Join(rec.MaxLatency, " and ")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("No deployment of %s has a level%s: none can be recommended.", rec.Model, under)
	}
	s := fmt.Sprintf("For %s%s: %s", rec.Model, under, strings.Join(parts, "; "))
	if rec.LowestLatency == rec.HighestThroughput && rec.HighestThroughput == rec.LowestCost {
		s += fmt.Sprintf(" — %s wins on every count", rec.LowestCost)
	}
	return s + "."
}

// splits groups the simulated deployments by instance shape (devices ×
// accelerator × instances) and compares the tensor-parallel degrees of
// every shape run with at least two.
func splits(ds []DeploymentResult) []Split {
	type key struct {
		acc           string
		devices, inst int
	}
	groups := map[key][]int{}
	var order []key
	for i, d := range ds {
		dp := d.Deployment
		if dp.TP == 0 || !d.Eligible {
			continue
		}
		k := key{dp.Accelerator, dp.DevicesPerInstance, dp.Instances}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	var out []Split
	for _, k := range order {
		idx := groups[k]
		tps := map[int]bool{}
		for _, i := range idx {
			tps[ds[i].Deployment.TP] = true
		}
		if len(tps) < 2 {
			continue
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(ds[a].Deployment.TP, ds[b].Deployment.TP) })
		sp := Split{Shape: fmt.Sprintf("%dx%s", k.devices, k.acc)}
		if k.inst > 1 {
			sp.Shape += fmt.Sprintf(":r%d", k.inst)
		}
		thr, lat := idx[0], idx[0]
		for _, i := range idx {
			sp.Labels = append(sp.Labels, ds[i].Deployment.Label)
			if ds[i].HighestThroughput.OutputTokensPerS > ds[thr].HighestThroughput.OutputTokensPerS {
				thr = i
			}
			if ds[i].LowestLatency.E2EP50 < ds[lat].LowestLatency.E2EP50 {
				lat = i
			}
		}
		big := idx[len(idx)-1] // the largest TP: fewest replicas
		sp.BestThroughput, sp.BestLatency = ds[thr].Deployment.Label, ds[lat].Deployment.Label
		bt, gt := ds[thr].HighestThroughput.OutputTokensPerS, ds[big].HighestThroughput.OutputTokensPerS
		if gt > 0 {
			sp.ThroughputRatio = bt / gt
		}
		d := func(i int) string {
			return fmt.Sprintf("%d × TP %d", ds[i].Deployment.Replicas, ds[i].Deployment.TP)
		}
		if thr == big {
			sp.Sentence = fmt.Sprintf("On %s, one replica per instance (%s) gives the highest throughput, %.4g tokens/s", sp.Shape, d(big), bt)
		} else {
			sp.Sentence = fmt.Sprintf("On %s, %s replicas give %.4g tokens/s, %.3g× the %.4g of %s", sp.Shape, d(thr), bt, sp.ThroughputRatio, gt, d(big))
		}
		sp.Sentence += fmt.Sprintf("; the lowest latency is %s's (%.3g ms/token at level %s).", d(lat), 1000*ds[lat].LowestLatency.TPOTP50, lvl(ds[lat].LowestLatency.Level))
		out = append(out, sp)
	}
	return out
}
