package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/reportgen"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

const planUsage = `Usage: llmload plan [flags] DIR
       llmload plan --simulate --model MODEL --deployments NxACCEL[:tpT][:rR],… [flags]
       llmload plan [flags] DIR1 DIR2 …

Answers, from the measurements of a sweep (or of one run) in DIR, how many
concurrent users an endpoint supports under a provider's quotas and your
latency targets, which limit binds, and (--users N) what quota N users
need. It uses each level's measured tokens per request (input + output,
retried and failed attempts included) and measured response time, and
plans for --headroom of every limit. With prices it adds the cost at each
level, hidden costs apart, and the break-even between token and
instance-hour pricing. Writes DIR/plan.json; 'llmload report DIR' then
adds a Plan section to report.html. Formulas: docs/planning.md.

With --simulate (no endpoint, no real time) or several sweep directories
of one model on different deployments, it recommends a deployment: per
deployment the lowest latency, the highest throughput and its level, the
knee and the cost per 1M output tokens, under an optional --max-latency
ceiling, the best of each marked, and the TP-against-replicas trade-off
of every instance shape (--split 8xa10g runs TP 1, 2, 4 and 8). Instance
prices come from an illustrative table (--print-instance-prices,
--instance-prices FILE) or --deployment-price. --out FILE writes JSON.

Examples:
  llmload plan results/sweep --quota-rpm 800 --quota-tpm 600000 --target 'ttft_p95<=1s' --target 'e2e_p95<=10s' --requests-per-user-per-min 2
  llmload plan results/sweep --think-time 20s --users 500 --price-model claude-3.5-sonnet --price-per-hour 1.212
  llmload plan --print-prices > my-prices.yaml   # edit, then --prices my-prices.yaml
  llmload plan --simulate --model llama-2-7b --deployments 1xa10g,4xa10g,8xa100 --split 8xa10g --max-latency 'e2e_p95<=20s'
  llmload plan results/sweep-a results/sweep-b --label g5.2xlarge --label g5.12xlarge --deployment-price g5.2xlarge=1.212

Flags:
`

// planFlags are the flags of llmload plan.
type planFlags struct {
	opts                           analysis.PlanOptions
	targets                        stringList
	think                          time.Duration
	out, group                     string
	prices, priceModel             string
	priceIn, priceOut, priceCached optFloat
	batch                          bool
	batchDiscount                  optFloat
	pricePerHour                   float64
	instances                      float64
	printPrices                    bool
	set                            map[string]bool
	headroomFlag                   float64
	quotaRPM, quotaTPM, userRate   float64
	users                          int
	tokenPrice                     *analysis.ModelPrice
	instancePrice                  *analysis.InstancePrice
}

