package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/llmload/llmload/reportgen"
)

// report rebuilds report.html, summary.md, summary.csv and plots/ of a run
// or sweep directory from its files alone.
func (c *cli) report(args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: llmload report [flags] DIR

Rebuilds report.html, summary.md, summary.csv and plots/ of DIR, a run
directory or a sweep directory (and each of its levels), from the files in
it alone: nothing is measured again. A run that crashed before writing
summary.json is summarized from records.jsonl.

Flags:
`)
		fs.PrintDefaults()
	}
	dirs, done, st := c.parseArgs(fs, args)
	if done {
		return st
	}
	if len(dirs) != 1 {
		return c.usageErr("report", errors.New("want one directory: llmload report DIR (see 'llmload report -h')"))
	}
	dir := dirs[0]
	start := time.Now()
	opts := reportgen.Options{Levels: true}
	if !*quiet {
		opts.Progress = func(step string) { fmt.Fprintf(c.stderr, "llmload report: %s\n", step) }
	}
	res, err := reportgen.Build(dir, opts)
	if err != nil {
		if errors.Is(err, reportgen.ErrNotRunDir) {
			return c.usageErr("report", err)
		}
		fmt.Fprintf(c.stderr, "llmload report: %v\n", err)
		return exitFailed
	}
	for _, d := range res.Recomputed {
		fmt.Fprintf(c.stderr, "llmload report: %s has no summary.json; summarized from records.jsonl\n", d)
	}
	if !*quiet {
		fmt.Fprintf(c.stdout, "%s (%d files in %.1fs)\n", filepath.Join(dir, reportgen.HTMLFile), len(res.Files), time.Since(start).Seconds())
	}
	return exitOK
}
