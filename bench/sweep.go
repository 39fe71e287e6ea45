package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/reportgen"
)

// File names of a sweep directory, beside one sub-directory per level.
const (
	SweepJSON = "sweep.json"
	SweepCSV  = "sweep.csv"
)

// Level is one run of a sweep: a load level (or an experiment case).
type Level struct {
	// Value is the concurrency or the rate (requests/s).
	Value float64
	// Dir is the level's sub-directory of the sweep directory.
	Dir string
	// Group names the levels that form one sweep within an experiment;
	// an early stop skips the rest of its group. "" for a plain sweep.
	Group  string
	Config *config.Config
	// Label says what the level is, for people ("throughput probe,
	// concurrency 64"); "" means Dir says it.
	Label string
	// Probe marks an auto sweep's closed-loop probe: "sync" or
	// "throughput" (analysis.SweepRow.Probe).
	Probe string
}

// SweepHooks let a caller watch a sweep. Every field is optional.
type SweepHooks struct {
	// Level returns the hooks of level i (from 0) of n, counted over the
	// whole sweep (progress for its run). n is 0 while the count is not
	// known yet: an auto sweep knows it once its probes have run.
	Level func(i, n int, l Level) Hooks
	// Done is called with each level's row as it completes.
	Done func(row analysis.SweepRow, out *Outcome)
}

// SweepOutcome is what a sweep produced.
type SweepOutcome struct {
	Dir      string
	Summary  analysis.SweepSummary
	Outcomes []*Outcome
	// Interrupted is set when the context ended during the sweep.
	Interrupted bool
	// ReportErr is why the sweep's report (report.html, summary.md/csv,
	// plots/, rebuilt after every level) could not be written; nil when it
	// was.
	ReportErr error

	ran  int  // levels run so far, over every RunLevels call
	more bool // levels beyond the ones being run may follow (auto sweep probes)
	// slos are each group's SLOs, the knee's target.
	slos map[string][]analysis.SLO
}

// IsSweep reports whether cfg asks for several load levels.
func IsSweep(cfg *config.Config) bool {
	return len(cfg.Concurrency) > 1 || len(cfg.Rate) > 1 || cfg.Sweep == config.SweepAuto ||
		isBatchMode(cfg) && len(cfg.BatchSize) > 1
}

func isBatchMode(cfg *config.Config) bool {
	return cfg.Mode == load.ModeBatchSequential || cfg.Mode == load.ModeBatchInterval
}

// Sweep runs cfg at each of its load levels, one after another, into
// sub-directories of cfg.ResultsDir, and writes sweep.json and sweep.csv
// (rewritten after every level, so an interrupted sweep keeps its rows).
// With Sweep "auto" it first measures the synchronous rate (concurrency 1)
// and the maximum throughput (closed loop at the highest --concurrency),
// then sweeps SweepLevels rates between them.
func Sweep(ctx context.Context, cfg *config.Config, hooks SweepHooks) (*SweepOutcome, error) {
	if cfg.Sweep == config.SweepAuto {
		return autoSweep(ctx, cfg, hooks)
	}
	kind, levels := sweepLevels(cfg)
	so, err := NewSweep(cfg.ResultsDir, kind)
	if err != nil {
		return nil, err
	}
	so.Summary.Name = cmp.Or(cfg.Name, so.Summary.Name)
	return so, so.RunLevels(ctx, levels, cfg.StopOnErrorRate, cfg.StopOnTimeout, hooks)
}

// SweepKind is what a sweep of cfg's mode varies: analysis.SweepRate for
// the open loop, SweepBatchSize for the batch modes, else
// SweepConcurrency.
func SweepKind(cfg *config.Config) string {
	switch {
	case isBatchMode(cfg):
		return analysis.SweepBatchSize
	case cfg.Mode == load.ModeRate:
		return analysis.SweepRate
	}
	return analysis.SweepConcurrency
}

