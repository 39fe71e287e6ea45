package reportgen

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/stats"
)

//go:embed assets/style.css assets/*.tmpl
var assets embed.FS

var (
	css   = mustRead("assets/style.css")
	pages = template.Must(template.New("").ParseFS(assets, "assets/*.tmpl"))
)

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// figView is a figure as a page shows it.
type figView struct {
	Name, Caption, PNG, File string
	SVG                      template.HTML
}

// figViews turns the figures of one section into views; base is the
// path from the page to the figures' directory ("" for the page's own).
func figViews(figs []figure, section, base string) []figView {
	var out []figView
	for _, f := range figs {
		if f.Section != section {
			continue
		}
		out = append(out, figView{
			Name:    f.Name,
			Caption: strings.ReplaceAll(f.Plot.Title.Text, "\n", " "),
			PNG:     base + PlotsDir + "/" + f.Name + ".png",
			File:    base + PlotsDir + "/" + f.Name + ".svg",
			// The SVG is gonum/plot's output for our own plot, with its
			// text escaped by the SVG writer: safe to inline.
			SVG: template.HTML(f.SVG),
		})
	}
	return out
}

// page holds what every page has.
type page struct {
	Title, Dir, Version, Generated string
	CSS                            template.CSS
	Info                           [][2]string
	Warnings                       []Warning
	Notes                          []string
}

type metricView struct {
	Name, Unit string
	Cells      []string
}

type serverView struct {
	Name, By string
	Cells    []string
}

type goodputView struct {
	Share, Rate   string
	Met, Requests int
	Objectives    [][3]string
}

type runView struct {
	page
	// SweepLink leads to the report of the sweep the run is a level of.
	SweepLink          string
	KPIs               [][2]string
	Metrics            []metricView
	RunHead, RunCells  []string
	ErrorKinds         [][2]string
	Console            string
	Dists, Boxes, Time []figView
	Lag                []figView
	Goodput            *goodputView
	Server             []serverView
	Overhead           string
	Sets               [][]string
	Turns              [][]string
	Sessions           string
	Config             string
	Plan               *planView
}