func (c *cli) plan(args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), planUsage)
		fs.PrintDefaults()
	}
	var f planFlags
	var rf recFlags
	rf.add(fs)
	fs.Float64Var(&f.quotaRPM, "quota-rpm", 0, "the provider's quota, requests per minute (0: none)")
	fs.Float64Var(&f.quotaTPM, "quota-tpm", 0, "the provider's quota, input + output tokens per minute (0: none)")
	fs.Var(&f.targets, "target", "a latency (or other) target every planned level must meet, threshold syntax, e.g. 'ttft_p95<=1s' (repeatable)")
	fs.Float64Var(&f.userRate, "requests-per-user-per-min", 0, "a user sends this many requests per minute (or --think-time)")
	fs.DurationVar(&f.think, "think-time", 0, "a user waits for each response, then thinks this long before the next request, e.g. 20s (default 0: a user always has a request in flight)")
	fs.Float64Var(&f.headroomFlag, "headroom", analysis.DefaultHeadroom, "share of every limit (quotas, measured capacity) to plan for")
	fs.IntVar(&f.users, "users", 0, "also answer the reverse question: the RPM and TPM this many users need")
	fs.StringVar(&f.out, "out", "", "write the plan to this file (default DIR/plan.json)")
	fs.StringVar(&f.group, "group", "", "in an experiment sweeping several series, the series (case without the level) to plan")
	fs.StringVar(&f.prices, "prices", "", "YAML price table to use instead of the built-in one (see --print-prices)")
	fs.StringVar(&f.priceModel, "price-model", "", "price by the token with this model's prices from the table, e.g. claude-3.5-sonnet")
	fs.Var(&f.priceIn, "price-input", "price per 1M input tokens (instead of, or overriding, --price-model's)")
	fs.Var(&f.priceOut, "price-output", "price per 1M output tokens (instead of, or overriding, --price-model's)")
	fs.Var(&f.priceCached, "price-cached-input", "price per 1M input tokens read from the prompt cache (default: the input price)")
	fs.BoolVar(&f.batch, "price-batch", false, "price as batch inference: take the batch discount off every token price")
	fs.Var(&f.batchDiscount, "price-batch-discount", "share batch inference takes off, e.g. 0.5 (default: the table's)")
	fs.Float64Var(&f.pricePerHour, "price-per-hour", 0, "price per hour of one instance serving the endpoint: instance-priced cost and the break-even (0: none)")
	fs.Float64Var(&f.instances, "instances", 1, "instances serving the endpoint, for --price-per-hour")
	fs.BoolVar(&f.printPrices, "print-prices", false, "print the built-in price table (YAML), to copy and edit")
	dirs, done, st := c.parseArgs(fs, args)
	if done {
		return st
	}
	if f.printPrices {
		c.stdout.Write(analysis.PricesYAML())
		return exitOK
	}
	f.set = visited(fs)
	if rf.printInstances {
		c.stdout.Write(analysis.InstancesYAML())
		return exitOK
	}
	if rf.simulate || len(dirs) > 1 {
		return c.recommend(dirs, &rf, &f)
	}
	if on := append(rf.used(f.set), recOnly(f.set)...); len(on) > 0 {
		return c.usageErr("plan", fmt.Errorf("%s apply to a comparison of deployments (--simulate, or several sweep directories), not to one sweep", strings.Join(on, ", ")))
	}
	if len(dirs) != 1 {
		return c.usageErr("plan", errors.New("want a directory: llmload plan DIR, llmload plan DIR1 DIR2 … or llmload plan --simulate (see 'llmload plan -h')"))
	}
	dir := dirs[0]
	if err := f.resolve(); err != nil {
		return c.usageErr("plan", err)
	}
	kind, levels, warns, err := loadPlanLevels(dir, f.group, f.opts.Targets)
	if err != nil {
		return c.usageErr("plan", err)
	}
	p, err := analysis.MakePlan(dir, kind, levels, f.opts)
	if err != nil {
		return c.usageErr("plan", err)
	}
	p.Warnings = append(warns, p.Warnings...)
	if err := analysis.PriceLevels(p, f.tokenPrice, f.instancePrice); err != nil {
		return c.usageErr("plan", err)
	}
	out := f.out
	if out == "" {
		out = filepath.Join(dir, reportgen.PlanFile)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload plan: %v\n", err)
		return exitFailed
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintf(c.stderr, "llmload plan: %v\n", err)
		return exitFailed
	}
	writePlanText(c.stdout, p)
	fmt.Fprintf(c.stdout, "\nplan written to %s", out)
	if f.out == "" {
		fmt.Fprintf(c.stdout, "; 'llmload report %s' adds it to report.html", dir)
	}
	fmt.Fprintln(c.stdout)
	return exitOK
}

// recOnly lists the recommendation flags given that one sweep's plan
// does not take.
func recOnly(set map[string]bool) []string {
	var on []string
	for _, n := range []string{"max-latency", "instance-prices", "deployment-price", "label"} {
		if set[n] {
			on = append(on, "--"+n)
		}
	}
	return on
}

