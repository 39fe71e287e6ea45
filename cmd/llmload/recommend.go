package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/reportgen"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/theory"
)

// recFlags are the flags of llmload plan's recommendations: --simulate
// and several sweep directories.
type recFlags struct {
	simulate                bool
	model, deployments      string
	split                   stringList
	concurrency             string
	inTok, outTok, requests int
	maxConcurrent           int
	maxLatency              stringList
	instancePrices, catalog string
	deploymentPrice         stringList
	labels                  stringList
	printInstances          bool
	ceiling                 []analysis.Threshold // parsed --max-latency
}

// recommendFlags adds the recommendation flags to plan's flag set.
func (f *recFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&f.simulate, "simulate", false, "simulate a sweep of --model on every --deployments entry (no endpoint, no real time) and recommend a deployment")
	fs.StringVar(&f.model, "model", "", "with --simulate: the model, a theory catalog id, e.g. llama-2-7b (see 'llmload theory --list')")
	fs.StringVar(&f.deployments, "deployments", "", "with --simulate: deployments NxACCEL[:tpT][:rR], comma-separated, e.g. 1xa10g,4xa10g,8xa10g:tp1")
	fs.Var(&f.split, "split", "with --simulate: an instance shape NxACCEL[:rR] to split every way, TP 1, 2, 4, … N (repeatable)")
	fs.StringVar(&f.concurrency, "concurrency", "1,2,4,8,16,32,64,128,256,512", "with --simulate: the closed-loop concurrency levels, comma-separated")
	fs.IntVar(&f.inTok, "input-tokens", 256, "with --simulate: prompt tokens per request")
	fs.IntVar(&f.outTok, "output-tokens", 256, "with --simulate: output tokens per request")
	fs.IntVar(&f.requests, "requests", 0, "with --simulate: requests completed per level (default max(10 × concurrency, 200))")
	fs.IntVar(&f.maxConcurrent, "max-concurrent-requests", 128, "with --simulate: running + queued requests per replica (TGI's MAX_CONCURRENT_REQUESTS); clients beyond it wait; -1: unlimited")
	fs.Var(&f.maxLatency, "max-latency", "a latency ceiling every recommended level must meet, threshold syntax on a sweep row, e.g. 'e2e_p95<=10s' (repeatable)")
	fs.StringVar(&f.instancePrices, "instance-prices", "", "YAML instance price table to use instead of the built-in one (see --print-instance-prices)")
	fs.Var(&f.deploymentPrice, "deployment-price", "price per hour of all of one deployment's instances, LABEL=DOLLARS, e.g. 8xa10g:tp2=16.288 (repeatable; overrides the table)")
	fs.Var(&f.labels, "label", "with several sweep directories: the label of each, in order (default: the directory's name; repeatable)")
	fs.StringVar(&f.catalog, "catalog", "", "with --simulate: YAML theory catalog to use instead of the built-in one")
	fs.BoolVar(&f.printInstances, "print-instance-prices", false, "print the built-in instance price table (YAML), to copy and edit")
}

// used tells whether any recommendation flag was given.
func (f *recFlags) used(set map[string]bool) []string {
	var on []string
	for _, n := range []string{"model", "deployments", "split", "concurrency", "input-tokens", "output-tokens", "requests", "max-concurrent-requests", "catalog"} {
		if set[n] {
			on = append(on, "--"+n)
		}
	}
	return on
}

