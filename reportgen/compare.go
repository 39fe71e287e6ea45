package reportgen

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/report/chart"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
)

// Files a comparison writes into its output directory (beside plots/).
const (
	CompareHTMLFile = "compare.html"
	CompareMDFile   = "compare.md"
	CompareCSVFile  = "compare.csv"
)

// ErrCompare is wrapped by errors in what a comparison was given (too few
// inputs, inputs that sweep different things): a usage error, not a
// failure.
var ErrCompare = errors.New("cannot compare")

// Series is one side of a comparison: a run (one level), a sweep, or one
// group of a matrix sweep.
type Series struct {
	// Name labels the series in tables and legends: the directory's name,
	// or the group's.
	Name string
	// Dir is the run or sweep directory it was read from.
	Dir string
	// Kind is what its levels count: analysis.SweepConcurrency,
	// SweepRate or SweepBatchSize.
	Kind string
	// Rows are its levels, in the order run (a run has one).
	Rows []analysis.SweepRow
	// Group is the matrix sweep's group the series is; "" otherwise.
	Group string
	// Model is the model of its first level, and Version the llmload
	// that measured it, when known.
	Model, Version string
}

// row is the series' row at level, or nil: the first row with that level.
func (s *Series) row(level float64) *analysis.SweepRow {
	for i := range s.Rows {
		if s.Rows[i].Level == level {
			return &s.Rows[i]
		}
	}
	return nil
}

// CompareMetric is one number a comparison shows at every level.
type CompareMetric struct {
	// Key names the metric in compare.csv; Name and Unit label it for
	// people.
	Key, Name, Unit string
	// Get reads it from a level's row, in the unit of compare.csv
	// (seconds, per second, a share).
	Get func(analysis.SweepRow) float64
	// Scale turns the CSV unit into Unit (1000: seconds to ms).
	Scale float64
	// HigherIsBetter tells how to read a difference.
	HigherIsBetter bool
}

// CompareMetrics are the metrics of a comparison, in the order shown.
var CompareMetrics = []CompareMetric{
	{"output_tokens_per_s", "System output throughput", "tok/s", func(r analysis.SweepRow) float64 { return r.OutputTokensPerS }, 1, true},
	{"output_speed_p50_tokens_per_s", "Per-request output speed (1/TPOT), median", "tok/s", func(r analysis.SweepRow) float64 { return r.OutputSpeedP50 }, 1, true},
	{"ttft_p50_s", "TTFT p50", "ms", func(r analysis.SweepRow) float64 { return r.TTFTP50 }, 1000, false},
	{"ttft_p99_s", "TTFT p99", "ms", func(r analysis.SweepRow) float64 { return r.TTFTP99 }, 1000, false},
	{"e2e_p50_s", "E2E latency p50", "ms", func(r analysis.SweepRow) float64 { return r.E2EP50 }, 1000, false},
	{"e2e_p99_s", "E2E latency p99", "ms", func(r analysis.SweepRow) float64 { return r.E2EP99 }, 1000, false},
	{"requests_per_s", "Requests per second", "req/s", func(r analysis.SweepRow) float64 { return r.RequestsPerS }, 1, true},
	{"error_rate", "Error rate", "%", func(r analysis.SweepRow) float64 { return r.ErrorRate }, 100, false},
}

// Comparison is two or more series side by side, level by level; the
// first series is the baseline.
type Comparison struct {
	Title  string
	Kind   string
	Series []Series
	// Levels are every level of any series, ascending: levels are matched
	// by value, and a level one series lacks is shown as "—".
	Levels []float64
}

// NewComparison checks series and lines up their levels. It wants two or
// more series that vary the same thing (all concurrency, all rate, or all
// batch size).
func NewComparison(title string, series []Series) (*Comparison, error) {
	if len(series) < 2 {
		return nil, fmt.Errorf("%w: want two or more runs or sweeps, or one matrix sweep with two or more groups (got %d series)", ErrCompare, len(series))
	}
	c := &Comparison{Title: title, Kind: series[0].Kind, Series: series}
	for _, s := range series {
		if s.Kind != c.Kind {
			return nil, fmt.Errorf("%w: %s varies %s but %s varies %s: levels would not mean the same", ErrCompare, series[0].Name, c.Kind, s.Name, s.Kind)
		}
		for _, r := range s.Rows {
			if !slices.Contains(c.Levels, r.Level) {
				c.Levels = append(c.Levels, r.Level)
			}
		}
	}
	slices.Sort(c.Levels)
	return c, nil
}

