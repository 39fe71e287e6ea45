// Package reportgen turns a run directory into pictures and tables,
// offline, from its files alone: plots/*.png and plots/*.svg (gonum/plot),
// a self-contained report.html (every chart, style and datum inlined, no
// network request), and summary.md and summary.csv (one row per run or
// per sweep level). It never re-measures: it reads records.jsonl,
// summary.json, timeline.jsonl, sweep.json and config.yaml. A run that
// crashed before writing summary.json is summarized from its records
// (stats.Summarize), and the report says so. The package never prints.
package reportgen

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report/chart"
	"github.com/llmload/llmload/stats"
)

// Files a report writes into a run or sweep directory.
const (
	HTMLFile = "report.html"
	MDFile   = "summary.md"
	CSVFile  = "summary.csv"
	PlotsDir = "plots"
	// PlanFile is what `llmload plan` writes into a run or sweep
	// directory; a report includes it when present.
	PlanFile = "plan.json"
)

// Options tune a build. The zero value builds what `llmload report` does
// for a run.
type Options struct {
	// Levels, for a sweep, rebuilds each level's own report too (as
	// `llmload report` does); false builds only the sweep's files (as
	// `llmload run` does after each level already wrote its own).
	Levels bool
	// Progress, when set, is called before each step with a few words
	// about it (a CLI shows them for long builds). It must not block.
	Progress func(step string)
	// Now stamps the report; zero means time.Now. Tests fix it.
	Now time.Time
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Result tells what a build wrote.
type Result struct {
	Kind Kind
	// Files are the paths written, report.html first.
	Files []string
	// Recomputed lists run directories whose summary was computed from
	// records.jsonl because summary.json was missing.
	Recomputed []string
}

// Build writes the report of dir, a run or a sweep directory. A directory
// that is neither gives an error wrapping ErrNotRunDir.
func Build(dir string, opts Options) (*Result, error) {
	kind, err := Detect(dir)
	if err != nil {
		return nil, err
	}
	if kind == KindSweep {
		return BuildSweep(dir, opts)
	}
	return BuildRun(dir, nil, nil, opts)
}

// BuildRun writes the report of the run in dir. recs and sum may hold
// what the caller already has in memory (bench.Run does); nil reads them
// from the directory, and a missing summary.json is recomputed from the
// records.
func BuildRun(dir string, recs []record.Record, sum *stats.Summary, opts Options) (*Result, error) {
	opts.progress("reading %s", dir)
	d, err := loadRun(dir, recs, sum)
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: KindRun}
	if d.Recomputed {
		res.Recomputed = append(res.Recomputed, dir)
	}
	opts.progress("drawing the charts of %s", dir)
	figs, err := runFigures(d)
	if err != nil {
		return nil, err
	}
	files, err := writeFigures(dir, figs)
	if err != nil {
		return nil, err
	}
	row := rowOf(filepath.Base(dir), d.Summary, d.Config)
	var md, csvb bytes.Buffer
	if err := SummaryMarkdown(&md, "llmload run "+cmp.Or(d.Summary.Run.Name, filepath.Base(dir)), []Row{row}); err != nil {
		return nil, err
	}
	if err := SummaryCSV(&csvb, []Row{row}); err != nil {
		return nil, err
	}
	opts.progress("writing %s", filepath.Join(dir, HTMLFile))
	var html bytes.Buffer
	if err := renderRun(&html, d, figs, row, opts.now()); err != nil {
		return nil, err
	}
	written, err := writePages(dir, HTMLFile, html.Bytes(), MDFile, md.Bytes(), CSVFile, csvb.Bytes())
	if err != nil {
		return nil, err
	}
	res.Files = append(append(res.Files, written...), files...)
	return res, nil
}

// writePages writes a report's page, Markdown and CSV (name, content,
// name, content, …) into dir, each atomically, and returns their paths.
func writePages(dir string, htmlName string, html []byte, mdName string, md []byte, csvName string, csv []byte) ([]string, error) {
	var written []string
	for _, f := range []struct {
		name string
		b    []byte
	}{{htmlName, html}, {mdName, md}, {csvName, csv}} {
		p := filepath.Join(dir, f.name)
		if err := writeAtomic(p, f.b); err != nil {
			return nil, err
		}
		written = append(written, p)
	}
	return written, nil
}

// writeFigures renders figs (two at a time) into dir/plots as PNG and SVG,
// and keeps each SVG for inlining.
func writeFigures(dir string, figs []figure) ([]string, error) {
	pd := filepath.Join(dir, PlotsDir)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return nil, err
	}
	errs := make([]error, len(figs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range figs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f := &figs[i]
			png, svg, err := chart.Render(f.Plot)
			if err == nil {
				err = errors.Join(writeAtomic(filepath.Join(pd, f.Name+".png"), png),
					writeAtomic(filepath.Join(pd, f.Name+".svg"), svg))
			}
			f.SVG = inlineSVG(svg)
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var files []string
	for _, f := range figs {
		files = append(files, filepath.Join(pd, f.Name+".png"), filepath.Join(pd, f.Name+".svg"))
	}
	return files, nil
}

var (
	svgProlog = regexp.MustCompile(`(?s)^.*?<svg `)
	svgSize   = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
)

// inlineSVG prepares gonum/plot's SVG for inlining in HTML: no XML prolog,
// scaled to the page's width, and the font falling back to the metric-
// compatible Arial or any sans-serif when Liberation Sans is not installed.
func inlineSVG(svg []byte) string {
	s := svgProlog.ReplaceAllString(string(svg), "<svg ")
	s = svgSize.ReplaceAllString(s, `<svg class="chart" role="img"`)
	return strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path: a reader sees the old file or the new one.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
