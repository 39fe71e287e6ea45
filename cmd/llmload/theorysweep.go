package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/reportgen"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/theory"
)

// measuredSweep is what llmload theory --sweep reads of a sweep.
type measuredSweep struct {
	dir  string
	rows []analysis.SweepRow // concurrency levels, sorted, probes left out
	knee *analysis.KneeMethod
	// first is the lowest level's summary: its token lengths.
	first *stats.Summary
	// scaled is the simulator's time scale when not 1.
	scaled float64
}

// loadMeasuredSweep reads a concurrency sweep of one series.
func loadMeasuredSweep(dir string) (*measuredSweep, error) {
	k, err := reportgen.Detect(dir)
	if err != nil {
		return nil, err
	}
	if k != reportgen.KindSweep {
		return nil, fmt.Errorf("--sweep %s: a single run; want a concurrency sweep (llmload run --concurrency 1,2,4,…)", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, reportgen.SweepFile))
	if err != nil {
		return nil, err
	}
	var ss analysis.SweepSummary
	if err := json.Unmarshal(b, &ss); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, reportgen.SweepFile), err)
	}
	if ss.Kind != analysis.SweepConcurrency {
		return nil, fmt.Errorf("--sweep %s sweeps %s: want a concurrency sweep", dir, ss.Kind)
	}
	m := &measuredSweep{dir: dir}
	groups := map[string]bool{}
	for _, r := range ss.Rows {
		groups[r.Group] = true
		if r.Probe == "" && r.Succeeded > 0 {
			m.rows = append(m.rows, r)
		}
	}
	if len(groups) > 1 {
		return nil, fmt.Errorf("--sweep %s sweeps %d series: want one", dir, len(groups))
	}
	if len(m.rows) == 0 {
		return nil, fmt.Errorf("--sweep %s: no level with a successful request", dir)
	}
	slices.SortStableFunc(m.rows, func(a, b analysis.SweepRow) int { return cmpFloat(a.Level, b.Level) })
	kn := analysis.FindKnee(m.rows, analysis.KneeOptions{Integer: true})
	for _, name := range []string{analysis.KneeCurvature, analysis.KneeMarginalE2E, analysis.KneeMarginalTTFT} {
		for _, km := range kn.Methods {
			if km.Method == name && km.Found && m.knee == nil {
				km := km
				m.knee = &km
			}
		}
	}
	sb, err := os.ReadFile(filepath.Join(dir, m.rows[0].Dir, rundir.SummaryFile))
	if err == nil {
		var s stats.Summary
		if json.Unmarshal(sb, &s) == nil {
			m.first = &s
			if si := s.Run.Sim; si != nil && si.TimeScale > 0 && si.TimeScale != 1 {
				m.scaled = si.TimeScale
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return m, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// context is the mean prompt + output tokens of the sweep's lowest
// level, 0 when unknown.
func (m *measuredSweep) context() int {
	if m.first == nil {
		return 0
	}
	t := m.first.Metrics
	return int(math.Round(t.InputTokens.Mean + t.OutputTokens.Mean))
}

// writeTheoryBeside prints the roofline's predictions beside the sweep's
// measurements: ms/token at concurrency 1, the largest batch against the
// knee, throughput at the largest batch against the highest measured.
func writeTheoryBeside(w io.Writer, e *theory.Estimate, m *measuredSweep) {
	fmt.Fprintf(w, "\nbeside the sweep %s (%d levels, %d-token context):\n", m.dir, len(m.rows), e.Input.Context)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tpredicted (roofline)\tmeasured\tmeasured ÷ predicted")
	low := m.rows[0]
	where := fmt.Sprintf("TPOT p50 at c%s", lvl(low.Level))
	if low.Level != 1 {
		where += " (no c1 level: the lowest)"
	}
	pred := 1000 * e.DecodeBatch1.S
	if low.TPOTP50 > 0 {
		fmt.Fprintf(tw, "ms/token at concurrency 1\t%.4g\t%.4g (%s)\t%.3g\n", pred, 1000*low.TPOTP50, where, 1000*low.TPOTP50/pred)
	} else {
		fmt.Fprintf(tw, "ms/token at concurrency 1\t%.4g\t- (the sweep has no TPOT p50)\t-\n", pred)
	}
	best := low
	for _, r := range m.rows {
		if r.OutputTokensPerS > best.OutputTokensPerS {
			best = r
		}
	}
	knee := "- (no method placed it)"
	if m.knee != nil {
		knee = fmt.Sprintf("knee at c%s (%s), %.4g tokens/s", lvl(m.knee.Level), m.knee.Method, m.knee.OutputTokensPerS)
	}
	fmt.Fprintf(tw, "largest batch\t%d sequences of %d tokens\t%s\t", e.MaxBatch, e.Input.Context, knee)
	if m.knee != nil && e.MaxBatch > 0 {
		fmt.Fprintf(tw, "%.3g\n", m.knee.Level/float64(e.MaxBatch))
	} else {
		fmt.Fprintln(tw, "-")
	}
	if e.MaxBatch > 0 {
		fmt.Fprintf(tw, "output tokens/s\t%.4g at batch %d\t%.4g at c%s (the highest)\t%.3g\n", e.DecodeMaxBatch.TokensPerS, e.MaxBatch,
			best.OutputTokensPerS, lvl(best.Level), best.OutputTokensPerS/e.DecodeMaxBatch.TokensPerS)
	}
	tw.Flush()
	fmt.Fprintln(w, "(the roofline is a floor on ms/token and, at its largest batch, a bound a server batching full-context sequences can reach: measured ÷ predicted above 1 in ms/token is framework and kernel overhead; a knee above the largest batch means the server fits more, shorter sequences than the context assumes; theory covers one replica of --count devices, a sweep everything behind its endpoint)")
	if m.scaled > 0 {
		fmt.Fprintf(w, "warning: the sweep ran the simulator at time scale %g: its times are the sped-up clock's, not the modelled hardware's\n", m.scaled)
	}
}
