package analysis

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// mmRows is a closed-loop sweep of a Michaelis–Menten server: output
// throughput X(N) = 1000·N/(N+k) tok/s, 256 output tokens per request, so
// by Little's law E2E = N·256/X = 0.256·(N+k) s; TTFT p95 = 0.05 + 0.01·N s.
func mmRows(k float64, levels ...float64) []SweepRow {
	var rows []SweepRow
	for _, n := range levels {
		x := 1000 * n / (n + k)
		rows = append(rows, SweepRow{Level: n, Dir: "c" + lvl(n), Requests: 100, Succeeded: 100,
			OutputTokensPerS: x, E2EP50: 0.256 * (n + k), TTFTP50: 0.04 + 0.005*n, TTFTP95: 0.05 + 0.01*n})
	}
	return rows
}

func method(t *testing.T, k Knee, name string) KneeMethod {
	t.Helper()
	i := slices.IndexFunc(k.Methods, func(m KneeMethod) bool { return m.Method == name })
	if i < 0 {
		t.Fatalf("no method %s in %+v", name, k)
	}
	return k.Methods[i]
}

func TestKneeSaturatingExponential(t *testing.T) {
	// y = 500·(1 − e^(−x/8)) at every level 1 … 64. Kneedle's continuous
	// knee, where the slope equals Δy/Δx, is x* = k·ln(Δx/(k·Δy/500)) ≈ 17.5.
	const k = 8.0
	var rows []SweepRow
	for x := 1.0; x <= 64; x++ {
		rows = append(rows, SweepRow{Level: x, Succeeded: 10, OutputTokensPerS: 500 * (1 - math.Exp(-x/k)), E2EP50: 1 + x/10, TTFTP50: 0.1})
	}
	dy := math.Exp(-1/k) - math.Exp(-64/k)
	want := k * math.Log(63/(k*dy))
	m := method(t, FindKnee(rows, KneeOptions{Integer: true}), KneeCurvature)
	if !m.Found || math.Abs(m.Level-want) > 1 || m.Coarse != "" {
		t.Errorf("curvature: got level %v (coarse %q), want within 1 of %.2f", m.Level, m.Coarse, want)
	}
}

func TestKneeMichaelisMenten(t *testing.T) {
	rows := mmRows(16, 1, 2, 4, 8, 16, 32, 64, 128, 256)
	slo := MustParseSLO("ttft<=500ms")
	kn := FindKnee(rows, KneeOptions{SLOs: []SLO{slo}, Integer: true})

	// Marginal: segment a→b gains ∝ k/((a+k)(b+k)) per second of E2E, the
	// first 16/(17·18); 16→32 is 306/(32·48) = 0.199 of it, under 0.25,
	// while 8→16 is 306/768 = 0.398: the knee is at 16 = k.
	m := method(t, kn, KneeMarginalE2E)
	if !m.Found || m.Level != 16 || m.Dir != "c16" || math.Abs(m.OutputTokensPerS-500) > 1e-9 {
		t.Errorf("marginal_e2e: %+v", m)
	}
	// 8, 16 and 32 are 2× apart: too coarse; the midpoints 12 and 24.
	if m.Coarse == "" || !slices.Equal(m.SuggestLevels, []float64{12, 24}) {
		t.Errorf("marginal_e2e coarse %q, suggest %v", m.Coarse, m.SuggestLevels)
	}

	// Kneedle on a doubling sweep: d = y_n − x_n is 0.441 at 16, 0.568 at
	// 32, 0.593 at 64, 0.443 at 128: the knee is 64.
	c := method(t, kn, KneeCurvature)
	if !c.Found || c.Level != 64 || !slices.Equal(c.SuggestLevels, []float64{48, 96}) {
		t.Errorf("curvature: %+v", c)
	}

	// Target: TTFT p95 = 0.05 + 0.01·N ≤ 0.5 up to N = 45: 32 meets, 64
	// fails; midpoint 48.
	g := method(t, kn, KneeTarget)
	if !g.Found || g.Level != 32 || !slices.Equal(g.SuggestLevels, []float64{48}) || !strings.Contains(g.Detail, "level 64 fails (ttft p95 690.0ms)") {
		t.Errorf("target: %+v", g)
	}
	if !slices.Equal(kn.SuggestLevels, []float64{12, 24, 48, 96}) || kn.Levels != 9 {
		t.Errorf("knee suggestions %v, levels %d", kn.SuggestLevels, kn.Levels)
	}

	// Fine levels around it: not coarse.
	fine := FindKnee(mmRows(16, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 40), KneeOptions{SLOs: []SLO{slo}, Integer: true})
	if g := method(t, fine, KneeTarget); g.Level != 40 || g.Coarse == "" {
		t.Errorf("every level meets: knee at the last, flagged: %+v", g)
	}
	if g := method(t, fine, KneeTarget); !slices.Equal(g.SuggestLevels, []float64{60, 80}) {
		t.Errorf("beyond the last level: suggest 1.5× and 2×, got %v", g.SuggestLevels)
	}
}