// renderRun writes the report.html of a run.
func renderRun(w io.Writer, d *runData, figs []figure, row Row, now time.Time) error {
	s := d.Summary
	r := s.Run
	v := runView{page: page{
		Title: "llmload run " + cmp.Or(r.Name, filepath.Base(d.Dir)), Dir: d.Dir, Version: r.Version,
		Generated: now.UTC().Format("2006-01-02 15:04:05 UTC"), CSS: template.CSS(css),
		Warnings: runWarnings(d),
	}}
	add := func(k, val string) {
		if val != "" {
			v.Info = append(v.Info, [2]string{k, val})
		}
	}
	add("model", r.Model)
	add("endpoint", row.Endpoint)
	if r.Sim != nil {
		add("simulator", fmt.Sprintf("%s: %s, time scale %s", r.Sim.Profile, r.Sim.Description, trim(r.Sim.TimeScale)))
	}
	add("load", loadText(r))
	add("prompts", row.Prompts)
	add("temperature", row.Temperature)
	add("sweep / case", strings.Trim(r.Sweep+" / "+r.Case, " /"))
	if r.Sweep != "" || exists(filepath.Join(d.Dir, "..", SweepFile)) {
		v.SweepLink = "../" + HTMLFile
	}
	if !r.StartedAt.IsZero() {
		add("started", r.StartedAt.UTC().Format(time.RFC3339))
		add("ended", r.EndedAt.UTC().Format(time.RFC3339))
	}
	add("stop reason", r.StopReason)
	add("llmload", r.Version)
	if d.Recomputed {
		v.Notes = append(v.Notes, "This run has no summary.json (it crashed or was killed before writing one): "+
			"every number here was computed from records.jsonl by stats.Summarize, with what config.yaml says about the run. "+
			"Requests still in flight when it ended are not in the records.")
	}
	if len(d.Records) == 0 {
		v.Notes = append(v.Notes, "records.jsonl is missing or empty: the histograms and the charts over time need it, so only the summary's charts are drawn.")
	}
	if d.Timeline == nil && len(d.Records) > 0 {
		v.Notes = append(v.Notes, "No timeline.jsonl: requests in flight were rebuilt from the records' send and end times.")
	}

	v.KPIs = [][2]string{
		{"output tokens/s (system)", trim(s.Throughput.OutputTokensPerS)},
		{"requests/s", trim(s.Throughput.RequestsPerS)},
		{"TTFT p50 / p99 (ms)", trim(1000*s.Metrics.TTFT.P50) + " / " + trim(1000*s.Metrics.TTFT.P99)},
		{"E2E p50 / p99 (s)", trim(s.Metrics.E2E.P50) + " / " + trim(s.Metrics.E2E.P99)},
		{"per-request tok/s, median", trim(s.Metrics.OutputSpeed.Median)},
		{fmt.Sprintf("errors (%d of %d)", s.Requests.Failed, s.Requests.Total), pct(s.ErrorRate)},
	}
	if s.Goodput != nil {
		v.KPIs = append(v.KPIs, [2]string{"goodput (met every SLO)", pct(s.Goodput.Share)})
	}
	if c := s.Cost; c != nil {
		if t := c.Token; t != nil {
			v.KPIs = append(v.KPIs, [2]string{"cost per request (" + c.PriceModel + "; hidden " + money(t.RetriedPerRequest+t.FailedPerRequest) + ")", money(t.CostPerRequest)},
				[2]string{"cost per 1M output tokens (" + c.PriceModel + ")", money(t.CostPer1MOutputTokens)})
		}
		if c.InstanceCostPer1MOutputTokens != nil {
			v.KPIs = append(v.KPIs, [2]string{"cost per 1M output tokens (instances)", money(*c.InstanceCostPer1MOutputTokens)})
		}
	}
	m := s.Metrics
	for _, x := range []struct {
		name, unit string
		d          stats.Dist
		scale      float64
	}{
		{"TTFT", "ms", m.TTFT, 1000}, {"E2E latency", "ms", m.E2E, 1000}, {"ITL", "ms", m.ITL, 1000}, {"TPOT", "ms", m.TPOT, 1000},
		{"output speed (1/TPOT)", "tokens/s", m.OutputSpeed, 1}, {"request output throughput (n_out/E2E)", "tokens/s", m.RequestOutputThroughput, 1},
		{"input tokens", "tokens", m.InputTokens, 1}, {"output tokens", "tokens", m.OutputTokens, 1},
		{"schedule lag", "ms", m.ScheduleLag, 1000},
	} {
		v.Metrics = append(v.Metrics, metricView{Name: x.name, Unit: x.unit, Cells: distCells(x.d, x.scale)})
	}
	if rs := s.Reasoning; rs != nil && rs.Requests > 0 {
		// Over the reasoning requests only (metrics.md, "Reasoning and tool calls").
		v.Metrics = append(v.Metrics,
			metricView{Name: "time to first reasoning token", Unit: "ms", Cells: distCells(rs.TTFTReasoning, 1000)},
			metricView{Name: "time to first answer token", Unit: "ms", Cells: distCells(rs.TTFTAnswer, 1000)},
			metricView{Name: "reasoning tokens", Unit: "tokens", Cells: distCells(rs.ReasoningTokens, 1)})
	}
	if tc := s.ToolCalls; tc != nil {
		v.Metrics = append(v.Metrics, metricView{Name: "time to first tool-call chunk", Unit: "ms", Cells: distCells(tc.TTFTToolCall, 1000)})
	}
	v.RunHead = []string{"requests", "succeeded", "failed", "warm-up excluded", "window (s)", "output tok/s", "input tok/s", "total tok/s", "req/s", "in flight mean", "in flight max"}
	v.RunCells = []string{strconv.Itoa(s.Requests.Total), strconv.Itoa(s.Requests.Succeeded), strconv.Itoa(s.Requests.Failed),
		strconv.Itoa(s.Requests.WarmupExcluded), trim(s.WindowS), trim(s.Throughput.OutputTokensPerS), trim(s.Throughput.InputTokensPerS),
		trim(s.Throughput.TotalTokensPerS), trim(s.Throughput.RequestsPerS), trim(s.Concurrency.Mean), strconv.Itoa(s.Concurrency.Max)}
	kinds := map[string]int{}
	for k, n := range s.ErrorsByKind {
		kinds[string(k)] = n
	}
	for _, k := range stats.SortedKeys(kinds) {
		if n := kinds[k]; n > 0 {
			v.ErrorKinds = append(v.ErrorKinds, [2]string{k, strconv.Itoa(n)})
		}
	}
	var con bytes.Buffer
	if err := report.Table(&con, s); err != nil {
		return err
	}
	v.Console = con.String()
	v.Dists, v.Boxes = figViews(figs, "distributions", ""), figViews(figs, "boxes", "")
	v.Time, v.Lag = figViews(figs, "time", ""), figViews(figs, "lag", "")
	if g := s.Goodput; g != nil {
		gv := &goodputView{Share: pct(g.Share), Rate: trim(g.RatePerS), Met: g.Met, Requests: g.Requests}
		for _, slo := range g.SLOs {
			n := g.ByObjective[slo]
			gv.Objectives = append(gv.Objectives, [3]string{slo, strconv.Itoa(n), pct(ratio(n, g.Requests))})
		}
		v.Goodput = gv
	}
	if len(s.ServerTiming) > 0 {
		sc := func(d stats.Dist) []string {
			return []string{strconv.Itoa(d.Count), trim(1000 * d.Mean), trim(1000 * d.P50), trim(1000 * d.P90), trim(1000 * d.P99), trim(1000 * d.Max)}
		}
		v.Server = append(v.Server, serverView{"E2E latency", "client", sc(m.E2E)}, serverView{"TTFT", "client", sc(m.TTFT)})
		for _, k := range stats.SortedKeys(s.ServerTiming) {
			v.Server = append(v.Server, serverView{k, "server", sc(s.ServerTiming[k])})
		}
		for _, k := range []string{"latency_s", "total_s"} {
			if st, ok := s.ServerTiming[k]; ok && st.Count == m.E2E.Count && st.Count > 0 {
				v.Overhead = fmt.Sprintf("Mean client-side overhead, E2E − server %s: %s ms (network, queueing in front of the server, the client). "+
					"Only means subtract: a difference of percentiles is not a percentile of the differences.", k, trim(1000*(m.E2E.Mean-st.Mean)))
				break
			}
		}
	}
	for _, k := range stats.SortedKeys(s.ByPromptSet) {
		ps := s.ByPromptSet[k]
		v.Sets = append(v.Sets, []string{k, strconv.Itoa(ps.Requests), strconv.Itoa(ps.Succeeded), pct(ps.ErrorRate),
			trim(1000 * ps.TTFT.P50), trim(1000 * ps.TTFT.P99), trim(1000 * ps.E2E.P50), trim(1000 * ps.E2E.P99), trim(1000 * ps.TPOT.P50),
			trim(ps.InputTokens.Mean), trim(ps.OutputTokens.Mean)})
	}
	for _, t := range s.ByTurn {
		v.Turns = append(v.Turns, []string{strconv.Itoa(t.Turn), strconv.Itoa(t.Requests), strconv.Itoa(t.Succeeded),
			trim(1000 * t.TTFT.P50), trim(1000 * t.TTFT.P90), trim(1000 * t.E2E.P50), trim(t.InputTokens.Mean), trim(t.CachedInputTokens.Mean)})
	}
	if ss := s.Sessions; ss != nil {
		v.Sessions = fmt.Sprintf("%d sessions, %d of them sent every turn successfully; turns per session: mean %s, max %s.",
			ss.Sessions, ss.Completed, trim(ss.Turns.Mean), trim(ss.Turns.Max))
	}
	v.Config = d.ConfigYAML
	switch plan, err := readPlan(d.Dir); {
	case err != nil:
		v.Warnings = append(v.Warnings, Warning{PlanFile, "The plan could not be read: " + err.Error()})
	case plan != nil:
		v.Plan = planSection(plan.Kind, plan)
		if len(plan.Levels) == 1 {
			v.Plan.Table.Rows[0][0] = "this run"
		}
		for _, w := range plan.Warnings {
			v.Warnings = append(v.Warnings, Warning{PlanFile, "Plan: " + w})
		}
	}
	return pages.ExecuteTemplate(w, "run.tmpl", v)
}

