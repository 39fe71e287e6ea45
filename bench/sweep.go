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

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/report"
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
}

// SweepHooks let a caller watch a sweep. Every field is optional.
type SweepHooks struct {
	// Level returns the hooks of level i of n (progress for its run).
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
}

// IsSweep reports whether cfg asks for several load levels.
func IsSweep(cfg *config.Config) bool {
	return len(cfg.Concurrency) > 1 || len(cfg.Rate) > 1 || cfg.Sweep == config.SweepAuto
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

// sweepLevels splits a plain sweep into its levels.
func sweepLevels(cfg *config.Config) (kind string, levels []Level) {
	kind = analysis.SweepConcurrency
	if cfg.Mode == load.ModeRate {
		kind = analysis.SweepRate
		for _, r := range cfg.Rate {
			c := *cfg
			c.Rate = config.FloatList{r}
			levels = append(levels, Level{Value: r, Dir: "r" + strconv.FormatFloat(r, 'g', -1, 64), Config: &c})
		}
	} else {
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
		// A name, not a path: the sweep's name, then the level's directory.
		c.Name = so.Summary.Name + "-" + l.Dir
		var h Hooks
		if hooks.Level != nil {
			h = hooks.Level(i, len(levels), l)
		}
		h.Sweep = so.Summary.Name
		if l.Group != "" {
			h.Case = l.Config.Name // an experiment case: what it varies
		}
		out, err := Run(ctx, &c, h)
		if err != nil {
			return fmt.Errorf("level %s: %w", l.Dir, err)
		}
		so.Outcomes = append(so.Outcomes, out)
		row := analysis.SweepRowOf(l.Value, l.Dir, out.Summary)
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
		if err := writeSweep(dir, &so.Summary); err != nil {
			return err
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

func writeSweep(dir string, s *analysis.SweepSummary) error {
	return errors.Join(
		report.WriteSweepJSON(filepath.Join(dir, SweepJSON), s),
		report.WriteSweepCSV(filepath.Join(dir, SweepCSV), s))
}

// autoProbes are the closed-loop runs an auto sweep starts with: one
// request at a time, then the highest --concurrency.
func autoProbes(cfg *config.Config) (sync, peak *config.Config) {
	s := *cfg
	s.Sweep, s.Mode, s.Concurrency, s.Rate = "", load.ModeConcurrency, config.IntList{1}, nil
	p := s
	p.Concurrency = config.IntList{slices.Max(cfg.Concurrency)}
	return &s, &p
}

// autoSweep measures the synchronous and maximum rates, then sweeps the
// rates between them (GuideLLM's sweep).
func autoSweep(ctx context.Context, cfg *config.Config, hooks SweepHooks) (*SweepOutcome, error) {
	sync, peak := autoProbes(cfg)
	probe := []Level{
		{Value: 1, Dir: "sync", Config: sync},
		{Value: float64(peak.Concurrency[0]), Dir: "throughput", Config: peak},
	}
	so, err := NewSweep(cfg.ResultsDir, analysis.SweepRate)
	if err != nil {
		return nil, err
	}
	so.Summary.Name = cmp.Or(cfg.Name, so.Summary.Name)
	if err := so.RunLevels(ctx, probe, 0, false, hooks); err != nil || so.Interrupted {
		return so, err
	}
	syncRate := so.Outcomes[0].Summary.Throughput.RequestsPerS
	maxRate := so.Outcomes[1].Summary.Throughput.RequestsPerS
	// The probes' rows are rates too: their measured request rates.
	so.Summary.Rows[0].Level, so.Summary.Rows[1].Level = syncRate, maxRate
	rates, err := analysis.AutoRates(syncRate, maxRate, cfg.SweepLevels)
	if err != nil {
		return so, err
	}
	var levels []Level
	for _, r := range rates {
		c := *cfg
		c.Sweep, c.Mode, c.Rate = "", load.ModeRate, config.FloatList{r}
		levels = append(levels, Level{Value: r, Dir: "r" + strconv.FormatFloat(r, 'f', 3, 64), Config: &c})
	}
	return so, so.RunLevels(ctx, levels, cfg.StopOnErrorRate, cfg.StopOnTimeout, hooks)
}