func TestKneeLinearHasNone(t *testing.T) {
	// Throughput in proportion to the level, latency flat: no knee.
	var rows []SweepRow
	for _, x := range []float64{1, 2, 4, 8, 16, 32, 64, 128, 256} {
		rows = append(rows, SweepRow{Level: x, Succeeded: 10, OutputTokensPerS: 30 * x, E2EP50: 8, TTFTP50: 0.2})
	}
	kn := FindKnee(rows, KneeOptions{Integer: true})
	c := method(t, kn, KneeCurvature)
	if c.Found || !strings.Contains(c.Detail, "no knee") || !slices.Equal(c.SuggestLevels, []float64{384, 512}) {
		t.Errorf("curvature on a line: %+v", c)
	}
	m := method(t, kn, KneeMarginalE2E)
	if m.Level != 256 || m.Coarse == "" || !strings.Contains(m.Detail, "never rose") {
		t.Errorf("marginal on a line: %+v", m)
	}
	if g := method(t, kn, KneeTarget); g.Found || !strings.HasPrefix(g.Detail, "skipped: no --slo") {
		t.Errorf("target without an SLO: %+v", g)
	}
	// Latency rising in proportion too: every segment is as good as the
	// first; the knee is beyond the last level.
	for i := range rows {
		rows[i].E2EP50 = rows[i].Level
	}
	if m := method(t, FindKnee(rows, KneeOptions{}), KneeMarginalE2E); m.Level != 256 || m.Coarse == "" {
		t.Errorf("marginal, proportional latency: %+v", m)
	}
}

