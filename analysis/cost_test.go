package analysis

import (
	"math"
	"testing"
)

func close(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

func TestCostPer1M(t *testing.T) {
	for _, c := range []struct {
		name string
		p    InstancePrice
		tps  float64
		want float64
		ok   bool
	}{
		// CALIBRATION.md's formula: price/h × 1e6 / (tokens/s × 3600).
		// $1.212/h (g5.2xlarge) at 486 tok/s: 1.212e6/1749600 = $0.6927.
		{"one instance", InstancePrice{PerHour: 1.212}, 486, 1.212e6 / (486 * 3600), true},
		// $36/h at 1000 tok/s: 36e6/3.6e6 = $10 per 1M.
		{"round numbers", InstancePrice{PerHour: 36, Instances: 1}, 1000, 10, true},
		// Two instances cost twice as much for the same tokens.
		{"two instances", InstancePrice{PerHour: 36, Instances: 2}, 1000, 20, true},
		{"free", InstancePrice{PerHour: 0}, 1000, 0, true},
		// Nothing produced: no cost per token.
		{"zero throughput", InstancePrice{PerHour: 36}, 0, 0, false},
		{"NaN throughput", InstancePrice{PerHour: 36}, math.NaN(), 0, false},
		{"negative price", InstancePrice{PerHour: -1}, 1000, 0, false},
	} {
		got, ok := c.p.CostPer1M(c.tps)
		if ok != c.ok || !close(got, c.want) {
			t.Errorf("%s: %g, %v; want %g, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	if got, _ := (InstancePrice{PerHour: 1.212}).CostPer1M(486); math.Round(got*1e4) != 6927 {
		t.Errorf("g5.2xlarge at 486 tok/s: %g, want 0.6927", got)
	}
}

func TestTokenPrice(t *testing.T) {
	sonnet := TokenPrice{InputPer1M: 3, OutputPer1M: 15} // Claude 3.5 Sonnet
	// 256 in + 256 out: (256 × 3 + 256 × 15)/1e6 = $0.004608.
	if got := sonnet.Cost(256, 256); !close(got, 0.004608) {
		t.Errorf("cost %g", got)
	}
	// One input token per output token: 3 + 15 = $18 per 1M output.
	if got := sonnet.PerMillionOutput(1); got != 18 {
		t.Errorf("per 1M output %g", got)
	}
	// 550 in, 150 out: 3 × 11/3 + 15 = $26.
	if got := sonnet.PerMillionOutput(550.0 / 150); !close(got, 26) {
		t.Errorf("per 1M output %g", got)
	}
}

func TestBreakEven(t *testing.T) {
	sonnet := TokenPrice{InputPer1M: 3, OutputPer1M: 15}
	// $1.212/h against $18 per 1M output tokens: 1.212e6/(3600 × 18) =
	// 18.70 tok/s; on a 486 tok/s instance that is 3.85% busy.
	b, err := FindBreakEven(InstancePrice{PerHour: 1.212}, sonnet, 1, 486)
	if err != nil {
		t.Fatal(err)
	}
	if !close(b.OutputTokensPerS, 1.212e6/(3600*18)) || math.Round(b.OutputTokensPerS*100) != 1870 ||
		!close(b.Utilization, b.OutputTokensPerS/486) || !close(b.InstanceCostPerHour, 1.212) ||
		!close(b.TokenCostPerHour, 486*3600/1e6*18) {
		t.Errorf("break-even: %+v", b)
	}
	// Haiku ($0.25/$1.25) against eight A100s at $32.77/h: 32.77e6/(3600 ×
	// 1.5) = 6068.5 tok/s, above a 2945 tok/s capacity: never pays off.
	b, err = FindBreakEven(InstancePrice{PerHour: 32.77}, TokenPrice{InputPer1M: 0.25, OutputPer1M: 1.25}, 1, 2945)
	if err != nil || math.Round(b.OutputTokensPerS) != 6069 || b.Utilization <= 1 {
		t.Errorf("haiku: %+v %v", b, err)
	}
	// Capacity unknown: no utilization.
	if b, _ := FindBreakEven(InstancePrice{PerHour: 36}, TokenPrice{OutputPer1M: 10}, 0, 0); b.Utilization != 0 || b.OutputTokensPerS != 1000 {
		t.Errorf("no capacity: %+v", b)
	}
	for name, f := range map[string]func() error{
		"free tokens":    func() error { _, err := FindBreakEven(InstancePrice{PerHour: 1}, TokenPrice{}, 1, 0); return err },
		"negative price": func() error { _, err := FindBreakEven(InstancePrice{PerHour: -1}, sonnet, 1, 0); return err },
		"NaN ratio":      func() error { _, err := FindBreakEven(InstancePrice{PerHour: 1}, sonnet, math.NaN(), 0); return err },
	} {
		if f() == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
