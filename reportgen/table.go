package reportgen

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/stats"
)

// Row is one line of summary.md and summary.csv: one run, or one level of
// a sweep. Times are seconds, rates per second.
type Row struct {
	Run         string // the run's directory name
	Model       string
	Endpoint    string // provider: base URL
	Prompts     string // the experiment case, prompt sets or prompt file
	Mode        string
	Level       float64 // concurrency (closed loop, batches) or rate (req/s)
	Temperature string  // "" when the server's default was used

	InputTokensMean, OutputTokensMean          float64
	SpeedMean, SpeedMedian, SpeedMin, SpeedMax float64 // per-request output tok/s, 1/TPOT
	E2EMean                                    float64
	InFlightMean                               float64
	InFlightMax                                int
	TTFTP50, TTFTP90, TTFTP99                  float64
	E2EP50, E2EP90, E2EP99                     float64
	OutputTokensPerS, RequestsPerS, ErrorRate  float64
	GoodputShare                               *float64
}

// rowOf makes the row of a run from its summary and configuration (nil
// when config.yaml is missing).
func rowOf(name string, s *stats.Summary, c *config.Config) Row {
	r := s.Run
	m := s.Metrics
	row := Row{
		Run: name, Model: r.Model, Endpoint: strings.Trim(r.Provider+": "+r.BaseURL, ": "),
		Prompts: promptsOf(s, c), Mode: r.Mode, Level: levelOf(r),
		InputTokensMean: m.InputTokens.Mean, OutputTokensMean: m.OutputTokens.Mean,
		SpeedMean: m.OutputSpeed.Mean, SpeedMedian: m.OutputSpeed.Median, SpeedMin: m.OutputSpeed.Min, SpeedMax: m.OutputSpeed.Max,
		E2EMean:      m.E2E.Mean,
		InFlightMean: s.Concurrency.Mean, InFlightMax: s.Concurrency.Max,
		TTFTP50: m.TTFT.P50, TTFTP90: m.TTFT.P90, TTFTP99: m.TTFT.P99,
		E2EP50: m.E2E.P50, E2EP90: m.E2E.P90, E2EP99: m.E2E.P99,
		OutputTokensPerS: s.Throughput.OutputTokensPerS, RequestsPerS: s.Throughput.RequestsPerS, ErrorRate: s.ErrorRate,
	}
	if c != nil && c.Temperature != nil {
		row.Temperature = strconv.FormatFloat(*c.Temperature, 'g', -1, 64)
	}
	if s.Goodput != nil {
		g := s.Goodput.Share
		row.GoodputShare = &g
	}
	return row
}

// levelOf is the load level of a run: its rate in rate mode, else its
// concurrency (workers, batch size), else the measured peak in flight.
func levelOf(r stats.RunInfo) float64 {
	switch {
	case r.Mode == "rate" && r.Rate > 0:
		return r.Rate
	case r.BatchSize > 0:
		return float64(r.BatchSize)
	case r.Concurrency > 0:
		return float64(r.Concurrency)
	}
	return 0
}

// promptsOf says what was sent: the experiment case, else the prompt sets,
// the prompt file, a fixed prompt, or the synthetic lengths.
func promptsOf(s *stats.Summary, c *config.Config) string {
	if s.Run.Case != "" {
		return s.Run.Case
	}
	out := promptSource(s, c)
	if r := s.Run; r.PrefixTokens > 0 {
		out += fmt.Sprintf(", %d shared prefixes of %d tokens", max(1, r.PrefixGroups), r.PrefixTokens)
	}
	if s.Run.Turns > 1 {
		out += fmt.Sprintf(", sessions of %d turns", s.Run.Turns)
	}
	return out
}

// promptSource names the prompt source of promptsOf.
func promptSource(s *stats.Summary, c *config.Config) string {
	if d := s.Run.Dataset; d != nil {
		return "dataset " + filepath.Base(d.Path)
	}
	if c != nil {
		if len(c.PromptSets) > 0 {
			names := make([]string, len(c.PromptSets))
			for i, p := range c.PromptSets {
				names[i] = p.Name
			}
			return "sets " + strings.Join(names, "+")
		}
		if c.PromptFile != "" {
			return filepath.Base(c.PromptFile)
		}
		if c.Prompt != "" {
			return "fixed prompt"
		}
	}
	if s.Run.MeanInputTokens > 0 || s.Run.MeanOutputTokens > 0 {
		return fmt.Sprintf("synthetic %d→%d tokens", s.Run.MeanInputTokens, s.Run.MeanOutputTokens)
	}
	return ""
}

