package sim

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/theory"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		spec         string
		model, acc   string
		devices, tp  int
		replicas     int
		errSubstring string
	}{
		{spec: "llama-2-13b@4xa10g", model: "llama-2-13b", acc: "a10g", devices: 4, tp: 4, replicas: 1},
		{spec: "llama-2-7b@8xa10g:tp2", model: "llama-2-7b", acc: "a10g", devices: 8, tp: 2, replicas: 4},
		{spec: "llama-2-7b@a10g", model: "llama-2-7b", acc: "a10g", devices: 1, tp: 1, replicas: 1},      // no N: one device
		{spec: "llama-2-7b@1xa10g:r3", model: "llama-2-7b", acc: "a10g", devices: 1, tp: 1, replicas: 3}, // three instances
		{spec: "llama-2-7b@8xa10g:tp4:r2", model: "llama-2-7b", acc: "a10g", devices: 8, tp: 4, replicas: 4},
		{spec: "llama-2-7b@8xa10g:tp3", errSubstring: "does not divide"},
		{spec: "llama-2-7b@0xa10g", errSubstring: "at least 1"},
		{spec: "llama-2-7b@4xa10g:zz", errSubstring: "unknown option"},
		{spec: "llama-2-7b@4xa10g:r0", errSubstring: "bad option"},
		{spec: "@4xa10g", errSubstring: "no MODEL@ACCEL"},
	}
	for _, c := range cases {
		sp, err := ParseSpec(c.spec)
		if c.errSubstring != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSubstring) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error %v, want one line with %q", c.spec, err, c.errSubstring)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.spec, err)
			continue
		}
		if sp.Model != c.model || sp.Accelerator != c.acc || sp.Devices != c.devices || sp.TP != c.tp || sp.Replicas != c.replicas {
			t.Errorf("%s: %+v", c.spec, sp)
		}
	}
}

// TestLookupUnknownNames: unknown names are one line naming close matches.
func TestLookupUnknownNames(t *testing.T) {
	for spec, want := range map[string]string{
		"lama-2-7b@4xa10g": "llama-2-7b",
		"llama-2-7b@4xa10": "a10g",
		"llama2-7b-a1g":    "llama2-7b-a10g",
	} {
		_, err := LookupProfile(spec)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming %s", spec, err, want)
		}
	}
}

// TestCatalogProfiles: every catalog model on every catalog accelerator
// at a TP that holds it builds a valid profile whose engine predicts a
// latency and a throughput, with its family's parameters.
func TestCatalogProfiles(t *testing.T) {
	cat := theory.Builtin()
	n := 0
	for _, m := range cat.Models {
		for _, a := range cat.Accelerators {
			for _, tp := range []int{1, 2, 4, 8} {
				spec := fmt.Sprintf("%s@%dx%s", m.ID, tp, a.ID)
				p, err := FromCatalog(cat, spec)
				if err != nil {
					if !strings.Contains(err.Error(), "no room for KV cache") && !strings.Contains(err.Error(), "does not divide") {
						t.Errorf("%s: %v", spec, err)
					}
					continue
				}
				if p.Engine != FamilyFor(a).Engine {
					t.Errorf("%s: engine parameters are not its family's", spec)
				}
				in, out := 128, 64
				if in+out > p.KVCapacityTokens() {
					continue
				}
				r, err := p.SimulateClosedLoop(4, in, out, 8)
				if err != nil {
					t.Errorf("%s: %v", spec, err)
					continue
				}
				if !(r.OutputTokensPerSecond > 0) || r.MeanTPOT <= 0 || r.MeanTTFT <= 0 {
					t.Errorf("%s: %+v", spec, r)
				}
				n++
				break // the smallest TP that holds it
			}
		}
	}
	if n < len(cat.Models) {
		t.Errorf("only %d model × accelerator pairs simulated", n)
	}
}

// Tensor parallelism shards the attention heads, so it must divide them:
// Llama 2 7B's 32 heads take TP 1, 2, 4 or 8 but not 9 (or 3, or 6).
func TestTensorParallelDividesHeads(t *testing.T) {
	cat := theory.Builtin()
	for spec, want := range map[string]string{ // the suggestion, "" for a valid spec
		"llama-2-7b@9xa10g":     "use :tp1",
		"llama-2-7b@6xa10g":     "use :tp1 or :tp2",
		"llama-2-7b@8xa10g:tp8": "",
		"llama-2-7b@8xa10g:tp2": "",
	} {
		_, err := FromCatalog(cat, spec)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", spec, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), "does not divide") || !strings.HasSuffix(err.Error(), want)):
			t.Errorf("%s: error %v, want one saying TP must divide the heads", spec, err)
		}
	}
}