// runWarnings lists what a reader must see first: summary.json's warning
// fields, an interruption, retries, the client-side limiter holding
// requests back, token counts the server and llmload disagree on.
func runWarnings(d *runData) []Warning {
	s := d.Summary
	out := append([]Warning(nil), d.Warnings...)
	if s.Run.Interrupted {
		out = append(out, Warning{"run.interrupted", "The run was interrupted (Ctrl-C): it stopped before its plan ended."})
	}
	if d.Recomputed {
		out = append(out, Warning{"summary.json", "No summary.json: the run did not finish; this report was computed from records.jsonl."})
	}
	if l := s.Limiter; l != nil {
		out = append(out, Warning{"limiter", fmt.Sprintf("Client-limited: the --rpm/--tpm limiter held %d requests back, %s s in all (at most %s s): the offered load was lower than planned.",
			l.HeldAttempts, trim(l.TotalWaitS), trim(l.MaxWaitS))})
	}
	if r := s.Retries; r != nil && r.Attempts > 0 {
		out = append(out, Warning{"retries", fmt.Sprintf("%d attempts failed and were retried; latencies are per attempt.", r.Attempts)})
	}
	if tc := s.TokenCounts; tc.OutputMismatchRequests > 0 {
		out = append(out, Warning{"token_counts", fmt.Sprintf("The server's output token count differs from llmload's tokenizer on %d requests (mean server − local %s tokens).",
			tc.OutputMismatchRequests, trim(tc.MeanOutputDiff))})
	}
	if s.Requests.Total > 0 && s.Requests.Succeeded == 0 {
		out = append(out, Warning{"requests.succeeded", "No request succeeded."})
	}
	return out
}

// loadText says what load a run applied.
func loadText(r stats.RunInfo) string {
	switch {
	case r.Mode == "rate":
		t := "open loop, " + trim(r.Rate) + " req/s " + r.Arrival
		if r.MaxConcurrency > 0 {
			t += fmt.Sprintf(", at most %d in flight", r.MaxConcurrency)
		}
		return t
	case r.Mode == "concurrency" || r.Mode == "":
		return fmt.Sprintf("closed loop, concurrency %d", r.Concurrency)
	case r.BatchIntervalS > 0:
		return fmt.Sprintf("%s, batch size %d every %s s", r.Mode, r.BatchSize, trim(r.BatchIntervalS))
	}
	return fmt.Sprintf("%s, batch size %d", r.Mode, r.BatchSize)
}

func distCells(d stats.Dist, k float64) []string {
	if d.Count == 0 {
		return []string{"0", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}
	}
	return []string{strconv.Itoa(d.Count), trim(k * d.Mean), trim(k * d.Min), trim(k * d.P25), trim(k * d.P50), trim(k * d.P75),
		trim(k * d.P90), trim(k * d.P95), trim(k * d.P99), trim(k * d.Max), trim(k * d.Stddev)}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