// csvHeader names the columns of summary.csv, in Row's order.
var csvHeader = []string{"run", "model", "endpoint", "prompts", "mode", "level", "temperature",
	"input_tokens_mean", "output_tokens_mean",
	"output_speed_mean_tokens_per_s", "output_speed_median_tokens_per_s", "output_speed_min_tokens_per_s", "output_speed_max_tokens_per_s",
	"e2e_mean_s", "in_flight_mean", "in_flight_max",
	"ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "e2e_p50_s", "e2e_p90_s", "e2e_p99_s",
	"output_tokens_per_s", "requests_per_s", "error_rate", "goodput_share"}

// SummaryCSV writes rows as CSV: a header, then one line per row; numbers
// in full precision without exponents, seconds and per-second; an empty
// goodput_share when no SLO was set.
func SummaryCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := ftoa
	for _, r := range rows {
		share := ""
		if r.GoodputShare != nil {
			share = f(*r.GoodputShare)
		}
		if err := cw.Write([]string{r.Run, r.Model, r.Endpoint, r.Prompts, r.Mode, f(r.Level), r.Temperature,
			f(r.InputTokensMean), f(r.OutputTokensMean),
			f(r.SpeedMean), f(r.SpeedMedian), f(r.SpeedMin), f(r.SpeedMax),
			f(r.E2EMean), f(r.InFlightMean), strconv.Itoa(r.InFlightMax),
			f(r.TTFTP50), f(r.TTFTP90), f(r.TTFTP99), f(r.E2EP50), f(r.E2EP90), f(r.E2EP99),
			f(r.OutputTokensPerS), f(r.RequestsPerS), f(r.ErrorRate), share}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// mdHeader names the columns of summary.md, with their units.
var mdHeader = []string{"run", "model", "endpoint", "prompts", "level", "temp",
	"in tok (mean)", "out tok (mean)",
	"tok/s/req mean", "tok/s/req median", "tok/s/req min", "tok/s/req max",
	"E2E mean (ms)", "in flight mean", "in flight max",
	"TTFT p50 (ms)", "TTFT p90 (ms)", "TTFT p99 (ms)", "E2E p50 (ms)", "E2E p90 (ms)", "E2E p99 (ms)",
	"out tok/s", "req/s", "errors", "goodput"}

// SummaryMarkdown writes rows as a Markdown table: latencies in ms,
// throughputs with one decimal, rates as percentages, then a legend line.
func SummaryMarkdown(w io.Writer, title string, rows []Row) error {
	var b bytes.Buffer
	if title != "" {
		fmt.Fprintf(&b, "# %s\n\n", mdEscape(title))
	}
	b.WriteString("| " + strings.Join(mdHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", 4))
	b.WriteString(strings.Repeat(" ---: |", len(mdHeader)-4) + "\n")
	for _, r := range rows {
		cells := mdCells(r)
		for i, c := range cells[:4] {
			cells[i] = mdEscape(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\ntok/s/req: per-request output speed, 1/TPOT (tokens/s); out tok/s: system output throughput; " +
		"errors: failed/requests; goodput: share of requests that met every SLO (- without SLOs).\n")
	_, err := w.Write(b.Bytes())
	return err
}

// mdCells formats r for people, in mdHeader's order: latencies in ms,
// rates as percentages.
func mdCells(r Row) []string {
	good := "-"
	if r.GoodputShare != nil {
		good = pct(*r.GoodputShare)
	}
	temp := r.Temperature
	if temp == "" {
		temp = "-"
	}
	return []string{r.Run, r.Model, r.Endpoint, r.Prompts, levelText(r.Mode, r.Level), temp,
		f1(r.InputTokensMean), f1(r.OutputTokensMean),
		f1(r.SpeedMean), f1(r.SpeedMedian), f1(r.SpeedMin), f1(r.SpeedMax),
		ms(r.E2EMean), f2(r.InFlightMean), strconv.Itoa(r.InFlightMax),
		ms(r.TTFTP50), ms(r.TTFTP90), ms(r.TTFTP99), ms(r.E2EP50), ms(r.E2EP90), ms(r.E2EP99),
		f1(r.OutputTokensPerS), f2(r.RequestsPerS), pct(r.ErrorRate), good}
}

// levelText writes a level for people: "c=8", "2 req/s".
func levelText(mode string, level float64) string {
	v := strconv.FormatFloat(level, 'g', 4, 64)
	switch {
	case level == 0:
		return "-"
	case mode == "rate":
		return v + " req/s"
	case strings.HasPrefix(mode, "batch"):
		return "batch " + v
	}
	return "c=" + v
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
func f1(v float64) string      { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string      { return strconv.FormatFloat(v, 'f', 2, 64) }
func ms(v float64) string      { return strconv.FormatFloat(1000*v, 'f', 1, 64) }
func pct(v float64) string     { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// ftoa writes a number as summary.csv does.
func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