// resolve checks the flags and turns them into options and prices.
func (f *planFlags) resolve() error {
	var errs []error
	if !(f.headroomFlag > 0 && f.headroomFlag <= 1) {
		errs = append(errs, fmt.Errorf("--headroom %g: want a share in (0, 1]", f.headroomFlag))
	}
	if f.think < 0 {
		errs = append(errs, fmt.Errorf("--think-time %s: want a duration ≥ 0", f.think))
	}
	targets, err := analysis.ParseThresholds(f.targets)
	if err != nil {
		errs = append(errs, err)
	}
	f.opts = analysis.PlanOptions{QuotaRPM: f.quotaRPM, QuotaTPM: f.quotaTPM, Targets: targets,
		RequestsPerUserPerMin: f.userRate, ThinkTimeS: f.think.Seconds(), Headroom: f.headroomFlag, Users: f.users}
	if f.set["requests-per-user-per-min"] && f.set["think-time"] {
		errs = append(errs, errors.New("--requests-per-user-per-min and --think-time both define a user: give one"))
	} else if f.headroomFlag > 0 && f.headroomFlag <= 1 && f.think >= 0 {
		errs = append(errs, f.opts.Check())
	}
	if f.set["requests-per-user-per-min"] && !(f.userRate > 0) {
		errs = append(errs, fmt.Errorf("--requests-per-user-per-min %g: want a number > 0", f.userRate))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	spec := analysis.PriceSpec{Model: f.priceModel, Input: f.priceIn.v, Output: f.priceOut.v, CachedInput: f.priceCached.v,
		BatchDiscount: f.batchDiscount.v, Batch: f.batch}
	if f.prices != "" {
		b, err := os.ReadFile(f.prices)
		if err != nil {
			return fmt.Errorf("--prices: %w", err)
		}
		spec.Table = b
	}
	tp, err := spec.Resolve()
	if err != nil {
		if f.prices != "" && strings.HasPrefix(err.Error(), "price table:") {
			err = fmt.Errorf("%s: %w", f.prices, err)
		}
		return err
	}
	f.tokenPrice = tp
	if f.set["price-per-hour"] || f.set["instances"] {
		ip := analysis.InstancePrice{PerHour: f.pricePerHour, Instances: f.instances}
		if err := ip.Check(); err != nil {
			return err
		}
		if !(f.pricePerHour > 0) {
			return fmt.Errorf("--price-per-hour %g: want a price > 0", f.pricePerHour)
		}
		if !(f.instances >= 1) {
			return fmt.Errorf("--instances %g: want at least 1", f.instances)
		}
		f.instancePrice = &ip
	}
	return nil
}

// loadPlanLevels reads every level of the sweep in dir (or the single
// run dir is) with its summary and records.
func loadPlanLevels(dir, group string, targets []analysis.Threshold) (kind string, levels []analysis.PlanLevel, warns []string, err error) {
	k, err := reportgen.Detect(dir)
	if err != nil {
		return "", nil, nil, err
	}
	type lv struct {
		level float64
		dir   string
	}
	var todo []lv
	if k == reportgen.KindSweep {
		b, err := os.ReadFile(filepath.Join(dir, reportgen.SweepFile))
		if err != nil {
			return "", nil, nil, err
		}
		var ss analysis.SweepSummary
		if err := json.Unmarshal(b, &ss); err != nil {
			return "", nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, reportgen.SweepFile), err)
		}
		kind = ss.Kind
		groups := map[string]bool{}
		for _, r := range ss.Rows {
			groups[r.Group] = true
		}
		if group == "" && len(groups) > 1 {
			return "", nil, nil, fmt.Errorf("%s sweeps %d series: plan one with --group (%s)", dir, len(groups), strings.Join(sortedGroups(groups), ", "))
		}
		if group != "" && !groups[group] {
			return "", nil, nil, fmt.Errorf("--group %q: no such series in %s (%s)", group, dir, strings.Join(sortedGroups(groups), ", "))
		}
		for _, r := range ss.Rows {
			if group == "" || r.Group == group {
				todo = append(todo, lv{r.Level, r.Dir})
			}
		}
		if len(todo) == 0 {
			return "", nil, nil, fmt.Errorf("%s: sweep.json has no levels", dir)
		}
	} else if group != "" {
		return "", nil, nil, fmt.Errorf("--group %q: %s is a single run, not a sweep", group, dir)
	}
	if k == reportgen.KindRun {
		todo = append(todo, lv{0, "."})
	}
	scaled := false
	for _, t := range todo {
		ld := filepath.Join(dir, t.dir)
		recs, err := record.ReadFile(filepath.Join(ld, rundir.RecordsFile))
		var why string
		switch {
		case errors.Is(err, fs.ErrNotExist):
			why = fmt.Sprintf("%s: no %s: a plan needs the records (tokens per request, retries, failures)", ld, rundir.RecordsFile)
		case err != nil:
			return "", nil, nil, err
		case len(recs) == 0:
			why = fmt.Sprintf("%s: %s holds no records: nothing was measured", ld, rundir.RecordsFile)
		}
		if why != "" {
			if k == reportgen.KindRun {
				return "", nil, nil, errors.New(why)
			}
			// A sweep's level that measured nothing (interrupted before
			// its first request ended) is left out, and said so.
			warns = append(warns, why+"; left out of the plan")
			continue
		}
		cfg, _ := rundir.ReadConfig(ld)
		var s stats.Summary
		b, err := os.ReadFile(filepath.Join(ld, rundir.SummaryFile))
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &s); err != nil {
				return "", nil, nil, fmt.Errorf("%s: %w", filepath.Join(ld, rundir.SummaryFile), err)
			}
		case errors.Is(err, fs.ErrNotExist):
			s = *stats.Summarize(recs, stats.RunInfo{})
			warns = append(warns, fmt.Sprintf("%s has no summary.json (the run did not finish): its numbers were computed from records.jsonl", t.dir))
		default:
			return "", nil, nil, err
		}
		name := t.dir
		if k == reportgen.KindRun {
			kind = s.Run.Mode
			t.level = float64(s.Run.Concurrency)
			if s.Run.Rate > 0 {
				t.level = s.Run.Rate
			}
			if abs, err := filepath.Abs(dir); err == nil {
				name = filepath.Base(abs)
			}
		}
		if si := s.Run.Sim; si != nil && si.TimeScale > 0 && si.TimeScale != 1 && !scaled {
			scaled = true // once: every level of a sweep shares it
			warns = append(warns, fmt.Sprintf("%s ran the simulator at time scale %g: its throughput and latencies are the sped-up clock's, not the modelled hardware's, and so are users per quota-minute and costs per hour", name, si.TimeScale))
		}
		sys := 0
		if cfg != nil && cfg.SystemPrompt != "" {
			if tok, err := workload.NewTokenizer(cfg.Tokenizer); err == nil {
				sys = tok.Count(cfg.SystemPrompt)
			}
		}
		if cfg != nil {
			for _, ps := range cfg.PromptSets {
				if ps.SystemPrompt != "" {
					warns = append(warns, fmt.Sprintf("%s: prompt sets carry their own system prompts; system_prompt_per_request counts only the run's", t.dir))
					break
				}
			}
		}
		levels = append(levels, analysis.PlanLevelOf(t.level, name, &s, recs, sys, targets))
	}
	if len(levels) == 0 {
		return "", nil, nil, fmt.Errorf("%s: no level holds records: nothing to plan from", dir)
	}
	return kind, levels, warns, nil
}