// TestMoEExpertsRead: a mixture of experts reads its active parameters at
// batch 1 and more experts as the batch grows, E × (1 − (1 − k/E)^b) per
// layer, approaching all of them.
func TestMoEExpertsRead(t *testing.T) {
	p := mustProfile(t, "mixtral-8x7b@4xa100-80gb")
	m := p.Model
	if m.Experts != 8 || m.ExpertsPerToken != 2 {
		t.Fatalf("mixtral: %d experts, %d per token", m.Experts, m.ExpertsPerToken)
	}
	if got := m.ParamsRead(1); math.Abs(got-m.ActiveParams) > 1e3 {
		t.Errorf("batch 1 reads %g params, want the active %g", got, m.ActiveParams)
	}
	// Batch 2: expected distinct experts 8 × (1 − (6/8)²) = 3.5 of 8.
	expert := (m.Params - m.ActiveParams) / (1 - 2.0/8)
	want := m.Params - expert + expert*3.5/8
	if got := m.ParamsRead(2); math.Abs(got-want) > 1e3 {
		t.Errorf("batch 2 reads %g params, want %g", got, want)
	}
	if got := m.ParamsRead(64); got > m.Params || got < 0.999*m.Params {
		t.Errorf("batch 64 reads %g params, want ≈ all %g", got, m.Params)
	}
	// So a decode step at batch 1 is faster than a dense model of the
	// same total size, and the step grows with the batch faster than the
	// dense one's does.
	dense := p
	dense.Model.ActiveParams, dense.Model.Experts, dense.Model.ExpertsPerToken = 0, 0, 0
	if p.DecodeStepTime(1, 100) >= dense.DecodeStepTime(1, 100) {
		t.Errorf("MoE batch-1 step %v not faster than dense %v", p.DecodeStepTime(1, 100), dense.DecodeStepTime(1, 100))
	}
	if p.DecodeStepTime(8, 800) <= p.DecodeStepTime(1, 100) {
		t.Error("MoE step does not grow with the batch")
	}
}

// TestPublishedShape: at high concurrency Llama 2 7B on 8×A10G (TP 8) is
// below 4×A10G (TP 4), as published, while at concurrency 1 both are
// far faster than one A10G.
func TestPublishedShape(t *testing.T) {
	tput := func(name string, c int) float64 {
		r, err := mustProfile(t, name).simulate(c, Workload{InputTokens: 256, OutputTokens: 256, MaxConcurrentRequests: 128})
		if err != nil {
			t.Fatal(err)
		}
		return r.OutputTokensPerSecond
	}
	t4, t8 := tput("llama2-7b-4xa10g", 128), tput("llama2-7b-8xa10g", 128)
	if t8 >= t4 {
		t.Errorf("at 128: 8×A10G %.0f tokens/s, not below 4×A10G %.0f", t8, t4)
	}
	// The same 8 GPUs as two TP-4 replicas beat one TP-8 engine.
	if t2x4 := tput("llama-2-7b@8xa10g:tp4", 128); t2x4 <= t8 {
		t.Errorf("8×A10G as 2 × TP 4: %.0f tokens/s, not above TP 8's %.0f", t2x4, t8)
	}
}

// TestReplicasVirtual: R replicas at R × c clients give R times one
// replica at c (requests are balanced, engines independent).
func TestReplicasVirtual(t *testing.T) {
	one := mustProfile(t, "llama-2-7b@1xa10g")
	three := mustProfile(t, "llama-2-7b@1xa10g:r3")
	w := Workload{InputTokens: 256, OutputTokens: 128, Requests: 60}
	r1, err := one.simulate(8, w)
	if err != nil {
		t.Fatal(err)
	}
	w.Requests = 180
	r3, err := three.simulate(24, w)
	if err != nil {
		t.Fatal(err)
	}
	if !within(r3.OutputTokensPerSecond, 3*r1.OutputTokensPerSecond, 0.01) || r3.MeanTPOT != r1.MeanTPOT || r3.MaxBatch != 8 {
		t.Errorf("3 replicas at 24: %.1f tokens/s, TPOT %v, batch %d; one at 8: %.1f, %v", r3.OutputTokensPerSecond, r3.MeanTPOT, r3.MaxBatch, r1.OutputTokensPerSecond, r1.MeanTPOT)
	}
}

