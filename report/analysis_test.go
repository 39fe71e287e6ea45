package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/health"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/stats"
)

func TestThresholds(t *testing.T) {
	recs, run := fixture()
	s := stats.Summarize(recs, run)
	ths, err := analysis.ParseThresholds([]string{
		"ttft_p95<500ms", // 485 ms: pass
		"ttft_p95<400ms", // fail
		"error_rate<1%",  // 33.3%: fail
		"requests_per_s>=1",
		"goodput_share>=0.9", // no SLO: fails with a note
	})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := analysis.EvaluateAll(ths, s)
	if ok {
		t.Error("all passed")
	}
	var buf bytes.Buffer
	if err := Thresholds(&buf, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "thresholds.golden", buf.Bytes())
	buf.Reset()
	if err := Thresholds(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("no results wrote %q", buf.String())
	}
}

// TestTableExtras: an open-loop run with goodput, server timings, two
// prompt sets and a schedule-lag warning.
func TestTableExtras(t *testing.T) {
	recs, run := fixture()
	run.Mode, run.Rate, run.Arrival, run.MaxConcurrency, run.Concurrency = "rate", 2, "poisson", 8, 0
	for i := range recs {
		recs[i].PromptSet = []string{"short", "long"}[i%2]
	}
	recs[1].ServerTimingS = map[string]float64{"latency_s": 0.5, "queue_s": 0.1}
	recs[2].ServerTimingS = map[string]float64{"latency_s": 0.75}
	recs[3].ServerTimingS = map[string]float64{"latency_s": 0.4}
	recs[6].ServerTimingS = map[string]float64{"latency_s": 0.25}
	s := stats.Summarize(recs, run)
	slos, err := analysis.ParseSLOs([]string{"ttft<=300ms", "e2e<=1s"})
	if err != nil {
		t.Fatal(err)
	}
	g := analysis.Goodput(recs, slos, s.WindowS)
	s.Goodput = &g
	if s.ScheduleLagWarning == "" {
		t.Fatal("no schedule-lag warning: the fixture's lag p99 is 195 ms")
	}
	var buf bytes.Buffer
	if err := Table(&buf, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "table_extras.golden", buf.Bytes())

	path := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteSummaryJSON(path, s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	golden(t, "summary_extras.json.golden", b)
}

func sweepFixture() *analysis.SweepSummary {
	mk := func(level float64, dir string, total, ok, timeouts int, tput float64, share *float64) analysis.SweepRow {
		s := &stats.Summary{
			Requests:     stats.Requests{Total: total, Succeeded: ok, Failed: total - ok},
			ErrorRate:    float64(total-ok) / float64(total),
			ErrorsByKind: map[llm.ErrorKind]int{llm.KindTimeout: timeouts},
			Throughput:   stats.Throughput{OutputTokensPerS: tput, RequestsPerS: tput / 100},
			Metrics: stats.Metrics{
				OutputSpeed: stats.Dist{Count: ok, P25: 30 - level/4, P50: 32 - level/4, P75: 34 - level/4},
				TTFT:        stats.Dist{Count: ok, P50: 0.1 * level, P90: 0.15 * level, P99: 0.2 * level},
				E2E:         stats.Dist{Count: ok, P50: 3 + level/8, P90: 4 + level/8, P99: 5 + level/8},
			},
			Concurrency: stats.Concurrency{Mean: level * 0.95, Max: int(level)},
		}
		if share != nil {
			s.Goodput = &stats.Goodput{Share: *share}
		}
		// The highest level starved the client.
		s.ClientHealth = &health.Assessment{ClientLimited: level >= 64}
		return analysis.SweepRowOf(level, dir, s)
	}
	one, half := 1.0, 0.5
	rows := []analysis.SweepRow{
		mk(1, "c001", 20, 20, 0, 30.5, &one),
		mk(8, "c008", 80, 80, 0, 230.25, &one),
		mk(64, "c064", 200, 185, 2, 486, &half),
	}
	_, rows[2].StoppedEarly = analysis.StopCheck(&stats.Summary{ErrorRate: 0.075,
		ErrorsByKind: map[llm.ErrorKind]int{llm.KindTimeout: 2}}, 0.05, true)
	// $1.212 per hour: cost per 1M output tokens = 1.212e6 / (tok/s × 3600).
	for i := range rows {
		if cost, ok := (analysis.InstancePrice{PerHour: 1.212}).CostPer1M(rows[i].OutputTokensPerS); ok {
			rows[i].CostPer1MOutputTokens = &cost
		}
	}
	ss := &analysis.SweepSummary{SchemaVersion: analysis.SweepSchemaVersion, Kind: analysis.SweepConcurrency,
		Rows: rows, StopReason: "level 64: " + rows[2].StoppedEarly}
	ss.SetKnees(func(string) analysis.KneeOptions {
		return analysis.KneeOptions{SLOs: []analysis.SLO{analysis.MustParseSLO("ttft<=1s")}}
	})
	return ss
}

func TestSweepOutputs(t *testing.T) {
	ss := sweepFixture()
	dir := t.TempDir()
	if err := WriteSweepJSON(filepath.Join(dir, "sweep.json"), ss); err != nil {
		t.Fatal(err)
	}
	if err := WriteSweepCSV(filepath.Join(dir, "sweep.csv"), ss); err != nil {
		t.Fatal(err)
	}
	j, _ := os.ReadFile(filepath.Join(dir, "sweep.json"))
	c, _ := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	golden(t, "sweep.json.golden", j)
	golden(t, "sweep.csv.golden", c)
	var back analysis.SweepSummary
	if err := json.Unmarshal(j, &back); err != nil || len(back.Rows) != 3 || *back.Rows[2].GoodputShare != 0.5 {
		t.Errorf("sweep.json round trip: %v %+v", err, back)
	}
	var buf bytes.Buffer
	if err := SweepTable(&buf, ss); err != nil {
		t.Fatal(err)
	}
	golden(t, "sweep_table.golden", buf.Bytes())

	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if WriteSweepJSON(filepath.Join(dir, "x.json"), nil) == nil || WriteSweepCSV(filepath.Join(dir, "x.csv"), nil) == nil ||
		SweepTable(&buf, nil) == nil {
		t.Error("nil sweep summary accepted")
	}
	// No SLO: an empty goodput cell.
	ss.Rows[0].GoodputShare = nil
	buf.Reset()
	if err := SweepCSV(&buf, ss); err != nil || !bytes.Contains(buf.Bytes(), []byte(",0,,,false\n")) {
		t.Errorf("csv without goodput:\n%s", buf.Bytes())
	}
}