func sortedGroups(m map[string]bool) []string {
	var out []string
	for g := range m {
		out = append(out, strconv.Quote(g))
	}
	slices.Sort(out)
	return out
}

// writePlanText prints the plan: the sentence, a table per level, the
// reverse question, the cost.
func writePlanText(w io.Writer, p *analysis.Plan) {
	fmt.Fprintln(w, p.Answer.Sentence)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "level\tmeets targets\treq/s\tresp p95 s\tattempts/req\ttokens/req\treq/user/min\tusers carried\tby RPM\tby TPM\tby endpoint\tusers\tbinding\t")
	for _, l := range p.Levels {
		meets := "no"
		if l.MeetsTargets {
			meets = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Dir, meets, num(l.RequestsPerS), num(l.ResponseTimeP95S),
			num(l.AttemptsPerRequest), num(l.TokensPerRequest), num(l.RequestsPerUserPerMin), num(l.UsersCarried),
			optNum(l.UsersByRPM), optNum(l.UsersByTPM), num(l.UsersByEndpoint), num(l.Users), l.Binding)
	}
	tw.Flush()
	fmt.Fprintf(w, "(users at %s headroom; users carried = req/s × (response time + think time), Little's law)\n", pctText(p.Headroom))
	for _, l := range p.Levels {
		for _, n := range l.Notes {
			fmt.Fprintf(w, "%s: %s\n", l.Dir, n)
		}
	}
	if p.Reverse != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, p.Reverse.Sentence)
	}
	if c := p.Cost; c != nil {
		fmt.Fprintln(w)
		if c.TokenPrice != nil {
			tp := c.TokenPrice
			fmt.Fprintf(w, "token price %s: $%g input, $%g cached input, $%g output per 1M tokens", tp.ID, tp.InputPer1M, tp.CachedInput(), tp.OutputPer1M)
			if tp.Batch {
				fmt.Fprintf(w, " (batch, %s off)", pctText(tp.BatchDiscount))
			}
			fmt.Fprintln(w)
		}
		if c.InstancePrice != nil {
			fmt.Fprintf(w, "instance price: $%g/h × %g (instances)\n", c.InstancePrice.PerHour, c.InstancePrice.Instances)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "level\t$/request\tof it system prompt\t+ retried\t+ failed\t$/1M out\t$/user-hour\tinstance $/1M out\tinstance $/user-hour\t")
		for _, lc := range c.Levels {
			cells := []string{"-", "-", "-", "-", "-", "-"}
			if t := lc.Token; t != nil {
				cells = []string{num(t.CostPerRequest), num(t.SystemPromptPerRequest), num(t.RetriedPerRequest), num(t.FailedPerRequest), num(t.CostPer1MOutputTokens), num(t.CostPerUserHour)}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", lc.Dir, strings.Join(cells, "\t"), optNum(lc.InstanceCostPer1MOutputTokens), optNum(lc.InstanceCostPerUserHour))
		}
		tw.Flush()
		if c.BreakEven != nil {
			fmt.Fprintln(w, c.BreakEven.Sentence)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "(%s)\n", n)
		}
	}
	for _, wn := range p.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

// num writes v with about four significant digits and never an
// exponent: 240000, 28.8, 0.0001579.
func num(v float64) string {
	a := math.Abs(v)
	var s string
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 3-int(math.Floor(math.Log10(a))), 64)
	default:
		s = strconv.FormatFloat(v, 'f', min(3-int(math.Floor(math.Log10(a))), 12), 64)
	}
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

func optNum(v *float64) string {
	if v == nil {
		return "-"
	}
	return num(*v)
}

func pctText(f float64) string {
	return strconv.FormatFloat(100*f, 'g', 4, 64) + "%"
}