// LoadSeries reads the series of dirs, each a run or a sweep directory. A
// matrix sweep gives one series per group (named by its group alone when
// it is the only input); any other sweep or run gives one.
func LoadSeries(dirs []string) ([]Series, error) {
	var out []Series
	names := map[string]int{}
	for _, d := range dirs {
		names[filepath.Base(filepath.Clean(d))]++
	}
	for _, d := range dirs {
		name := filepath.Base(filepath.Clean(d))
		if names[name] > 1 {
			name = filepath.ToSlash(filepath.Clean(d))
		}
		kind, err := Detect(d)
		if err != nil {
			return nil, err
		}
		if kind == KindRun {
			s, err := runSeries(d, name)
			if err != nil {
				return nil, err
			}
			out = append(out, *s)
			continue
		}
		ss, err := readSweep(d)
		if err != nil {
			return nil, err
		}
		model, version := sweepModel(d, ss)
		gs, by := groups(curveRows(ss.Rows))
		if len(gs) == 1 {
			out = append(out, Series{Name: name, Dir: d, Kind: sweepKind(ss.Kind), Rows: by[gs[0]], Model: model, Version: version})
			continue
		}
		for _, g := range gs {
			n := g
			if len(dirs) > 1 {
				n = name + ": " + g
			}
			out = append(out, Series{Name: n, Dir: d, Kind: sweepKind(ss.Kind), Rows: by[g], Group: g, Model: model, Version: version})
		}
	}
	return out, nil
}

// sweepKind is a sweep's kind; sweeps written before kinds existed were
// concurrency sweeps.
func sweepKind(k string) string {
	if k == "" {
		return analysis.SweepConcurrency
	}
	return k
}

// sweepModel is the model and llmload version of a sweep's first level
// that says.
func sweepModel(dir string, ss *analysis.SweepSummary) (model, version string) {
	for _, r := range ss.Rows {
		if b, err := os.ReadFile(filepath.Join(dir, r.Dir, rundir.SummaryFile)); err == nil {
			var s stats.Summary
			if json.Unmarshal(b, &s) == nil && s.Run.Model != "" {
				return s.Run.Model, s.Run.Version
			}
		}
	}
	return "", ""
}

// runSeries is a run as a series of one level.
func runSeries(dir, name string) (*Series, error) {
	d, err := loadRun(dir, nil, nil)
	if err != nil {
		return nil, err
	}
	r := d.Summary.Run
	kind := analysis.SweepConcurrency
	switch {
	case r.Mode == "rate":
		kind = analysis.SweepRate
	case strings.HasPrefix(r.Mode, "batch"):
		kind = analysis.SweepBatchSize
	}
	row := analysis.SweepRowOf(levelOf(r), filepath.Base(dir), d.Summary)
	return &Series{Name: name, Dir: dir, Kind: kind, Rows: []analysis.SweepRow{row}, Model: r.Model, Version: r.Version}, nil
}

// cell is one series' value of m at a level: ok false when the series
// has no such level.
func (c *Comparison) cell(s *Series, m CompareMetric, level float64) (v float64, ok bool) {
	r := s.row(level)
	if r == nil {
		return 0, false
	}
	return m.Get(*r), true
}

// diff is the relative difference of v against the baseline base, as a
// share; ok false when there is no baseline value or it is 0.
func diff(v, base float64) (float64, bool) {
	if base == 0 || math.IsNaN(base) || math.IsNaN(v) {
		return 0, false
	}
	return (v - base) / base, true
}

// levelName writes a level of the comparison's kind: "c=10", "2 req/s",
// "batch 10".
func (c *Comparison) levelName(l float64) string {
	switch c.Kind {
	case analysis.SweepRate:
		return levelText("rate", l)
	case analysis.SweepBatchSize:
		return levelText("batch", l)
	}
	return levelText("concurrency", l)
}

// dash marks a level a series did not run.
const dash = "—"

