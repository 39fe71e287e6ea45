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

// compare puts two or more runs or sweeps (or the groups of one matrix
// sweep) side by side by level: compare.html, compare.md, compare.csv and
// plots/ in --out.
func (c *cli) compare(args []string) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory to write compare.html, compare.md, compare.csv and plots/ into (default results/compare-<time>)")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: llmload compare [flags] A B [C…]
       llmload compare [flags] MATRIX-SWEEP

Puts runs or sweeps side by side, level by level (levels matched by value;
"—" where an input lacks a level): system throughput, per-request output
speed, TTFT and E2E percentiles, errors, as absolute values and as the %
difference from the first input, the baseline. With one matrix sweep
directory, its groups are compared. Writes compare.html (overlaid charts,
self-contained), compare.md, compare.csv and plots/ into --out. Nothing is
measured again.

Flags:
`)
		fs.PrintDefaults()
	}
	dirs, done, st := c.parseArgs(fs, args)
	if done {
		return st
	}
	if len(dirs) == 0 {
		return c.usageErr("compare", errors.New("want two or more run or sweep directories, or one matrix sweep: llmload compare A B [C…] --out DIR (see 'llmload compare -h')"))
	}
	if *out == "" {
		*out = filepath.Join("results", "compare-"+time.Now().Format("20060102-150405"))
	}
	start := time.Now()
	opts := reportgen.Options{}
	if !*quiet {
		opts.Progress = func(step string) { fmt.Fprintf(c.stderr, "llmload compare: %s\n", step) }
	}
	res, err := reportgen.BuildCompare(dirs, *out, opts)
	if err != nil {
		if errors.Is(err, reportgen.ErrNotRunDir) || errors.Is(err, reportgen.ErrCompare) {
			return c.usageErr("compare", err)
		}
		fmt.Fprintf(c.stderr, "llmload compare: %v\n", err)
		return exitFailed
	}
	if !*quiet {
		fmt.Fprintf(c.stdout, "%s (%d files in %.1fs)\n", filepath.Join(*out, reportgen.CompareHTMLFile), len(res.Files), time.Since(start).Seconds())
	}
	return exitOK
}
