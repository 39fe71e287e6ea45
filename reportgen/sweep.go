package reportgen

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
)

// level is what a sweep report knows of one level's directory.
type level struct {
	Row      analysis.SweepRow
	Summary  *stats.Summary
	Config   *config.Config
	Warnings []Warning
	// Recomputed: no summary.json, summarized from records.jsonl.
	Recomputed bool
	// HasReport: the level's report.html exists.
	HasReport bool
}

// BuildSweep writes the report of the sweep in dir: the sweep's charts,
// its table, one section per group of an experiment matrix, links to each
// level's report, and summary.md/csv with one row per level. With
// opts.Levels it first rebuilds each level's own report.
func BuildSweep(dir string, opts Options) (*Result, error) {
	ss, err := readSweep(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: KindSweep}
	levels := make([]level, len(ss.Rows))
	for i, row := range ss.Rows {
		ld := filepath.Join(dir, row.Dir)
		levels[i].Row = row
		var buildErr error
		if opts.Levels {
			opts.progress("level %d/%d: %s", i+1, len(ss.Rows), ld)
			// A level that cannot be reported (its directory removed,
			// a bad file) does not stop the sweep's report: it says so.
			lr, err := BuildRun(ld, nil, nil, Options{Now: opts.Now})
			if err != nil {
				buildErr = err
			} else {
				res.Files = append(res.Files, lr.Files...)
			}
		}
		l, err := loadLevel(ld)
		if err != nil {
			l = &level{}
			buildErr = cmp.Or(buildErr, err)
		}
		l.Row = row
		if buildErr != nil {
			l.Warnings = append(l.Warnings, Warning{"report", "its report could not be built: " + buildErr.Error()})
		}
		levels[i] = *l
		if l.Recomputed {
			res.Recomputed = append(res.Recomputed, ld)
		}
	}
	opts.progress("drawing the sweep charts of %s", dir)
	names, by := groups(curveRows(ss.Rows))
	slos := sweepSLOs(levels)
	figs, err := sweepFigures(ss.Kind, "sweep_", "", names, by, slos)
	if err != nil {
		return nil, err
	}
	// A matrix sweep also gets each group's charts, drawn in the same
	// batch; counts remembers where each group's figures start.
	overall := len(figs)
	var counts []int
	if len(names) > 1 {
		for _, g := range names {
			f, err := sweepFigures(ss.Kind, "sweep_"+slug(g)+"_", g, []string{g}, by, slos)
			if err != nil {
				return nil, err
			}
			counts = append(counts, len(f))
			figs = append(figs, f...)
		}
	}
	files, err := writeFigures(dir, figs)
	if err != nil {
		return nil, err
	}
	groupFigs := make([][]figure, len(counts))
	for i, k := 0, overall; i < len(counts); i++ {
		groupFigs[i] = figs[k : k+counts[i]]
		k += counts[i]
	}
	rows := make([]Row, 0, len(levels))
	for _, l := range levels {
		if l.Summary == nil {
			continue
		}
		rows = append(rows, rowOf(l.Row.Dir, l.Summary, l.Config))
	}
	title := "llmload sweep " + cmp.Or(ss.Name, filepath.Base(dir))
	var md, csvb, html bytes.Buffer
	if err := SummaryMarkdown(&md, title, rows); err != nil {
		return nil, err
	}
	if err := SummaryCSV(&csvb, rows); err != nil {
		return nil, err
	}
	opts.progress("writing %s", filepath.Join(dir, HTMLFile))
	plan, planErr := readPlan(dir)
	if err := renderSweep(&html, dir, ss, levels, figs[:overall], names, groupFigs, rows, plan, planErr, opts.now()); err != nil {
		return nil, err
	}
	written, err := writePages(dir, HTMLFile, html.Bytes(), MDFile, md.Bytes(), CSVFile, csvb.Bytes())
	if err != nil {
		return nil, err
	}
	res.Files = append(append(written, files...), res.Files...)
	return res, nil
}

// loadLevel reads what the sweep report needs of a level: its summary
// (recomputed from records when summary.json is missing), config and
// warnings. A level whose directory is gone has no summary.
func loadLevel(dir string) (*level, error) {
	l := &level{HasReport: exists(filepath.Join(dir, HTMLFile))}
	l.Config, _ = rundir.ReadConfig(dir)
	raw, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	switch {
	case err == nil:
		var s stats.Summary
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, rundir.SummaryFile), err)
		}
		l.Summary, l.Warnings = &s, warnings(raw)
	case errors.Is(err, fs.ErrNotExist):
		recs, err := readRecords(filepath.Join(dir, rundir.RecordsFile))
		if errors.Is(err, fs.ErrNotExist) {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		s, err := recompute(dir, recs, l.Config)
		if err != nil {
			return nil, err
		}
		l.Summary, l.Recomputed = s, true
	default:
		return nil, err
	}
	return l, nil
}

var nonSlug = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// slug makes a group name usable in a file name and an HTML id.
func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(s, "-"), "-")
}

type levelRowView struct {
	Level, Group, Dir, Link, Note string
	Cells                         []string
}

type levelsView struct {
	HasGroup bool
	Rows     []levelRowView
}

type groupView struct {
	ID, Name string
	Rows     levelsView
	Figures  []figView
}

type sweepView struct {
	page
	Figures []figView
	Rows    levelsView
	Console string
	Groups  []groupView
	SumHead []string
	SumRows [][]string
	Knee    *kneeView
	Cost    *costView
	Plan    *planView
}