func TestKneeDegenerate(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		rows []SweepRow
	}{
		{"none", nil},
		{"one level", mmRows(16, 8)},
		{"two levels", mmRows(16, 8, 16)},
		{"all equal levels", []SweepRow{{Level: 4, Succeeded: 1, OutputTokensPerS: 10, E2EP50: 1}, {Level: 4, Succeeded: 1, OutputTokensPerS: 20, E2EP50: 2}, {Level: 4, Succeeded: 1, OutputTokensPerS: 30, E2EP50: 3}}},
		{"flat throughput", []SweepRow{{Level: 1, Succeeded: 1, OutputTokensPerS: 10, E2EP50: 1}, {Level: 2, Succeeded: 1, OutputTokensPerS: 10, E2EP50: 2}, {Level: 3, Succeeded: 1, OutputTokensPerS: 10, E2EP50: 3}}},
		{"zeros", []SweepRow{{Level: 1, Succeeded: 1}, {Level: 2, Succeeded: 1}, {Level: 4, Succeeded: 1}}},
		{"no successes", []SweepRow{{Level: 1, Requests: 5}, {Level: 2, Requests: 5}}},
		{"NaN, Inf, negative", []SweepRow{{Level: nan, Succeeded: 1, OutputTokensPerS: 5}, {Level: 1, Succeeded: 1, OutputTokensPerS: math.Inf(1)},
			{Level: -2, Succeeded: 1, OutputTokensPerS: 3}, {Level: 2, Succeeded: 1, OutputTokensPerS: 8, E2EP50: nan, TTFTP95: nan}}},
		{"errors everywhere", func() []SweepRow {
			r := mmRows(16, 1, 2, 4)
			for i := range r {
				r[i].ErrorRate = 0.5
			}
			return r
		}()},
		{"throughput falls", []SweepRow{{Level: 1, Succeeded: 1, OutputTokensPerS: 100, E2EP50: 1, TTFTP50: 1}, {Level: 2, Succeeded: 1, OutputTokensPerS: 90, E2EP50: 2, TTFTP50: 1}, {Level: 4, Succeeded: 1, OutputTokensPerS: 50, E2EP50: 4, TTFTP50: 1}}},
	}
	slos := []SLO{MustParseSLO("e2e<=10s"), MustParseSLO("tpot<=50ms"), MustParseSLO("output_speed>=10")}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kn := FindKnee(c.rows, KneeOptions{SLOs: slos})
			b, err := json.Marshal(kn) // fails on NaN or ±Inf
			if err != nil {
				t.Fatalf("%v: %+v", err, kn)
			}
			if len(kn.Methods) != 4 {
				t.Errorf("methods: %s", b)
			}
			for _, m := range kn.Methods {
				if m.Detail == "" {
					t.Errorf("%s: no detail", m.Method)
				}
			}
			ss := SweepSummary{Kind: SweepRate, Rows: c.rows}
			ss.SetKnees(nil)
			if _, err := json.Marshal(ss.Knee); err != nil {
				t.Error(err)
			}
		})
	}
	// Falling throughput: the marginal knee is at the first level.
	kn := FindKnee(cases[len(cases)-1].rows, KneeOptions{})
	if m := method(t, kn, KneeMarginalE2E); m.Level != 1 || !strings.Contains(m.Detail, "did not rise") {
		t.Errorf("falling throughput: %+v", m)
	}
	// Only unsupported SLOs: skipped, naming them.
	kn = FindKnee(mmRows(16, 1, 2, 4), KneeOptions{SLOs: []SLO{MustParseSLO("itl<=100ms")}})
	if g := method(t, kn, KneeTarget); g.Found || !strings.Contains(g.Detail, "itl<=100ms") {
		t.Errorf("itl SLO: %+v", g)
	}
	// No level meets: suggest half the lowest.
	kn = FindKnee(mmRows(16, 4, 8, 16), KneeOptions{SLOs: []SLO{MustParseSLO("ttft<=10ms")}, Integer: true})
	if g := method(t, kn, KneeTarget); g.Found || !slices.Equal(g.SuggestLevels, []float64{2}) {
		t.Errorf("no level meets: %+v", g)
	}
}

func TestSetKnees(t *testing.T) {
	a, b := mmRows(16, 1, 2, 4, 8), mmRows(4, 1, 2, 4, 8)
	for i := range a {
		a[i].Group, b[i].Group = "endpoint=a", "endpoint=b"
	}
	// A throughput probe is left out.
	probe := SweepRow{Level: 99, Succeeded: 10, OutputTokensPerS: 1e6, Probe: "throughput", Group: "endpoint=a"}
	ss := SweepSummary{Kind: SweepConcurrency, Rows: append(append(a, probe), b...)}
	ss.SetKnees(func(string) KneeOptions { return KneeOptions{} })
	if ss.Knee != nil || len(ss.Knees) != 2 || ss.Knees[0].Group != "endpoint=a" || ss.Knees[0].Levels != 4 {
		t.Fatalf("groups: %+v", ss.Knees)
	}
	ss = SweepSummary{Kind: SweepConcurrency, Rows: a}
	ss.SetKnees(nil)
	if ss.Knee == nil || ss.Knees != nil {
		t.Errorf("one series: %+v", ss)
	}
	ss.Rows = a[:1]
	ss.SetKnees(nil)
	if ss.Knee != nil {
		t.Error("one row has no knee")
	}
}