// sweepLevels splits a plain sweep into its levels.
func sweepLevels(cfg *config.Config) (kind string, levels []Level) {
	kind = SweepKind(cfg)
	switch kind {
	case analysis.SweepBatchSize:
		for _, n := range cfg.BatchSize {
			c := *cfg
			c.BatchSize = config.IntList{n}
			levels = append(levels, Level{Value: float64(n), Dir: fmt.Sprintf("b%d", n), Config: &c})
		}
	case analysis.SweepRate:
		for _, r := range cfg.Rate {
			c := *cfg
			c.Rate = config.FloatList{r}
			levels = append(levels, Level{Value: r, Dir: "r" + strconv.FormatFloat(r, 'g', -1, 64), Config: &c})
		}
	default:
		for _, n := range cfg.Concurrency {
			c := *cfg
			c.Concurrency = config.IntList{n}
			levels = append(levels, Level{Value: float64(n), Dir: fmt.Sprintf("c%d", n), Config: &c})
		}
	}
	return kind, levels
}

// levelConfigs lists the configurations the runs of cfg will have: cfg
// itself for one level, each level of a sweep, and for an auto sweep its
// two probes and a stand-in for the rate levels it will place.
func levelConfigs(cfg *config.Config) []*config.Config {
	if cfg.Sweep == config.SweepAuto {
		sync, peak := autoProbes(cfg)
		rate := *cfg
		rate.Sweep, rate.Mode, rate.Rate = "", load.ModeRate, config.FloatList{1}
		return []*config.Config{sync, peak, &rate}
	}
	if !IsSweep(cfg) {
		return []*config.Config{cfg}
	}
	_, levels := sweepLevels(cfg)
	out := make([]*config.Config, len(levels))
	for i, l := range levels {
		out[i] = l.Config
	}
	return out
}