func renderSweep(w io.Writer, dir string, ss *analysis.SweepSummary, levels []level, figs []figure,
	names []string, groupFigs [][]figure, rows []Row, plan *analysis.Plan, planErr error, now time.Time) error {
	v := sweepView{page: page{
		Title: "llmload sweep " + cmp.Or(ss.Name, filepath.Base(dir)), Dir: dir,
		Generated: now.UTC().Format("2006-01-02 15:04:05 UTC"), CSS: template.CSS(css),
	}}
	var first *stats.Summary
	for _, l := range levels {
		if l.Summary != nil && first == nil {
			first = l.Summary
		}
	}
	add := func(k, val string) {
		if val != "" {
			v.Info = append(v.Info, [2]string{k, val})
		}
	}
	if first != nil {
		v.Version = first.Run.Version
		add("model", first.Run.Model)
		add("endpoint", strings.Trim(first.Run.Provider+": "+first.Run.BaseURL, ": "))
	}
	add("kind", ss.Kind+" sweep")
	add("levels", strconv.Itoa(len(ss.Rows)))
	if ss.Auto != nil {
		add("auto sweep", fmt.Sprintf("rates from the synchronous %s to the maximum %s req/s; %s", trim(ss.Auto.SyncRate), trim(ss.Auto.MaxRate), ss.Auto.Method))
	}
	if ss.StopReason != "" {
		v.Warnings = append(v.Warnings, Warning{"stop_reason", "The sweep stopped early: " + ss.StopReason})
	}
	for _, l := range levels {
		for _, wn := range l.Warnings {
			v.Warnings = append(v.Warnings, Warning{l.Row.Dir + ": " + wn.Field, "Level " + l.Row.Dir + ": " + wn.Text})
		}
		if l.Recomputed {
			v.Warnings = append(v.Warnings, Warning{l.Row.Dir + "/summary.json", "Level " + l.Row.Dir + " has no summary.json (it did not finish): its summary row was computed from records.jsonl."})
		}
		if l.Summary == nil {
			v.Warnings = append(v.Warnings, Warning{l.Row.Dir, "Level " + l.Row.Dir + " has neither summary.json nor records.jsonl: it is left out of the summary rows."})
		}
	}
	if len(curveRows(ss.Rows)) < len(ss.Rows) {
		v.Notes = append(v.Notes, "The auto sweep's closed-loop probes (sync, throughput) are in the table but not on the curves: their level is the rate they measured, not one they offered.")
	}
	names2, _ := groups(ss.Rows)
	hasGroup := len(names2) > 1
	all := levelsView{HasGroup: hasGroup}
	for _, l := range levels {
		all.Rows = append(all.Rows, levelRow(ss.Kind, l))
	}
	v.Rows = all
	v.Figures = figViews(figs, "sweep", "")
	var con bytes.Buffer
	if err := report.SweepTable(&con, ss); err != nil {
		return err
	}
	v.Console = con.String()
	if len(names) > 1 {
		for i, g := range names {
			gv := groupView{ID: "group-" + slug(g), Name: g, Rows: levelsView{}}
			for _, l := range levels {
				if l.Row.Group == g {
					gv.Rows.Rows = append(gv.Rows.Rows, levelRow(ss.Kind, l))
				}
			}
			gv.Figures = figViews(groupFigs[i], "sweep", "")
			v.Groups = append(v.Groups, gv)
		}
	}
	v.Knee = kneeSection(ss.Kind, ss)
	v.Cost = costSection(ss.Kind, ss, plan)
	v.Plan = planSection(ss.Kind, plan)
	if planErr != nil {
		v.Warnings = append(v.Warnings, Warning{PlanFile, "The plan could not be read: " + planErr.Error()})
	}
	if v.Plan != nil {
		for _, w := range v.Plan.Warnings {
			v.Warnings = append(v.Warnings, Warning{PlanFile, "Plan: " + w})
		}
	}
	v.SumHead = mdHeader
	for _, r := range rows {
		v.SumRows = append(v.SumRows, mdCells(r))
	}
	return pages.ExecuteTemplate(w, "sweep.tmpl", v)
}

// levelRow is a level as the sweep table shows it.
func levelRow(kind string, l level) levelRowView {
	r := l.Row
	good := "-"
	if r.GoodputShare != nil {
		good = pct(*r.GoodputShare)
	}
	note := r.StoppedEarly
	if r.Probe != "" {
		note = strings.TrimSuffix(fmt.Sprintf("%s probe at concurrency %d; %s", r.Probe, r.Concurrency, note), "; ")
	}
	v := levelRowView{Level: levelLabel(kind, r.Level), Group: r.Group, Dir: r.Dir, Note: note,
		Cells: []string{strconv.Itoa(r.Requests), pct(r.ErrorRate), trim(r.OutputTokensPerS), trim(r.RequestsPerS),
			trim(r.OutputSpeedP25), trim(r.OutputSpeedP50), trim(r.OutputSpeedP75),
			trim(1000 * r.TTFTP50), trim(1000 * r.TTFTP90), trim(1000 * r.TTFTP99),
			trim(1000 * r.E2EP50), trim(1000 * r.E2EP90), trim(1000 * r.E2EP99),
			trim(r.ConcurrencyMean), strconv.Itoa(r.ConcurrencyMax), strconv.Itoa(r.Timeouts), good}}
	if l.HasReport {
		v.Link = filepath.ToSlash(filepath.Join(r.Dir, HTMLFile))
	}
	return v
}