func TestSimulateSweep(t *testing.T) {
	p := mustProfile(t, "llama2-7b-4xa10g")
	w := Workload{InputTokens: 256, OutputTokens: 256, MaxConcurrentRequests: 128}
	levels := []int{1, 4, 16, 64, 128}
	rs, err := SimulateSweep(p, levels, w)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SimulateSweep(p, levels, w)
	for i, r := range rs {
		if r != again[i] {
			t.Errorf("level %d: not deterministic", levels[i])
		}
		if r.Concurrency != levels[i] || r.Requests != max(10*levels[i], 200) {
			t.Errorf("level %d: concurrency %d, %d requests", levels[i], r.Concurrency, r.Requests)
		}
		if !(r.TTFT.P50 <= r.TTFT.P90 && r.TTFT.P90 <= r.TTFT.P99 && r.TTFT.P99 <= r.TTFT.Max) || r.TPOT.P50 <= 0 || r.E2E.P50 < r.TTFT.P50 {
			t.Errorf("level %d: percentiles %+v %+v %+v", levels[i], r.TTFT, r.TPOT, r.E2E)
		}
		if i > 0 && r.OutputTokensPerSecond <= rs[i-1].OutputTokensPerSecond {
			t.Errorf("throughput fell from %.0f to %.0f at %d", rs[i-1].OutputTokensPerSecond, r.OutputTokensPerSecond, levels[i])
		}
	}
	// Beyond MaxConcurrentRequests clients wait: 256 clients behave as 128.
	r256, err := p.simulate(256, Workload{InputTokens: 256, OutputTokens: 256, Requests: 1280, MaxConcurrentRequests: 128})
	if err != nil {
		t.Fatal(err)
	}
	if r256.Waited == 0 || r256.MaxBatch > 128 {
		t.Errorf("256 clients over a 128 bound: waited %d, batch %d", r256.Waited, r256.MaxBatch)
	}
	if _, err := SimulateSweep(p, nil, w); err == nil {
		t.Error("no levels accepted")
	}
}

func TestProfileFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	os.WriteFile(path, []byte("spec: llama-2-13b@4xa10g\nreplicas: 2\nseq_overhead_ms: 0.1\nwaiting_served_ratio: 0\n"), 0o644)
	p, err := ResolveProfile("", path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Replicas != 2 || p.SeqOverhead != 100*time.Microsecond || p.WaitingServedRatio != 0 || p.Accelerator.Count != 4 || p.Model.Name != "llama-2-13b" {
		t.Errorf("profile file: %+v", p)
	}
	os.WriteFile(path, []byte("spec: llama-2-13b@4xa10g\nbogus: 1\n"), 0o644)
	if _, err := LoadProfileFile(path); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := ResolveProfile("llama2-7b-4xa10g", path); err == nil {
		t.Error("a profile name and a file accepted together")
	}
}

// TestServerReplicas: the HTTP server spreads requests over its
// replicas by least outstanding, so two concurrent requests on a
// two-replica profile each run alone.
func TestServerReplicas(t *testing.T) {
	srv, err := New(Options{Profile: mustProfile(t, "llama-2-7b@2xa10g:tp1"), TimeScale: 0.05, TraceCapacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions",
			strings.NewReader(`{"model":"llama-2-7b","prompt":"hi","max_tokens":2000,"ignore_eos":true,"stream":true}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		bufio.NewReader(resp.Body).ReadString('\n') // streaming: admitted
	}
	srv.mu.Lock()
	per := []int{srv.engines[0].outstanding(), srv.engines[1].outstanding()}
	srv.mu.Unlock()
	if per[0] != 1 || per[1] != 1 {
		t.Errorf("outstanding per replica %v, want [1 1]", per)
	}
	if st := srv.Stats(); st.Running != 2 || st.KVCapacityTokens != 2*srv.Profile().KVCapacityTokens() {
		t.Errorf("stats %+v", st)
	}
}

// TestKVHeadCopies: with more devices than KV heads each device holds a
// copy of a head, so Falcon 7B (one KV head) at TP 4 caches 4 copies.
func TestKVHeadCopies(t *testing.T) {
	p1, p4 := mustProfile(t, "falcon-7b@1xa10g"), mustProfile(t, "falcon-7b@4xa10g")
	if got, want := p4.KVBytesPerToken(), 4*p1.KVBytesPerToken(); got != want {
		t.Errorf("falcon-7b TP 4: %g KV bytes per token, want %g", got, want)
	}
}

// BenchmarkSimulateLevel: one closed-loop level of 128 clients, 1,280
// requests of 256 + 256 tokens, on the virtual clock (what --predict and
// planning pay per level).
func BenchmarkSimulateLevel(b *testing.B) {
	p := mustProfile(b, "llama2-7b-4xa10g")
	w := Workload{InputTokens: 256, OutputTokens: 256, MaxConcurrentRequests: 128}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.simulate(128, w); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzLookupProfile: any name is a profile or one line of error, never a
// panic.
func FuzzLookupProfile(f *testing.F) {
	for _, s := range []string{"llama-2-7b@8xa10g:tp2", "x@y", "@", "llama-2-7b@100000xa10g", "llama-2-7b@1xa10g:r99999", "mixtral-8x7b@8xh100:tp4:r2", "llama2-7b-a10g", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := LookupProfile(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: error of more than one line: %v", s, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%q: looked up but invalid: %v", s, err)
		}
	})
}
