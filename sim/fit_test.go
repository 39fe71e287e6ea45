package sim

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fit: each family's engine parameters minimize the sum of squared
// log errors over the family's CALIBRATION.md rows (coordinate descent
// on multiplicative steps). It is slow (minutes), so it runs only with
// LLMLOAD_FIT=1; it prints the fitted parameters and the leave-one-out
// table of docs/simulator.md (fit on every row of the family but one,
// then predict that one).

// fitParam is one engine parameter the fit moves, as a multiplier.
type fitParam struct {
	name string
	get  func(*Profile) float64
	set  func(*Profile, float64)
}

func durParam(name string, f func(*Profile) *time.Duration) fitParam {
	return fitParam{name,
		func(p *Profile) float64 { return float64(*f(p)) },
		func(p *Profile, v float64) { *f(p) = time.Duration(v) }}
}

func floatParam(name string, f func(*Profile) *float64, hi float64) fitParam {
	return fitParam{name,
		func(p *Profile) float64 { return *f(p) },
		func(p *Profile, v float64) { *f(p) = min(v, hi) }}
}

var fitParams = []fitParam{
	floatParam("MemoryEfficiency", func(p *Profile) *float64 { return &p.MemoryEfficiency }, 0.95),
	floatParam("AttentionEfficiency", func(p *Profile) *float64 { return &p.AttentionEfficiency }, 0.95),
	floatParam("AttentionBlocks", func(p *Profile) *float64 { return &p.AttentionBlocks }, 1e6),
	floatParam("ComputeEfficiency", func(p *Profile) *float64 { return &p.ComputeEfficiency }, 0.95),
	durParam("StepOverhead", func(p *Profile) *time.Duration { return &p.StepOverhead }),
	durParam("SeqOverhead", func(p *Profile) *time.Duration { return &p.SeqOverhead }),
	durParam("AllReduceHop", func(p *Profile) *time.Duration { return &p.AllReduceHop }),
	floatParam("LinkBytesPerS", func(p *Profile) *float64 { return &p.LinkBytesPerS }, 1e15),
	durParam("FrontendOverhead", func(p *Profile) *time.Duration { return &p.FrontendOverhead }),
}

// applyVec sets the fitted parameters of vec (multipliers of base) on p.
func applyVec(p *Profile, base Profile, vec []float64) {
	for i, fp := range fitParams {
		b := base
		fp.set(p, fp.get(&b)*vec[i])
	}
}

// coldPrior is the engine a cold fit starts from (LLMLOAD_FIT_COLD=1):
// the A10G parameters from before this calibration, for every family.
func coldPrior(p *Profile) {
	if os.Getenv("LLMLOAD_FIT_COLD") == "" {
		return
	}
	p.MemoryEfficiency, p.AttentionEfficiency, p.AttentionBlocks, p.ComputeEfficiency = 0.8, 0.5, 120, 0.45
	p.StepOverhead, p.SeqOverhead, p.AllReduceHop, p.LinkBytesPerS = 4250*time.Microsecond, 200*time.Microsecond, 13*time.Microsecond, 20e9
}

func familyLoss(t *testing.T, rows []calRow, vec []float64) float64 {
	loss := 0.0
	for _, r := range rows {
		p := mustProfile(t, r.profile)
		coldPrior(&p)
		applyVec(&p, p, vec)
		got, err := r.predict(p)
		if err != nil || got <= 0 || math.IsNaN(got) {
			return math.Inf(1)
		}
		l := math.Log(got / r.want)
		loss += l * l
	}
	return loss
}

// familyFits names the parameters each family's fit may move: a family
// with few rows fits few parameters and keeps the others' priors.
var familyFits = map[string][]string{
	"a10g-pcie":     {"MemoryEfficiency", "AttentionEfficiency", "AttentionBlocks", "ComputeEfficiency", "StepOverhead", "SeqOverhead", "AllReduceHop", "LinkBytesPerS"},
	"a100-nvlink":   {"StepOverhead", "SeqOverhead"},
	"hopper-nvlink": {"MemoryEfficiency", "AttentionEfficiency", "AttentionBlocks", "ComputeEfficiency", "StepOverhead", "SeqOverhead", "FrontendOverhead"},
}

func fitFamily(t *testing.T, rows []calRow, steps []float64) ([]float64, float64) {
	vec := make([]float64, len(fitParams))
	for i := range vec {
		vec[i] = 1
	}
	best := familyLoss(t, rows, vec)
	for _, step := range steps {
		for round := 0; round < 3; round++ {
			improved := false
			for i := range vec {
				if !slices.Contains(familyFits[rows[0].family], fitParams[i].name) {
					continue
				}
				for _, f := range []float64{step, 1 / step} {
					v := append([]float64(nil), vec...)
					v[i] *= f
					if l := familyLoss(t, rows, v); l < best {
						best, vec, improved = l, v, true
					}
				}
			}
			if !improved {
				break
			}
		}
	}
	return vec, best
}

func TestFitFamilies(t *testing.T) {
	if os.Getenv("LLMLOAD_FIT") == "" {
		t.Skip("set LLMLOAD_FIT=1 to fit the engine families (minutes)")
	}
	only := os.Getenv("LLMLOAD_FIT_FAMILY")
	fams := map[string][]calRow{}
	var order []string
	for _, r := range calRows {
		if fams[r.family] == nil {
			order = append(order, r.family)
		}
		fams[r.family] = append(fams[r.family], r)
	}
	for _, fam := range order {
		if only != "" && fam != only {
			continue
		}
		rows := fams[fam]
		vec, loss := fitFamily(t, rows, []float64{1.5, 1.2, 1.07, 1.02})
		p := mustProfile(t, rows[0].profile)
		coldPrior(&p)
		applyVec(&p, p, vec)
		var b strings.Builder
		fmt.Fprintf(&b, "family %s: loss %.4f\n", fam, loss)
		for i, fp := range fitParams {
			fmt.Fprintf(&b, "  %s = %.4g (×%.3f)\n", fp.name, fp.get(&p), vec[i])
		}
		if os.Getenv("LLMLOAD_FIT_LOO") != "" {
			for k, r := range rows {
				rest := append(append([]calRow(nil), rows[:k]...), rows[k+1:]...)
				steps := []float64{1.2, 1.07, 1.02}
				if os.Getenv("LLMLOAD_FIT_COLD") != "" {
					steps = []float64{1.5, 1.2, 1.07, 1.02}
				}
				v, _ := fitFamily(t, rest, steps)
				q := mustProfile(t, r.profile)
				coldPrior(&q)
				applyVec(&q, q, v)
				got, _ := r.predict(q)
				fmt.Fprintf(&b, "  LOO %s: published %.4g, predicted %.4g (%+.1f%%)\n", r.id, r.want, got, 100*(got/r.want-1))
			}
		}
		t.Log(b.String())
	}
}