// recommend answers llmload plan --simulate and llmload plan DIR1 DIR2 …
func (c *cli) recommend(dirs []string, f *recFlags, pf *planFlags) int {
	if err := c.recommendErr(dirs, f, pf); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return c.usageErr("plan", ue.error)
		}
		fmt.Fprintf(c.stderr, "llmload plan: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// usageError is bad input: exit status 2.
type usageError struct{ error }

func (c *cli) recommendErr(dirs []string, f *recFlags, pf *planFlags) error {
	bad := func(err error) error { return usageError{err} }
	var errs []error
	// --target is plan's word for a ceiling: in a comparison it is one.
	ceiling, err := analysis.ParseThresholds(append(slices.Clone(f.maxLatency), pf.targets...))
	if err != nil {
		errs = append(errs, err)
	} else if err := analysis.CheckCeiling(ceiling); err != nil {
		errs = append(errs, err)
	}
	table := analysis.BuiltinInstances()
	if f.instancePrices != "" {
		b, err := os.ReadFile(f.instancePrices)
		if err != nil {
			errs = append(errs, fmt.Errorf("--instance-prices: %w", err))
		} else if table, err = analysis.ParseInstances(b); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.instancePrices, err))
		}
	}
	prices := map[string]float64{}
	for _, dp := range f.deploymentPrice {
		i := strings.LastIndex(dp, "=")
		label, v, ok := dp, "", i >= 0
		if ok {
			label, v = dp[:i], dp[i+1:]
		}
		p, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(v), "$"), 64)
		if !ok || label == "" || err != nil || !(p > 0) || p > 1e9 {
			errs = append(errs, fmt.Errorf("--deployment-price %q: want LABEL=DOLLARS per hour, e.g. 8xa10g:tp2=16.288", dp))
			continue
		}
		prices[label] = p
	}
	for _, n := range []string{"price-model", "prices", "price-input", "price-output", "price-cached-input", "price-batch", "price-batch-discount", "price-per-hour", "instances", "group", "headroom"} {
		if pf.set[n] {
			errs = append(errs, fmt.Errorf("--%s applies to one sweep (llmload plan DIR), not to a comparison of deployments; use --max-latency for a ceiling and --deployment-price or --instance-prices for prices", n))
		}
	}
	// The quota and user questions apply to every deployment.
	planning := pf.set["quota-rpm"] || pf.set["quota-tpm"] || pf.set["users"]
	if !planning {
		for _, n := range []string{"requests-per-user-per-min", "think-time", "headroom"} {
			if pf.set[n] {
				errs = append(errs, fmt.Errorf("--%s defines the users of a capacity plan: give --quota-rpm, --quota-tpm or --users too", n))
			}
		}
	} else if err := pf.resolve(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return bad(err)
	}
	var (
		rec     *analysis.Recommendation
		ds      []analysis.DeploymentSweep
		skipped []string
		levels  = map[string][]analysis.PlanLevel{} // by label, for the plans
	)
	pf.opts.Targets, f.ceiling = ceiling, ceiling
	model := f.model
	if f.simulate {
		if len(dirs) > 0 {
			return bad(fmt.Errorf("--simulate takes no directory (got %s): it simulates every deployment", strings.Join(dirs, " ")))
		}
		if len(f.labels) > 0 {
			return bad(errors.New("--label names sweep directories; simulated deployments are labelled by their spec"))
		}
		cat := theory.Builtin()
		if f.catalog != "" {
			b, err := os.ReadFile(f.catalog)
			if err != nil {
				return bad(fmt.Errorf("--catalog: %w", err))
			}
			if cat, err = theory.ParseCatalog(b); err != nil {
				return bad(fmt.Errorf("%s: %w", f.catalog, err))
			}
		}
		if ds, model, skipped, err = simulateDeployments(cat, table, f, levels); err != nil {
			return bad(err)
		}
	} else {
		if on := f.used(pf.set); len(on) > 0 {
			return bad(fmt.Errorf("%s only apply with --simulate", strings.Join(on, ", ")))
		}
		if len(f.labels) > 0 && len(f.labels) != len(dirs) {
			return bad(fmt.Errorf("%d --label for %d directories: give one per directory, in order", len(f.labels), len(dirs)))
		}
		if ds, model, err = measuredDeployments(dirs, f.labels); err != nil {
			return bad(err)
		}
		if planning {
			for i, d := range ds {
				kind, ls, warns, err := loadPlanLevels(dirs[i], "", ceiling)
				if err != nil {
					return bad(err)
				}
				if kind != analysis.SweepConcurrency {
					return bad(fmt.Errorf("%s: not a concurrency sweep", dirs[i]))
				}
				levels[d.Deployment.Label] = ls
				for _, w := range warns {
					skipped = append(skipped, d.Deployment.Label+": "+w)
				}
			}
		}
	}
	var unused []string
	for i := range ds {
		d := &ds[i].Deployment
		if p, ok := prices[d.Label]; ok {
			d.PricePerHour, d.PriceSource = &p, "--deployment-price"
			delete(prices, d.Label)
		}
	}
	for l := range prices {
		unused = append(unused, strconv.Quote(l))
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		var labels []string
		for _, d := range ds {
			labels = append(labels, d.Deployment.Label)
		}
		return bad(fmt.Errorf("--deployment-price: no deployment labelled %s (deployments: %s)", strings.Join(unused, ", "), strings.Join(labels, ", ")))
	}
	if rec, err = analysis.Recommend(model, ds, ceiling); err != nil {
		return bad(err)
	}
	rec.Notes = append(rec.Notes, skipped...)
	if planning {
		for i := range rec.Deployments {
			d := &rec.Deployments[i]
			p, err := analysis.MakePlan(d.Deployment.Spec, analysis.SweepConcurrency, levels[d.Deployment.Label], pf.opts)
			if err != nil {
				return bad(fmt.Errorf("%s: %w", d.Deployment.Label, err))
			}
			d.Plan = p
		}
	}
	if f.simulate {
		rec.InputTokens, rec.OutputTokens = f.inTok, f.outTok
		rec.Notes = append(rec.Notes, "simulated on the engine's virtual clock from the catalog (docs/simulator.md): a prediction, not a measurement; uncalibrated accelerator families borrow a calibrated one's parameters")
	}
	for _, d := range rec.Deployments {
		if d.Deployment.PriceSource == "instance table" {
			rec.Notes = append(rec.Notes, "instance prices are the built-in table's illustrative on-demand prices (llmload plan --print-instance-prices); replace them with --instance-prices FILE or --deployment-price")
			break
		}
	}
	if pf.out != "" {
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(pf.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	writeRecommendation(c.stdout, rec)
	if pf.out != "" {
		fmt.Fprintf(c.stdout, "\nrecommendation written to %s\n", pf.out)
	}
	return nil
}

// splitSpecs expands an instance shape NxACCEL[:rR] into its splits:
// TP t for every t dividing N, from 1 up.
func splitSpecs(shape string) ([]string, error) {
	if strings.Contains(shape, ":tp") {
		return nil, fmt.Errorf("--split %q: give the instance shape without :tp, e.g. 8xa10g", shape)
	}
	base, r, _ := strings.Cut(shape, ":")
	sp, err := sim.ParseSpec("m@" + base)
	if err != nil {
		return nil, fmt.Errorf("--split %q: want NxACCEL[:rR], e.g. 8xa10g", shape)
	}
	var out []string
	for t := 1; t <= sp.Devices; t++ {
		if sp.Devices%t == 0 {
			s := fmt.Sprintf("%s:tp%d", base, t)
			if r != "" {
				s += ":" + r
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// simulateDeployments simulates f's sweep on every deployment.
func simulateDeployments(cat *theory.Catalog, table *analysis.InstanceTable, f *recFlags, plans map[string][]analysis.PlanLevel) (_ []analysis.DeploymentSweep, model string, skipped []string, _ error) {
	if f.model == "" {
		return nil, "", nil, errors.New("--simulate needs --model (a theory catalog id, see 'llmload theory --list')")
	}
	m, err := cat.Model(f.model)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--model: %w", err)
	}
	var specs []string
	for d := range strings.SplitSeq(f.deployments, ",") {
		if d = strings.TrimSpace(d); d != "" {
			specs = append(specs, d)
		}
	}
	given := slices.Clone(specs)
	splitSet := map[string]bool{}
	for _, sh := range f.split {
		ss, err := splitSpecs(sh)
		if err != nil {
			return nil, "", nil, err
		}
		for _, s := range ss {
			splitSet[s] = true
			if !slices.Contains(specs, s) {
				specs = append(specs, s)
			}
		}
	}
	if len(specs) == 0 {
		return nil, "", nil, errors.New("--simulate needs --deployments (e.g. 1xa10g,4xa10g,8xa10g:tp1) or --split (e.g. 8xa10g)")
	}
	var levels []int
	for s := range strings.SplitSeq(f.concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 100000 {
			return nil, "", nil, fmt.Errorf("--concurrency: %q is not a positive integer", s)
		}
		if !slices.Contains(levels, n) {
			levels = append(levels, n)
		}
	}
	slices.Sort(levels)
	switch {
	case f.inTok < 1 || f.outTok < 1:
		return nil, "", nil, fmt.Errorf("--input-tokens %d, --output-tokens %d: want at least 1 each", f.inTok, f.outTok)
	case f.requests < 0:
		return nil, "", nil, fmt.Errorf("--requests %d: want a number ≥ 0", f.requests)
	case f.maxConcurrent < -1:
		return nil, "", nil, fmt.Errorf("--max-concurrent-requests %d: want a number ≥ 0, or -1 for unlimited", f.maxConcurrent)
	}
	f.maxConcurrent = max(f.maxConcurrent, 0) // -1 and 0: unlimited, as llmload sim's
	w := sim.Workload{InputTokens: f.inTok, OutputTokens: f.outTok, Requests: f.requests, MaxConcurrentRequests: f.maxConcurrent}
	var out []analysis.DeploymentSweep
	var errs []error
	for _, spec := range specs {
		d, rows, pls, err := simulateDeployment(cat, table, m, spec, levels, w, f.ceiling)
		if err != nil {
			if splitSet[spec] && !slices.Contains(given, spec) {
				// A split whose replicas cannot hold the model (or the
				// workload) is not a way to split: left out, and said so.
				skipped = append(skipped, err.Error()+"; left out of the split")
				continue
			}
			errs = append(errs, err)
			continue
		}
		if slices.ContainsFunc(out, func(o analysis.DeploymentSweep) bool { return o.Deployment.Spec == d.Spec }) {
			continue // a split that is a deployment given (8xa10g is 8xa10g:tp8)
		}
		out = append(out, analysis.DeploymentSweep{Deployment: d, Rows: rows})
		plans[d.Label] = pls
	}
	if err := errors.Join(errs...); err != nil {
		return nil, "", nil, err
	}
	if len(out) == 0 {
		return nil, "", nil, fmt.Errorf("%s fits none of the deployments", m.ID)
	}
	return out, m.ID, skipped, nil
}

// simulateDeployment resolves one deployment spec, prices it from the
// table and simulates its sweep.
func simulateDeployment(cat *theory.Catalog, table *analysis.InstanceTable, m theory.Model, spec string, levels []int, w sim.Workload, ceiling []analysis.Threshold) (analysis.Deployment, []analysis.SweepRow, []analysis.PlanLevel, error) {
	sp, err := sim.ParseSpec(m.ID + "@" + spec)
	if err != nil {
		why := err.Error()
		if _, after, ok := strings.Cut(why, "\": "); ok {
			why = after
		}
		return analysis.Deployment{}, nil, nil, fmt.Errorf("--deployments %q: %s", spec, why)
	}
	acc, err := cat.Accelerator(sp.Accelerator)
	if err != nil {
		full, ok := table.AcceleratorFor(sp.Accelerator)
		if !ok {
			return analysis.Deployment{}, nil, nil, fmt.Errorf("--deployments %q: %w", spec, err)
		}
		if acc, err = cat.Accelerator(full); err != nil {
			return analysis.Deployment{}, nil, nil, fmt.Errorf("--deployments %q: %w", spec, err)
		}
	}
	instances := sp.Replicas * sp.TP / sp.Devices
	profileSpec := fmt.Sprintf("%s@%dx%s:tp%d:r%d", m.ID, sp.Devices, acc.ID, sp.TP, instances)
	p, err := sim.FromCatalog(cat, profileSpec)
	if err != nil {
		return analysis.Deployment{}, nil, nil, fmt.Errorf("--deployments %q: %s", spec, strings.TrimPrefix(err.Error(), "sim: "))
	}
	d := analysis.Deployment{Label: spec, Source: "simulated", Spec: profileSpec, Accelerator: acc.ID,
		DevicesPerInstance: sp.Devices, TP: sp.TP, Replicas: sp.Replicas, Instances: instances}
	if it, ok := table.Lookup(acc.ID, sp.Devices); ok {
		price := it.PerHour * float64(instances)
		d.Instance, d.PricePerHour, d.PriceSource = it.Instance, &price, "instance table"
	}
	rs, err := sim.SimulateSweep(p, levels, w)
	if err != nil {
		return analysis.Deployment{}, nil, nil, fmt.Errorf("--deployments %q: %s", spec, strings.TrimPrefix(err.Error(), "sim: "))
	}
	rows := make([]analysis.SweepRow, len(rs))
	pls := make([]analysis.PlanLevel, len(rs))
	for i, r := range rs {
		rows[i] = simRow(r)
		pls[i] = simPlanLevel(r, w, ceiling)
	}
	return d, rows, pls, nil
}

// simRow is a simulated level as a sweep row. Times are seconds.
func simRow(r sim.LoopResult) analysis.SweepRow {
	s := func(d time.Duration) float64 { return d.Seconds() }
	row := analysis.SweepRow{
		Level: float64(r.Concurrency), Dir: fmt.Sprintf("c%d", r.Concurrency),
		Requests: r.Requests + r.TimedOut, Succeeded: r.Requests, Timeouts: r.TimedOut,
		OutputTokensPerS: r.OutputTokensPerSecond, RequestsPerS: r.RequestsPerSecond,
		TTFTP50: s(r.TTFT.P50), TTFTP90: s(r.TTFT.P90), TTFTP95: s(r.TTFT.P95), TTFTP99: s(r.TTFT.P99),
		E2EP50: s(r.E2E.P50), E2EP90: s(r.E2E.P90), E2EP95: s(r.E2E.P95), E2EP99: s(r.E2E.P99),
		TPOTP50: s(r.TPOT.P50), TPOTP95: s(r.TPOT.P95),
		ConcurrencyMean: float64(r.Concurrency), ConcurrencyMax: r.Concurrency,
	}
	if n := row.Requests; n > 0 {
		row.ErrorRate = float64(r.TimedOut) / float64(n)
	}
	if r.TPOT.P50 > 0 {
		row.OutputSpeedP50 = 1 / s(r.TPOT.P50)
	}
	return row
}

// simPlanLevel is a simulated level as a plan's level: every completed
// request carries w's tokens, a timed-out one its prompt; the response
// time is the E2E (no retries: the closed loop waits for a slot
// instead); the ceiling is the level's targets.
func simPlanLevel(r sim.LoopResult, w sim.Workload, ceiling []analysis.Threshold) analysis.PlanLevel {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	dist := func(mean time.Duration, p sim.Percentiles) stats.Dist {
		return stats.Dist{Count: r.Requests, Mean: sec(mean), P50: sec(p.P50), Median: sec(p.P50), P90: sec(p.P90), P95: sec(p.P95), P99: sec(p.P99), Max: sec(p.Max)}
	}
	var s stats.Summary
	s.Requests.Total, s.Requests.Succeeded, s.Requests.Failed = r.Requests+r.TimedOut, r.Requests, r.TimedOut
	if n := r.Requests + r.TimedOut; n > 0 {
		s.ErrorRate = float64(r.TimedOut) / float64(n)
	}
	s.Throughput.RequestsPerS, s.Throughput.OutputTokensPerS = r.RequestsPerSecond, r.OutputTokensPerSecond
	s.Metrics.E2E = dist(r.MeanE2E, r.E2E)
	s.Metrics.TTFT = dist(r.MeanTTFT, r.TTFT)
	s.Metrics.TPOT = dist(r.MeanTPOT, r.TPOT)
	s.Concurrency.Mean, s.Concurrency.Max = float64(r.Concurrency), r.Concurrency
	l := analysis.PlanLevelOf(float64(r.Concurrency), fmt.Sprintf("c%d", r.Concurrency), &s, nil, 0, ceiling)
	n, to := int64(r.Requests), int64(r.TimedOut)
	l.Tokens.Succeeded = analysis.TokenSums{Attempts: r.Requests, InputTokens: n * int64(w.InputTokens), OutputTokens: n * int64(w.OutputTokens)}
	l.Tokens.Failed = analysis.TokenSums{Attempts: r.TimedOut, InputTokens: to * int64(w.InputTokens)}
	return l
}

// measuredDeployments reads the sweep.json of every directory.
func measuredDeployments(dirs, labels []string) ([]analysis.DeploymentSweep, string, error) {
	var out []analysis.DeploymentSweep
	seen := map[string]string{}
	model := ""
	for i, dir := range dirs {
		k, err := reportgen.Detect(dir)
		if err != nil {
			return nil, "", err
		}
		if k != reportgen.KindSweep {
			return nil, "", fmt.Errorf("%s is a single run: comparing deployments needs a concurrency sweep of each", dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, reportgen.SweepFile))
		if err != nil {
			return nil, "", err
		}
		var ss analysis.SweepSummary
		if err := json.Unmarshal(b, &ss); err != nil {
			return nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, reportgen.SweepFile), err)
		}
		if ss.Kind != analysis.SweepConcurrency {
			return nil, "", fmt.Errorf("%s sweeps %s: comparing deployments needs concurrency sweeps", dir, ss.Kind)
		}
		groups := map[string]bool{}
		var rows []analysis.SweepRow
		for _, r := range ss.Rows {
			groups[r.Group] = true
			if r.Probe == "" {
				rows = append(rows, r)
			}
		}
		if len(groups) > 1 {
			return nil, "", fmt.Errorf("%s sweeps %d series: compare sweeps of one series each", dir, len(groups))
		}
		if len(rows) == 0 {
			return nil, "", fmt.Errorf("%s: sweep.json has no levels", dir)
		}
		label := filepath.Base(filepath.Clean(dir))
		if abs, err := filepath.Abs(dir); err == nil {
			label = filepath.Base(abs)
		}
		if i < len(labels) {
			label = labels[i]
		}
		if prev, ok := seen[label]; ok {
			return nil, "", fmt.Errorf("%s and %s are both labelled %q: give --label for each", prev, dir, label)
		}
		seen[label] = dir
		d := analysis.Deployment{Label: label, Source: "measured", Spec: dir}
		// The sweep's own --price-per-hour gives the price: cost per 1M ×
		// throughput × 3600 / 1e6.
		for _, r := range rows {
			if r.CostPer1MOutputTokens != nil && r.OutputTokensPerS > 0 {
				p := *r.CostPer1MOutputTokens * r.OutputTokensPerS * 3600 / 1e6
				d.PricePerHour, d.PriceSource = &p, "sweep"
				break
			}
		}
		if cfg, err := readSweepModel(dir, rows[0].Dir); err == nil && cfg != "" {
			if model != "" && model != cfg {
				return nil, "", fmt.Errorf("%s serves %q, %s %q: compare deployments of one model", seen[out[0].Deployment.Label], model, dir, cfg)
			}
			model = cfg
		}
		out = append(out, analysis.DeploymentSweep{Deployment: d, Rows: rows})
	}
	if model == "" {
		model = "the model"
	}
	return out, model, nil
}

// readSweepModel returns the model a sweep's first level asked for.
func readSweepModel(dir, level string) (string, error) {
	cfg, err := rundir.ReadConfig(filepath.Join(dir, level))
	if err != nil {
		return "", err
	}
	return cfg.Model, nil
}

// writeRecommendation prints the recommendation: the sentence, the
// table, the splits, the notes.
func writeRecommendation(w io.Writer, rec *analysis.Recommendation) {
	fmt.Fprintln(w, rec.Sentence)
	fmt.Fprintln(w)
	what := "measured sweeps"
	if rec.InputTokens > 0 {
		what = fmt.Sprintf("simulated closed-loop sweeps, %d input + %d output tokens per request", rec.InputTokens, rec.OutputTokens)
	}
	if len(rec.MaxLatency) > 0 {
		what += ", levels meeting " + strings.Join(rec.MaxLatency, " and ")
	}
	fmt.Fprintf(w, "%s (%s)\n", rec.Model, what)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "deployment\tinstance\t$/h\tlowest level\te2e p50 s\tms/token\tbest tok/s\tat level\te2e p95 s\tknee\tknee tok/s\t$/1M out\tbest\t")
	for _, d := range rec.Deployments {
		dp := d.Deployment
		inst, price := "-", "-"
		if dp.Instance != "" {
			inst = dp.Instance
			if dp.Instances > 1 {
				inst = fmt.Sprintf("%d × %s", dp.Instances, dp.Instance)
			}
		}
		if dp.PricePerHour != nil {
			price = num(*dp.PricePerHour)
		}
		cells := []string{dp.Label, inst, price}
		if l := d.LowestLatency; l != nil {
			cells = append(cells, lvl(l.Level), num(l.E2EP50), num(1000*l.TPOTP50))
		} else {
			cells = append(cells, "-", "-", "-")
		}
		if h := d.HighestThroughput; h != nil {
			cells = append(cells, num(h.OutputTokensPerS), lvl(h.Level), num(h.E2EP95))
		} else {
			cells = append(cells, "-", "-", "-")
		}
		if k := d.Knee; k != nil {
			cells = append(cells, lvl(k.Level)+" ("+k.Method+")", num(k.OutputTokensPerS))
		} else {
			cells = append(cells, "-", "-")
		}
		if h := d.HighestThroughput; h != nil && h.CostPer1MOutputTokens != nil {
			cells = append(cells, num(*h.CostPer1MOutputTokens))
		} else {
			cells = append(cells, "-")
		}
		best := "-"
		if len(d.Best) > 0 {
			best = "*" + strings.Join(d.Best, ", *")
		}
		cells = append(cells, best)
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "(lowest level: the latency of one request on an idle deployment; best tok/s: the highest output throughput; $/1M out: at best tok/s, $/h × 1e6 / (tok/s × 3600); * marks the best of each)")
	for _, sp := range rec.Splits {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "splitting %s (%s): %s\n", sp.Shape, strings.Join(sp.Labels, ", "), sp.Sentence)
	}
	plans := false
	for _, d := range rec.Deployments {
		if d.Plan == nil {
			continue
		}
		if !plans {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "capacity of each deployment (llmload plan's answer on its sweep):")
			plans = true
		}
		fmt.Fprintf(w, "%s: %s\n", d.Deployment.Label, d.Plan.Answer.Sentence)
		if d.Plan.Reverse != nil {
			fmt.Fprintf(w, "%s: %s\n", d.Deployment.Label, d.Plan.Reverse.Sentence)
		}
	}
	notes := false
	for _, d := range rec.Deployments {
		for _, n := range d.Notes {
			if !notes {
				fmt.Fprintln(w)
				notes = true
			}
			fmt.Fprintf(w, "%s: %s\n", d.Deployment.Label, n)
		}
	}
	for _, n := range rec.Notes {
		fmt.Fprintf(w, "(%s)\n", n)
	}
}

// lvl writes a level without trailing zeros.
func lvl(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