// fmtValue writes a value for people: one decimal, or three significant
// digits below 10.
func fmtValue(v float64) string {
	if math.Abs(v) < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtDiff writes a relative difference with its sign: "+12.3%".
func fmtDiff(d float64) string {
	s := strconv.FormatFloat(100*d, 'f', 1, 64)
	if d >= 0 {
		s = "+" + s
	}
	return s + "%"
}

// tableHead is the header of one metric's table: level, then each series
// and, after each but the baseline, its difference from the baseline.
func (c *Comparison) tableHead() []string {
	h := []string{"level"}
	for i, s := range c.Series {
		h = append(h, s.Name)
		if i > 0 {
			h = append(h, "vs "+c.Series[0].Name)
		}
	}
	return h
}

// tableRows are the rows of m's table, one per level, formatted.
func (c *Comparison) tableRows(m CompareMetric) [][]string {
	var out [][]string
	for _, l := range c.Levels {
		row := []string{c.levelName(l)}
		base, baseOK := c.cell(&c.Series[0], m, l)
		for i := range c.Series {
			v, ok := c.cell(&c.Series[i], m, l)
			if ok {
				row = append(row, fmtValue(m.Scale*v))
			} else {
				row = append(row, dash)
			}
			if i == 0 {
				continue
			}
			if d, dok := diff(v, base); ok && baseOK && dok {
				row = append(row, fmtDiff(d))
			} else {
				row = append(row, dash)
			}
		}
		out = append(out, row)
	}
	return out
}

// Markdown writes the comparison as Markdown: the inputs, then one table
// per metric with a row per level, each series' value and its difference
// from the baseline (the first series); "—" where a series lacks the
// level.
func (c *Comparison) Markdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(c.Title))
	fmt.Fprintf(&b, "Baseline: %s. Levels (%s) are matched by value; — marks a level an input did not run. "+
		"A difference is (value − baseline) / baseline.\n\n", mdEscape(c.Series[0].Name), strings.ReplaceAll(c.Kind, "_", " "))
	b.WriteString("| input | directory | model | levels |\n| --- | --- | --- | ---: |\n")
	for _, s := range c.Series {
		fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", mdEscape(s.Name), mdEscape(filepath.ToSlash(s.Dir)), mdEscape(cmp.Or(s.Model, "-")), len(s.Rows))
	}
	for _, m := range CompareMetrics {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", m.Name, m.Unit)
		head := c.tableHead()
		for i := range head {
			head[i] = mdEscape(head[i])
		}
		b.WriteString("| " + strings.Join(head, " | ") + " |\n")
		b.WriteString("| --- |" + strings.Repeat(" ---: |", len(head)-1) + "\n")
		for _, r := range c.tableRows(m) {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// compareCSVHeader names the columns of compare.csv.
var compareCSVHeader = []string{"kind", "level", "metric", "input", "value", "baseline", "diff_pct"}

// CSV writes the comparison in long form: one line per level, metric and
// series, the value in the metric's base unit (seconds, per second, a
// share), the baseline's value and the difference in percent. A level a
// series lacks has an empty value; a baseline line has no difference.
func (c *Comparison) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(compareCSVHeader); err != nil {
		return err
	}
	for _, l := range c.Levels {
		for _, m := range CompareMetrics {
			base, baseOK := c.cell(&c.Series[0], m, l)
			for i := range c.Series {
				v, ok := c.cell(&c.Series[i], m, l)
				val, bv, d := "", "", ""
				if ok {
					val = ftoa(v)
				}
				if baseOK {
					bv = ftoa(base)
				}
				if dd, dok := diff(v, base); i > 0 && ok && baseOK && dok {
					d = strconv.FormatFloat(100*dd, 'f', 2, 64)
				}
				if err := cw.Write([]string{c.Kind, ftoa(l), m.Key, c.Series[i].Name, val, bv, d}); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// compareFigures are the overlaid charts of a comparison: the sweep
// charts with one series per input, and E2E p50 against load.
func (c *Comparison) compareFigures() ([]figure, error) {
	names := make([]string, len(c.Series))
	by := map[string][]analysis.SweepRow{}
	for i, s := range c.Series {
		names[i] = s.Name
		by[s.Name] = s.Rows
	}
	figs, err := sweepFigures(c.Kind, "compare_", "", names, by, nil)
	if err != nil {
		return nil, err
	}
	var ss []chart.Series
	for i, s := range c.Series {
		var xy []chart.XY
		for _, r := range s.Rows {
			xy = append(xy, chart.XY{X: r.Level, Y: 1000 * r.E2EP50})
		}
		ss = append(ss, chart.Series{Name: s.Name, Points: xy, Markers: true, Color: i})
	}
	spec := chart.LineSpec{Title: "E2E latency p50 against load", XLabel: levelAxis(c.Kind), YLabel: "E2E p50 (ms)", Series: ss, YFromZero: true}
	if len(c.Levels) <= 12 {
		spec.XTicks = c.Levels
	}
	spec.LogX = len(c.Levels) > 2 && c.Levels[0] > 0 && c.Levels[len(c.Levels)-1]/c.Levels[0] > 10
	p, err := chart.LineChart(spec)
	if err != nil {
		return nil, fmt.Errorf("chart e2e: %w", err)
	}
	// Throughput, speed, TTFT, then E2E, errors and the latency–throughput curve.
	e2e := figure{Name: "compare_e2e", Section: "sweep", Plot: p}
	at := min(3, len(figs))
	return slices.Insert(figs, at, e2e), nil
}

type compareTable struct {
	ID, Name, Unit string
	Head           []string
	Rows           [][]string
}

type compareInput struct {
	Name, Dir, Model, Link string
	Levels                 int
}

type compareView struct {
	page
	Inputs   []compareInput
	Baseline string
	Figures  []figView
	Tables   []compareTable
}

// BuildCompare reads the run and sweep directories dirs (the first is the
// baseline) and writes compare.html, compare.md, compare.csv and plots/
// into out. Too few series, or series of different kinds, give an error
// wrapping ErrCompare; a directory that is neither a run nor a sweep one
// wrapping ErrNotRunDir.
func BuildCompare(dirs []string, out string, opts Options) (*Result, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrCompare)
	}
	series, err := LoadSeries(dirs)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(series))
	for i, s := range series {
		names[i] = s.Name
	}
	c, err := NewComparison("llmload compare: "+strings.Join(names, " vs "), series)
	if err != nil {
		return nil, err
	}
	opts.progress("drawing the charts")
	figs, err := c.compareFigures()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	files, err := writeFigures(out, figs)
	if err != nil {
		return nil, err
	}
	var md, csvb, html bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		return nil, err
	}
	if err := c.CSV(&csvb); err != nil {
		return nil, err
	}
	if err := c.renderHTML(&html, out, figs, opts); err != nil {
		return nil, err
	}
	written, err := writePages(out, CompareHTMLFile, html.Bytes(), CompareMDFile, md.Bytes(), CompareCSVFile, csvb.Bytes())
	if err != nil {
		return nil, err
	}
	return &Result{Files: append(written, files...)}, nil
}

// renderHTML writes compare.html: the inputs, the overlaid charts and one
// table per metric.
func (c *Comparison) renderHTML(w io.Writer, out string, figs []figure, opts Options) error {
	v := compareView{page: page{
		Title: c.Title, Dir: out, Generated: opts.now().UTC().Format("2006-01-02 15:04:05 UTC"), CSS: template.CSS(css),
	}, Baseline: c.Series[0].Name}
	for _, s := range c.Series {
		in := compareInput{Name: s.Name, Dir: s.Dir, Model: cmp.Or(s.Model, "-"), Levels: len(s.Rows)}
		abs, err1 := filepath.Abs(filepath.Join(s.Dir, HTMLFile))
		absOut, err2 := filepath.Abs(out)
		if err1 == nil && err2 == nil && exists(abs) {
			if rel, err := filepath.Rel(absOut, abs); err == nil {
				in.Link = filepath.ToSlash(rel)
				if s.Group != "" {
					in.Link += "#group-" + slug(s.Group)
				}
			}
		}
		v.Inputs = append(v.Inputs, in)
	}
	v.Version = c.Series[0].Version
	v.Figures = figViews(figs, "sweep", "")
	for _, m := range CompareMetrics {
		v.Tables = append(v.Tables, compareTable{ID: "t-" + m.Key, Name: m.Name, Unit: m.Unit, Head: c.tableHead(), Rows: c.tableRows(m)})
	}
	return pages.ExecuteTemplate(w, "compare.tmpl", v)
}
