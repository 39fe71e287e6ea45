package reportgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
)

// SweepFile is the file that marks a sweep directory.
const SweepFile = "sweep.json"

// ErrNotRunDir is returned for a directory that holds neither a run
// (records.jsonl or summary.json) nor a sweep (sweep.json).
var ErrNotRunDir = errors.New("not a run or sweep directory")

// Kind is what a directory holds.
type Kind int

// Kinds of directory.
const (
	KindRun Kind = iota + 1
	KindSweep
)

// Detect tells whether dir holds a run or a sweep.
func Detect(dir string) (Kind, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w (no such directory)", dir, ErrNotRunDir)
	}
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("%s: %w (it is a file)", dir, ErrNotRunDir)
	}
	if exists(filepath.Join(dir, SweepFile)) {
		return KindSweep, nil
	}
	if exists(filepath.Join(dir, rundir.RecordsFile)) || exists(filepath.Join(dir, rundir.SummaryFile)) {
		return KindRun, nil
	}
	return 0, fmt.Errorf("%s: %w (no %s, %s or %s)", dir, ErrNotRunDir, rundir.RecordsFile, rundir.SummaryFile, SweepFile)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// runData is everything a run report reads from a run directory.
type runData struct {
	Dir     string
	Summary *stats.Summary
	// Recomputed is set when summary.json was missing (a crashed run) and
	// the summary was computed from records.jsonl.
	Recomputed bool
	// Warnings are the summary's warning fields (any key holding
	// "warning"), by key, as text.
	Warnings []Warning
	Records  []record.Record
	// Timeline is timeline.jsonl; nil when absent.
	Timeline   []record.Sample
	ConfigYAML string
	Config     *config.Config
}

// Warning is one warning of a run, with the field it came from.
type Warning struct {
	Field, Text string
}

// loadRun reads a run directory. Records are optional when the summary
// exists (the charts from records are then skipped); the summary is
// recomputed from the records when summary.json is missing.
func loadRun(dir string, recs []record.Record, sum *stats.Summary) (*runData, error) {
	d := &runData{Dir: dir, Records: recs, Summary: sum}
	if b, err := os.ReadFile(filepath.Join(dir, rundir.ConfigFile)); err == nil {
		d.ConfigYAML = string(b)
		if c, err := rundir.ReadConfig(dir); err == nil {
			d.Config = c
		}
	}
	if d.Records == nil {
		recs, err := readRecords(filepath.Join(dir, rundir.RecordsFile))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		d.Records = recs
	}
	raw, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	switch {
	case err == nil:
		if d.Summary == nil {
			var s stats.Summary
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, rundir.SummaryFile), err)
			}
			d.Summary = &s
		}
		d.Warnings = warnings(raw)
	case errors.Is(err, fs.ErrNotExist):
		if d.Summary == nil {
			s, err := recompute(dir, d.Records, d.Config)
			if err != nil {
				return nil, err
			}
			d.Summary, d.Recomputed = s, true
			if s.ScheduleLagWarning != "" {
				d.Warnings = append(d.Warnings, Warning{"schedule_lag_warning", s.ScheduleLagWarning})
			}
		}
	default:
		return nil, err
	}
	d.Timeline, err = readTimeline(filepath.Join(dir, rundir.TimelineFile))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// recompute summarizes a run that has no summary.json (it crashed before
// writing one) from its records, with what config.yaml says about it and
// goodput under its SLOs.
func recompute(dir string, recs []record.Record, c *config.Config) (*stats.Summary, error) {
	if recs == nil {
		return nil, fmt.Errorf("%s: neither %s nor %s to report on", dir, rundir.SummaryFile, rundir.RecordsFile)
	}
	info := stats.RunInfo{Name: filepath.Base(dir), StopReason: "unknown: the run ended without writing summary.json"}
	var slos []analysis.SLO
	if c != nil {
		info.Provider, info.Model, info.BaseURL, info.API, info.Stream = c.Provider, c.Model, config.RedactURL(c.BaseURL), c.API, c.Stream
		info.Mode = c.Mode
		if info.Mode == "" {
			info.Mode = "concurrency"
		}
		if len(c.Concurrency) > 0 {
			info.Concurrency = c.Concurrency[0]
		}
		if len(c.Rate) > 0 {
			info.Rate = c.Rate[0]
		}
		info.MaxConcurrency, info.BatchSize, info.Batches = c.MaxConcurrency, c.BatchSize.First(), c.Batches
		info.BatchIntervalS = c.BatchInterval.D().Seconds()
		info.MaxRequests, info.WarmupRequests = c.MaxRequests, c.Warmup
		info.MeanInputTokens, info.StddevInputTokens = c.MeanInputTokens, c.StddevInputTokens
		info.MeanOutputTokens, info.StddevOutputTokens = c.MeanOutputTokens, c.StddevOutputTokens
		info.Tokenizer = c.Tokenizer
		var err error
		if slos, err = analysis.ParseSLOs(c.SLOs); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, rundir.ConfigFile), err)
		}
	}
	s := stats.Summarize(recs, info)
	if len(slos) > 0 {
		g := analysis.Goodput(recs, slos, s.WindowS)
		s.Goodput = &g
	}
	return s, nil
}

// warnings collects the top-level fields of summary.json whose name holds
// "warning": schedule_lag_warning today, and whatever warnings later
// versions add (a string, or a list of strings), so a report shows them
// without knowing them.
func warnings(raw []byte) []Warning {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []Warning
	for _, k := range stats.SortedKeys(m) {
		if !strings.Contains(k, "warning") {
			continue
		}
		var s string
		if json.Unmarshal(m[k], &s) == nil {
			if s != "" {
				out = append(out, Warning{k, s})
			}
			continue
		}
		var ss []string
		if json.Unmarshal(m[k], &ss) == nil {
			for _, s := range ss {
				out = append(out, Warning{k, s})
			}
			continue
		}
		out = append(out, Warning{k, string(bytes.TrimSpace(m[k]))})
	}
	return out
}

// readTimeline reads timeline.jsonl; nil, nil when it is absent. A last
// line cut short by a crash is skipped.
func readTimeline(path string) ([]record.Sample, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []record.Sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s record.Sample
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// readSweep reads sweep.json.
func readSweep(dir string) (*analysis.SweepSummary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SweepFile))
	if err != nil {
		return nil, err
	}
	var ss analysis.SweepSummary
	if err := json.Unmarshal(b, &ss); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SweepFile), err)
	}
	return &ss, nil
}

// groups splits sweep rows into their series, in first-seen order.
func groups(rows []analysis.SweepRow) (names []string, by map[string][]analysis.SweepRow) {
	by = map[string][]analysis.SweepRow{}
	for _, r := range rows {
		if _, ok := by[r.Group]; !ok {
			names = append(names, r.Group)
		}
		by[r.Group] = append(by[r.Group], r)
	}
	return names, by
}
