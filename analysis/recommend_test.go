package analysis

import (
	"math"
	"strings"
	"testing"
)

// handRows builds a closed-loop sweep: at each level, output tokens/s and
// the E2E p50 and p95, s.
func handRows(pts ...[3]float64) []SweepRow {
	var rows []SweepRow
	for _, p := range pts {
		rows = append(rows, SweepRow{Level: p[0], Requests: 100, Succeeded: 100, OutputTokensPerS: p[1],
			E2EP50: p[2], E2EP95: 1.5 * p[2], TTFTP50: p[2] / 10, TTFTP95: p[2] / 5, TPOTP50: p[2] / 256})
	}
	return rows
}

func price(v float64) *float64 { return &v }

// TestRecommend: the arithmetic of the table on hand-built sweeps — the
// lowest level's latency, the highest throughput under the ceiling, the
// cost there, the winners, the TP-against-replicas split.
func TestRecommend(t *testing.T) {
	ds := []DeploymentSweep{
		{Deployment{Label: "1x", Source: "simulated", Accelerator: "a10g", DevicesPerInstance: 1, TP: 1, Replicas: 1, Instances: 1, PricePerHour: price(1.2)},
			handRows([3]float64{1, 30, 8}, [3]float64{8, 200, 9}, [3]float64{64, 480, 20})},
		{Deployment{Label: "8x:tp8", Source: "simulated", Accelerator: "a10g", DevicesPerInstance: 8, TP: 8, Replicas: 1, Instances: 1, PricePerHour: price(16)},
			handRows([3]float64{1, 55, 4.5}, [3]float64{8, 400, 5}, [3]float64{64, 800, 9})},
		{Deployment{Label: "8x:tp1", Source: "simulated", Accelerator: "a10g", DevicesPerInstance: 8, TP: 1, Replicas: 8, Instances: 1, PricePerHour: price(16)},
			handRows([3]float64{1, 30, 8}, [3]float64{8, 240, 8.1}, [3]float64{64, 1600, 12})},
	}
	ceiling, err := ParseThresholds([]string{"e2e_p95<=15s"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Recommend("m", ds, ceiling)
	if err != nil {
		t.Fatal(err)
	}
	// 1x: c64's p95 30 s breaks the ceiling, so its best is c8: 200 tok/s,
	// 1.2 × 1e6 / (200 × 3600) = $1.667 per 1M.
	one := rec.Deployments[0]
	if one.HighestThroughput.Level != 8 || one.HighestThroughput.OutputTokensPerS != 200 ||
		math.Abs(*one.HighestThroughput.CostPer1MOutputTokens-1.2e6/(200*3600)) > 1e-12 {
		t.Errorf("1x: %+v", one.HighestThroughput)
	}
	// 8x:tp8: c64 (p95 13.5 s) meets it: 800 tok/s at $16/h = $5.556.
	// 8x:tp1: c64's p95 18 s does not; c8, 240 tok/s: $18.52.
	tp8, tp1 := rec.Deployments[1], rec.Deployments[2]
	if tp8.HighestThroughput.Level != 64 || math.Abs(*tp8.HighestThroughput.CostPer1MOutputTokens-16e6/(800*3600)) > 1e-12 {
		t.Errorf("8x:tp8: %+v", tp8.HighestThroughput)
	}
	if tp1.HighestThroughput.Level != 8 || tp1.HighestThroughput.OutputTokensPerS != 240 {
		t.Errorf("8x:tp1: %+v", tp1.HighestThroughput)
	}
	if tp8.LowestLatency.Level != 1 || tp8.LowestLatency.E2EP50 != 4.5 {
		t.Errorf("8x:tp8 lowest latency: %+v", tp8.LowestLatency)
	}
	// Winners: latency 8x:tp8 (4.5 s), throughput 8x:tp8 (800), cost
	// 1x ($1.667 < $5.556).
	if rec.LowestLatency != "8x:tp8" || rec.HighestThroughput != "8x:tp8" || rec.LowestCost != "1x" {
		t.Errorf("winners: %q %q %q", rec.LowestLatency, rec.HighestThroughput, rec.LowestCost)
	}
	if got := strings.Join(tp8.Best, ","); got != BestLatency+","+BestThroughput {
		t.Errorf("8x:tp8 best: %s", got)
	}
	// The split of 8x: TP 8's 800 beats TP 1's 240 under the ceiling.
	if len(rec.Splits) != 1 || rec.Splits[0].BestThroughput != "8x:tp8" || rec.Splits[0].ThroughputRatio != 1 ||
		strings.Join(rec.Splits[0].Labels, ",") != "8x:tp1,8x:tp8" {
		t.Errorf("split: %+v", rec.Splits)
	}
	if !strings.Contains(rec.Sentence, "under e2e_p95<=15s") || !strings.Contains(rec.Sentence, "lowest cost on 1x") {
		t.Errorf("sentence: %s", rec.Sentence)
	}

	// Without the ceiling 8x:tp1 wins throughput and its split, and its
	// last level still rising is said.
	rec, _ = Recommend("m", ds, nil)
	if rec.HighestThroughput != "8x:tp1" || rec.Splits[0].BestThroughput != "8x:tp1" || math.Abs(rec.Splits[0].ThroughputRatio-2) > 1e-12 {
		t.Errorf("no ceiling: %s %+v", rec.HighestThroughput, rec.Splits)
	}
	if n := rec.Deployments[2].Notes; len(n) == 0 || !strings.Contains(n[0], "still rises") {
		t.Errorf("notes: %v", n)
	}
	// A ceiling on a metric a row does not hold is an error.
	bad, _ := ParseThresholds([]string{"e2e_mean<=1s"})
	if _, err := Recommend("m", ds, bad); err == nil {
		t.Error("e2e_mean accepted")
	}
}

// TestInstanceTable: the built-in table prices the common shapes; a bad
// table reports every problem.
func TestInstanceTable(t *testing.T) {
	tb := BuiltinInstances()
	for _, c := range []struct {
		acc     string
		devices int
		want    string
	}{{"a10g", 1, "g5.2xlarge"}, {"A10G", 8, "g5.48xlarge"}, {"a100-40gb", 8, "p4d.24xlarge"}, {"h100", 8, "p5.48xlarge"}, {"l4", 1, "g6.xlarge"}, {"inferentia2", 12, "inf2.48xlarge"}} {
		if it, ok := tb.Lookup(c.acc, c.devices); !ok || it.Instance != c.want {
			t.Errorf("%d×%s: %+v, want %s", c.devices, c.acc, it, c.want)
		}
	}
	if _, ok := tb.Lookup("a10g", 3); ok {
		t.Error("3×a10g priced")
	}
	if a, ok := tb.AcceleratorFor("a100"); !ok || a != "a100-40gb" {
		t.Errorf("a100: %q", a)
	}
	_, err := ParseInstances([]byte("instances:\n  - {instance: x, accelerator: a10g, devices: 0, per_hour: -1}\n  - {instance: x, accelerator: a10g, devices: 1, per_hour: 1}\n"))
	if err == nil || !strings.Contains(err.Error(), "devices 0") || !strings.Contains(err.Error(), "per_hour -1") || !strings.Contains(err.Error(), "twice") {
		t.Errorf("bad table: %v", err)
	}
}
