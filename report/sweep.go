package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/llmload/llmload/analysis"
)

// WriteSweepJSON writes ss to path as indented JSON (sweep.json),
// atomically, as WriteSummaryJSON does.
func WriteSweepJSON(path string, ss *analysis.SweepSummary) error {
	if ss == nil {
		return errors.New("sweep: nil summary")
	}
	b, err := marshalIndent(ss)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// sweepCSVHeader names the columns of sweep.csv: the JSON names of
// analysis.SweepRow, in its order.
var sweepCSVHeader = []string{"level", "dir", "requests", "succeeded", "error_rate",
	"output_tokens_per_s", "requests_per_s",
	"output_speed_p25_tokens_per_s", "output_speed_p50_tokens_per_s", "output_speed_p75_tokens_per_s",
	"ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "e2e_p50_s", "e2e_p90_s", "e2e_p99_s",
	"concurrency_mean", "concurrency_max", "timeouts", "goodput_share", "stopped_early", "client_limited"}

// SweepCSV writes ss as CSV: a header row, then one row per level. Numbers
// are written in full precision without exponents; goodput_share is empty
// when no SLO was set.
func SweepCSV(w io.Writer, ss *analysis.SweepSummary) error {
	if ss == nil {
		return errors.New("sweep: nil summary")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(sweepCSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	d := strconv.Itoa
	for _, r := range ss.Rows {
		share := ""
		if r.GoodputShare != nil {
			share = f(*r.GoodputShare)
		}
		rec := []string{f(r.Level), r.Dir, d(r.Requests), d(r.Succeeded), f(r.ErrorRate),
			f(r.OutputTokensPerS), f(r.RequestsPerS),
			f(r.OutputSpeedP25), f(r.OutputSpeedP50), f(r.OutputSpeedP75),
			f(r.TTFTP50), f(r.TTFTP90), f(r.TTFTP99), f(r.E2EP50), f(r.E2EP90), f(r.E2EP99),
			f(r.ConcurrencyMean), d(r.ConcurrencyMax), d(r.Timeouts), share, r.StoppedEarly, strconv.FormatBool(r.ClientLimited)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSweepCSV writes SweepCSV to path (sweep.csv), atomically.
func WriteSweepCSV(path string, ss *analysis.SweepSummary) error {
	var buf bytes.Buffer
	if err := SweepCSV(&buf, ss); err != nil {
		return err
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// SweepTable writes the console table of a sweep: one line per level with
// its throughput, per-request speed, latency percentiles (ms), errors and
// goodput, then why the sweep stopped early, if it did.
func SweepTable(w io.Writer, ss *analysis.SweepSummary) error {
	if ss == nil {
		return errors.New("sweep table: nil summary")
	}
	bw := bufio.NewWriter(w)
	level := "level"
	switch ss.Kind {
	case analysis.SweepConcurrency:
		level = "concurrency"
	case analysis.SweepRate:
		level = "rate req/s"
	case analysis.SweepBatchSize:
		level = "batch size"
	}
	// A sweep of several series (an experiment's endpoints or prompt
	// mixes) labels each row with its series.
	groups, width := map[string]bool{}, len("case")
	for _, r := range ss.Rows {
		groups[r.Group] = true
		width = max(width, len(r.Group))
	}
	label := func(s string) string { return "" }
	if len(groups) > 1 {
		label = func(s string) string { return fmt.Sprintf("%-*s ", width, s) }
	}
	const f = "%11s %6s %6s %9s %7s %9s %9s %9s %9s %9s %6s %8s %8s  %s\n"
	fmt.Fprintln(bw, strings.TrimRight(label("case")+fmt.Sprintf(f, level, "reqs", "err%", "out tok/s", "req/s", "speed p50", "TTFT p50", "TTFT p99",
		"E2E p50", "E2E p99", "conc", "timeouts", "goodput", "note"), " \n"))
	for _, r := range ss.Rows {
		good := "-"
		if r.GoodputShare != nil {
			good = fmt.Sprintf("%.1f%%", 100**r.GoodputShare)
		}
		note := r.StoppedEarly
		if r.Probe != "" {
			// An auto sweep's probe: its level is the rate it measured.
			note = strings.TrimSuffix(fmt.Sprintf("%s probe at concurrency %d; %s", r.Probe, r.Concurrency, note), "; ")
			if ss.Auto != nil && r.Probe == "throughput" && r.Concurrency == ss.Auto.MaxConcurrency {
				note += " (the maximum)"
			}
		}
		if r.ClientLimited {
			// The level's numbers may be llmload's, not the endpoint's.
			note = strings.TrimSuffix("CLIENT-LIMITED; "+note, "; ")
		}
		row := fmt.Sprintf(f, strconv.FormatFloat(r.Level, 'g', 4, 64), strconv.Itoa(r.Requests), fmt.Sprintf("%.1f", 100*r.ErrorRate),
			num(r.OutputTokensPerS), num(r.RequestsPerS), num(r.OutputSpeedP50),
			num(1000*r.TTFTP50), num(1000*r.TTFTP99), num(1000*r.E2EP50), num(1000*r.E2EP99),
			num(r.ConcurrencyMean), strconv.Itoa(r.Timeouts), good, note)
		fmt.Fprintln(bw, strings.TrimRight(label(r.Group)+row, " \n"))
	}
	fmt.Fprintf(bw, "%s%11s speed: per-request output tokens/s (1/TPOT); latencies in ms; conc: mean in flight\n", label(""), "")
	if slices.ContainsFunc(ss.Rows, func(r analysis.SweepRow) bool { return r.ClientLimited }) {
		fmt.Fprintf(bw, "WARNING: CLIENT-LIMITED levels: llmload was short of CPU or scheduling time there and may have distorted their latencies (client_health in their summary.json)\n")
	}
	if a := ss.Auto; a != nil {
		fmt.Fprintf(bw, "auto sweep: rates from the synchronous %s to the maximum %s req/s; maximum found by %s\n",
			num(a.SyncRate), num(a.MaxRate), a.Method)
	}
	if ss.StopReason != "" {
		fmt.Fprintf(bw, "sweep stopped early: %s\n", ss.StopReason)
	}
	writeKnees(bw, ss)
	return bw.Flush()
}