// NewSweep prepares dir for a sweep of the given kind
// (analysis.SweepConcurrency or SweepRate). It refuses a directory that
// already holds one.
func NewSweep(dir, kind string) (*SweepOutcome, error) {
	if _, err := os.Stat(filepath.Join(dir, SweepJSON)); err == nil {
		return nil, invalid(fmt.Errorf("%s already holds a sweep (%s exists); choose another --results-dir", dir, SweepJSON))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &SweepOutcome{Dir: dir, Summary: analysis.SweepSummary{SchemaVersion: analysis.SweepSchemaVersion, Name: filepath.Base(dir), Kind: kind}}, nil
}

// RunLevels runs levels in order into sub-directories of the sweep,
// appending their rows, stopping a group at its first level whose error
// rate exceeds stopErrorRate (when positive) or that had a timeout (when
// stopOnTimeout).
func (so *SweepOutcome) RunLevels(ctx context.Context, levels []Level, stopErrorRate float64, stopOnTimeout bool, hooks SweepHooks) error {
	dir := so.Dir
	stopped := map[string]bool{}
	for i, l := range levels {
		if stopped[l.Group] {
			continue
		}
		if ctx.Err() != nil {
			so.Interrupted = true
			so.Summary.StopReason = "interrupted"
			break
		}
		c := *l.Config
		c.ResultsDir = filepath.Join(dir, l.Dir)
		caseName := l.Config.Name
		// A name, not a path: the sweep's name, then the level's directory.
		c.Name = so.Summary.Name + "-" + l.Dir
		l.Config = &c // the hooks see where the level writes
		var h Hooks
		if hooks.Level != nil {
			n := so.ran - i + len(levels) // levels of earlier calls, then these
			if so.more {
				n = 0
			}
			h = hooks.Level(so.ran, n, l)
		}
		so.ran++
		h.Sweep = so.Summary.Name
		if l.Group != "" {
			h.Case = caseName // an experiment case: what it varies
		}
		out, err := Run(ctx, &c, h)
		if err != nil {
			return fmt.Errorf("level %s: %w", l.Dir, err)
		}
		so.Outcomes = append(so.Outcomes, out)
		row := analysis.SweepRowOf(l.Value, l.Dir, out.Summary)
		row.Group = l.Group
		row.Probe = l.Probe
		if c.PricePerHour > 0 {
			p := analysis.InstancePrice{PerHour: c.PricePerHour, Instances: float64(c.Instances)}
			if cost, ok := p.CostPer1M(row.OutputTokensPerS); ok {
				row.CostPer1MOutputTokens = &cost
			}
		}
		if l.Probe != "" {
			row.Concurrency = c.Concurrency[0]
		}
		if out.Result.Interrupted {
			so.Interrupted = true
			so.Summary.StopReason = "interrupted"
		} else if stop, why := analysis.StopCheck(out.Summary, stopErrorRate, stopOnTimeout); stop {
			row.StoppedEarly = why
			stopped[l.Group] = true
			reason := fmt.Sprintf("level %s had %s", l.Dir, why)
			if so.Summary.StopReason == "" {
				so.Summary.StopReason = reason
			}
		}
		so.Summary.Rows = append(so.Summary.Rows, row)
		so.setKnees(l)
		if c.PricePerHour > 0 {
			so.Summary.SetBreakEven(&analysis.InstancePrice{PerHour: c.PricePerHour, Instances: float64(c.Instances)})
		}
		if err := writeSweep(dir, &so.Summary); err != nil {
			return err
		}
		if !h.NoReport {
			_, so.ReportErr = reportgen.BuildSweep(dir, reportgen.Options{})
		}
		if hooks.Done != nil {
			hooks.Done(row, out)
		}
		if so.Interrupted {
			break
		}
	}
	return nil
}

// setKnees recomputes the sweep's knees with l's SLOs for its group
// (bench.Check has validated them).
func (so *SweepOutcome) setKnees(l Level) {
	if so.slos == nil {
		so.slos = map[string][]analysis.SLO{}
	}
	if _, ok := so.slos[l.Group]; !ok {
		slos, _ := analysis.ParseSLOs(l.Config.SLOs)
		so.slos[l.Group] = slos
	}
	so.Summary.SetKnees(func(g string) analysis.KneeOptions { return analysis.KneeOptions{SLOs: so.slos[g]} })
}

func writeSweep(dir string, s *analysis.SweepSummary) error {
	return errors.Join(
		report.WriteSweepJSON(filepath.Join(dir, SweepJSON), s),
		report.WriteSweepCSV(filepath.Join(dir, SweepCSV), s))
}

// DefaultAutoCeiling is the highest concurrency the auto sweep's
// throughput search tries when --concurrency does not set one: GuideLLM
// floods with up to 512 requests in flight, and published deployments peak
// at 256–512.
const DefaultAutoCeiling = 512

// autoSearchStart is the first concurrency of the throughput search.
const autoSearchStart = 16

// autoProbes are the closed-loop runs an auto sweep starts with: one
// request at a time, and the first step of the throughput search (further
// steps double it, up to the ceiling).
func autoProbes(cfg *config.Config) (sync, peak *config.Config) {
	s := *cfg
	s.Sweep, s.Mode, s.Concurrency, s.Rate = "", load.ModeConcurrency, config.IntList{1}, nil
	return &s, probeAt(&s, min(autoSearchStart, autoCeiling(cfg)))
}

// autoCeiling is the throughput search's highest concurrency.
func autoCeiling(cfg *config.Config) int {
	if len(cfg.Concurrency) > 0 {
		return slices.Max(cfg.Concurrency)
	}
	return DefaultAutoCeiling
}

// probeAt is the closed-loop probe at concurrency c. A probe with fewer
// requests than about three per worker would end before its load was
// steady, so max_requests is raised to 3·c when it is lower.
func probeAt(sync *config.Config, c int) *config.Config {
	p := *sync
	p.Concurrency = config.IntList{c}
	if p.MaxRequests > 0 {
		p.MaxRequests = max(p.MaxRequests, 3*c)
	}
	return &p
}

// autoSweep measures the synchronous rate and searches for the maximum
// throughput, then sweeps the rates between them (GuideLLM's sweep). The
// search runs the closed loop at 16, 32, 64, … up to the ceiling
// (--concurrency, default 512), and stops when doubling the concurrency
// raised output throughput by less than 10%, when a step overloads the
// endpoint (errors above 5% or a timeout), or at the ceiling; the best step
// gives the maximum rate.
func autoSweep(ctx context.Context, cfg *config.Config, hooks SweepHooks) (*SweepOutcome, error) {
	sync, first := autoProbes(cfg)
	ceiling := autoCeiling(cfg)
	so, err := NewSweep(cfg.ResultsDir, analysis.SweepRate)
	if err != nil {
		return nil, err
	}
	so.Summary.Name = cmp.Or(cfg.Name, so.Summary.Name)
	so.more = true
	probe := func(l Level) (*Outcome, error) {
		n := len(so.Outcomes)
		if err := so.RunLevels(ctx, []Level{l}, 0, false, hooks); err != nil || so.Interrupted || len(so.Outcomes) == n {
			return nil, err
		}
		// A probe's row is a rate too: the request rate it measured.
		o := so.Outcomes[len(so.Outcomes)-1]
		so.Summary.Rows[len(so.Summary.Rows)-1].Level = o.Summary.Throughput.RequestsPerS
		return o, nil
	}
	syncOut, err := probe(Level{Value: 1, Dir: "sync", Config: sync, Probe: "sync", Label: "sync probe, concurrency 1"})
	if syncOut == nil {
		return so, err
	}
	var (
		best      *Outcome
		bestC     int
		steps     []string
		stopWhy   string
		saturated bool
	)
	for c, cc := first.Concurrency[0], first; ; {
		out, err := probe(Level{Value: float64(c), Dir: fmt.Sprintf("throughput-c%d", c), Config: cc, Probe: "throughput",
			Label: fmt.Sprintf("throughput probe, concurrency %d", c)})
		if out == nil {
			return so, err
		}
		tp := out.Summary.Throughput.OutputTokensPerS
		steps = append(steps, fmt.Sprintf("c=%d: %s tok/s", c, strconv.FormatFloat(tp, 'f', 0, 64)))
		var bestTP float64
		if best != nil {
			bestTP = best.Summary.Throughput.OutputTokensPerS
		}
		stop, why := analysis.SaturationCheck(bestTP, tp, out.Summary.ErrorRate, out.Summary.ErrorsByKind[llm.KindTimeout], c, ceiling)
		if out.Summary.Requests.Succeeded > 0 && tp > bestTP {
			best, bestC = out, c
		}
		if stop {
			stopWhy, saturated = why, !strings.Contains(why, "ceiling")
			break
		}
		c = min(2*c, ceiling)
		cc = probeAt(sync, c)
	}
	if best == nil {
		return so, errors.New("auto sweep: no request succeeded in the throughput search")
	}
	syncRate := syncOut.Summary.Throughput.RequestsPerS
	maxRate := best.Summary.Throughput.RequestsPerS
	method := fmt.Sprintf("closed loop at doubling concurrency (%s); stopped: %s; the maximum is concurrency %d",
		strings.Join(steps, ", "), stopWhy, bestC)
	if !saturated {
		method += " — the endpoint may not be saturated: raise --concurrency to search further"
	}
	so.Summary.Auto = &analysis.AutoSweep{SyncRate: syncRate, MaxRate: maxRate, MaxConcurrency: bestC, Method: method}
	if err := writeSweep(so.Dir, &so.Summary); err != nil {
		return so, err
	}
	rates, err := analysis.AutoRates(syncRate, maxRate, cfg.SweepLevels)
	if err != nil {
		return so, err
	}
	var levels []Level
	for _, r := range rates {
		r = roundRate(r)
		c := *cfg
		c.Sweep, c.Mode, c.Rate = "", load.ModeRate, config.FloatList{r}
		tag := strconv.FormatFloat(r, 'g', -1, 64)
		levels = append(levels, Level{Value: r, Dir: "r" + tag, Config: &c, Label: "rate " + tag + " req/s"})
	}
	so.more = false
	return so, so.RunLevels(ctx, levels, cfg.StopOnErrorRate, cfg.StopOnTimeout, hooks)
}

// roundRate keeps three significant digits of an auto sweep's rate, so
// labels, directories and tables read "4.56", not "4.563603213752394".
func roundRate(r float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 3, 64), 64)
	return v
}
