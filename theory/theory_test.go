package theory

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func input(t *testing.T, model, acc string, count, context int, dtype string) Input {
	t.Helper()
	c := Builtin()
	m, err := c.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Accelerator(acc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.DType(dtype)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Model: m, Accelerator: a, Count: count, Context: context, DType: dtype, BytesPerValue: b}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestCalibrationWorkedExample reproduces CALIBRATION.md's worked example:
// Llama 2 7B in fp16 (≈14 GB of weights; 32 layers, 32 KV heads, d_head
// 128) on one A10G (24 GB): ≈10 GB left, a batch of 4 at 4096 tokens.
func TestCalibrationWorkedExample(t *testing.T) {
	e, err := input(t, "llama-2-7b", "a10g", 1, 4096, "fp16").Estimate()
	if err != nil {
		t.Fatal(err)
	}
	// 6.74e9 params × 2 B = 13.48 GB.
	if !near(e.WeightBytes, 13.48e9, 1) {
		t.Errorf("weights %g, want 13.48e9", e.WeightBytes)
	}
	// 2 × 32 × 32 × 128 × 2 B = 524288 B per token; × 4096 = 2.147 GB.
	if e.KVBytesPerToken != 524288 || e.KVBytesPerSequence != 524288*4096 {
		t.Errorf("KV per token %g, per sequence %g", e.KVBytesPerToken, e.KVBytesPerSequence)
	}
	// 24 − 13.48 = 10.52 GB; 10.52 / 2.147 = 4.9 → 4.
	if !near(e.FreeForKVBytes, 10.52e9, 1) || e.MaxBatch != 4 {
		t.Errorf("free %g, max batch %d; want 10.52e9, 4", e.FreeForKVBytes, e.MaxBatch)
	}
	// 70 TFLOPS / 600 GB/s = 116.7 ops/byte; the critical batch 116.
	if math.Floor(e.OpsPerByte) != 116 || e.CriticalBatch != 116 {
		t.Errorf("ops/byte %g, critical batch %d; want 116", e.OpsPerByte, e.CriticalBatch)
	}
	// Batch 1: (13.48 + 2.147) GB / 600 GB/s = 26.0 ms, memory-bound (the
	// measured 33 ms adds the framework's overheads).
	if s := e.DecodeBatch1; !near(s.S, (13.48e9+2147483648)/600e9, 1e-12) || !s.MemoryBound {
		t.Errorf("decode at batch 1: %+v", s)
	}
	// Batch 4: (13.48 + 4 × 2.147) GB / 600 GB/s = 36.8 ms; 108.8 tok/s.
	if s := e.DecodeMaxBatch; s.Batch != 4 || !near(s.S, (13.48e9+4*2147483648)/600e9, 1e-12) || !near(s.TokensPerS, 4/s.S, 1e-9) {
		t.Errorf("decode at batch 4: %+v", s)
	}
	// Prefill: 2 × 6.74e9 × 4096 / 70e12 = 0.7888 s.
	if !near(e.PrefillS, 2*6.74e9*4096/70e12, 1e-12) || !near(e.PrefillS, 0.7888, 1e-4) {
		t.Errorf("prefill %g s", e.PrefillS)
	}
	// One A10G holds the weights and a sequence; the critical batch needs
	// (13.48 + 116 × 2.147) / 24 = 10.94 → 11.
	if e.MinCountWeights != 1 || e.MinCountCritical != 11 {
		t.Errorf("fewest devices %d, %d; want 1, 11", e.MinCountWeights, e.MinCountCritical)
	}
	var buf bytes.Buffer
	if err := e.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"weight memory            13.48 GB", "largest batch that fits  4 sequences", "116.7 ops/byte", "critical batch           116", "decode at batch 1        26.05 ms/token", "KV cache per token       524288 bytes"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestOpsPerByte: CALIBRATION.md's A10G ≈116 and A100 ≈208 ops/byte.
func TestOpsPerByte(t *testing.T) {
	c := Builtin()
	for _, tc := range []struct {
		id   string
		want float64 // rounded down
	}{
		{"a10g", 116},      // 70e12 / 600e9 = 116.7
		{"a100-40gb", 208}, // 312e12 / 1.5e12 = 208
		{"h100", 295},      // 989e12 / 3.35e12 = 295.2
	} {
		a, err := c.Accelerator(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got := math.Floor(a.OpsPerByte()); got != tc.want {
			t.Errorf("%s: %g ops/byte, want %g", tc.id, a.OpsPerByte(), tc.want)
		}
	}
}

// TestGQAAndSharding: grouped-query attention shrinks the KV cache by
// n_heads / n_kv_heads; tensor parallelism pools memory; KV heads are
// replicated when devices outnumber them.
func TestGQAAndSharding(t *testing.T) {
	// Llama 3.3 70B: 2 × 80 × 8 × 128 × 2 = 327680 B per token, 8× less
	// than 64 KV heads would need.
	in := input(t, "llama-3.3-70b", "a100-40gb", 8, 8192, "bf16")
	e, err := in.Estimate()
	if err != nil {
		t.Fatal(err)
	}
	if e.KVBytesPerToken != 327680 || e.KVReplicas != 1 {
		t.Errorf("70B KV per token %g (replicas %d), want 327680", e.KVBytesPerToken, e.KVReplicas)
	}
	// 8 × 40 GB − 141.2 GB = 178.8 GB; / (327680 × 8192) = 66.6 → 66.
	if e.MaxBatch != 66 {
		t.Errorf("70B on 8×A100 40GB: max batch %d, want 66", e.MaxBatch)
	}
	// 141.2 GB of weights + one 2.68 GB sequence need 4 × 40 GB.
	if e.MinCountWeights != 4 {
		t.Errorf("fewest devices %d, want 4", e.MinCountWeights)
	}
	// Falcon 7B is multi-query (1 KV head): on 4 devices each holds it.
	f, err := input(t, "falcon-7b", "a10g", 4, 2048, "fp16").Estimate()
	if err != nil {
		t.Fatal(err)
	}
	if f.KVReplicas != 4 || f.KVBytesPerToken != 4*2*32*1*64*2 {
		t.Errorf("falcon-7b on 4: replicas %d, KV per token %g", f.KVReplicas, f.KVBytesPerToken)
	}
	// int4 halves int8: 6.74e9 × 0.5 B.
	q, _ := input(t, "llama-2-7b", "l4", 1, 4096, "int4").Estimate()
	if q.WeightBytes != 3.37e9 || q.CriticalBatch != int(math.Floor(121e12/300e9*0.5/2)) {
		t.Errorf("int4: weights %g, critical %d", q.WeightBytes, q.CriticalBatch)
	}
	// Mixtral: weights for all 46.7B, FLOPs and batch-1 reads for 12.9B.
	x, _ := input(t, "mixtral-8x7b", "h100", 2, 4096, "fp16").Estimate()
	if x.WeightBytes != 93.4e9 || x.DecodeBatch1.FLOPs != 2*12.9e9 || !near(x.PrefillS, 2*12.9e9*4096/(2*989e12), 1e-12) {
		t.Errorf("mixtral: %+v", x)
	}
}

func TestDoesNotFit(t *testing.T) {
	// Llama 2 70B in fp16 (138 GB) on one A10G: no batch, no decode at the
	// largest batch, and 6 devices for the weights and a sequence.
	e, err := input(t, "llama-2-70b", "a10g", 1, 4096, "fp16").Estimate()
	if err != nil {
		t.Fatal(err)
	}
	if e.MaxBatch != 0 || e.DecodeMaxBatch.Batch != 0 || e.FreeForKVBytes >= 0 || e.MinCountWeights != 6 {
		t.Errorf("70B on one A10G: %+v", e)
	}
	var buf bytes.Buffer
	if err := e.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "the weights do not fit") {
		t.Errorf("%v\n%s", err, buf.String())
	}
	bad := input(t, "llama-2-7b", "a10g", 0, 4096, "fp16")
	if _, err := bad.Estimate(); err == nil {
		t.Error("count 0 accepted")
	}
	bad.Count, bad.ReserveGB = 1, 30
	if _, err := bad.Estimate(); err == nil {
		t.Error("a reserve above the memory accepted")
	}
}

func TestCatalog(t *testing.T) {
	c := Builtin()
	for _, id := range []string{"llama-2-7b", "Llama-2-13B", "llama_2_70b", "llama-3-8b", "llama-3.1-70b", "mistral-7b", "mixtral-8x7b",
		"falcon-7b", "falcon-40b", "falcon-180b", "qwen3-30b-a3b"} {
		if _, err := c.Model(id); err != nil {
			t.Error(err)
		}
	}
	for _, id := range []string{"a10g", "l4", "l40s", "a100-40gb", "a100-80gb", "h100", "h200", "inferentia2", "trainium"} {
		if _, err := c.Accelerator(id); err != nil {
			t.Error(err)
		}
	}
	for d, want := range map[string]float64{"fp16": 2, "bf16": 2, "int8": 1, "fp8": 1, "int4": 0.5} {
		if b, err := c.DType(d); err != nil || b != want {
			t.Errorf("%s: %g %v", d, b, err)
		}
	}
	if _, err := c.Model("gpt-9"); err == nil || !strings.Contains(err.Error(), "llama-2-7b") {
		t.Errorf("unknown model: %v", err)
	}
	// A user's catalog: unknown keys and bad values are errors, all named.
	_, err := ParseCatalog([]byte("dtypes: {fp16: 0}\nmodels:\n  - {id: x, params: -1, n_layers: 1, n_heads: 1, n_kv_heads: 2, d_head: 1}\naccelerators:\n  - {id: y, memory_gb: 0}\n"))
	if err == nil || strings.Count(err.Error(), "\n") < 3 {
		t.Errorf("bad catalog: %v", err)
	}
	if _, err := ParseCatalog([]byte("modles: []\n")); err == nil {
		t.Error("unknown key accepted")
	}
	if _, err := ParseCatalog(CatalogYAML()); err != nil {
		t.Error(err)
	}
}

// TestCatalogExperts: a mixture of experts names both its experts and how
// many each token uses, k ≤ E; the built-in mixtures do.
func TestCatalogExperts(t *testing.T) {
	for _, bad := range []string{"experts: 8", "experts_per_token: 2", "experts: 2, experts_per_token: 8"} {
		y := "models:\n  - {id: x, params: 2, active_params: 1, " + bad + ", n_layers: 1, n_heads: 1, n_kv_heads: 1, d_head: 1}\n"
		if _, err := ParseCatalog([]byte(y)); err == nil || !strings.Contains(err.Error(), "experts") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	m, err := Builtin().Model("mixtral-8x7b")
	if err != nil || m.Experts != 8 || m.ExpertsPerToken != 2 {
		t.Errorf("mixtral-8x7b: %+v %v", m, err)
	}
}

// TestMoEParamsRead: the roofline reads a mixture's expected distinct
// experts, the simulator's formula: active parameters at batch 1,
// shared + X × (1 − (1 − k/E)^b) at batch b, all parameters at a large
// batch; a dense model reads all its parameters at any batch.
func TestMoEParamsRead(t *testing.T) {
	m, err := Builtin().Model("mixtral-8x7b")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ParamsRead(1); math.Abs(got-m.ActiveParams) > 1e-3*m.ActiveParams {
		t.Errorf("batch 1 reads %g, want the active %g", got, m.ActiveParams)
	}
	// Batch 2: 8 × (1 − (6/8)²) = 3.5 of 8 experts per layer.
	expert := (m.Params - m.ActiveParams) / (1 - 2.0/8)
	want := m.Params - expert + expert*3.5/8
	if got := m.ParamsRead(2); math.Abs(got-want) > 1 {
		t.Errorf("batch 2 reads %g, want %g", got, want)
	}
	if got := m.ParamsRead(256); math.Abs(got-m.Params) > 1e-6*m.Params {
		t.Errorf("batch 256 reads %g, want all %g", got, m.Params)
	}
	// The estimate's decode step at batch 2 reads exactly that (no KV at
	// a 1-token context to speak of: subtract it).
	in := input(t, "mixtral-8x7b", "h100", 2, 4096, "fp16")
	e, _ := in.Estimate()
	kv := 2 * e.KVBytesPerSequence
	if got := in.step(2).Bytes - kv; math.Abs(got-want*2) > 1e3 {
		t.Errorf("estimate reads %g bytes of weights at batch 2, want %g (min(P, 2 × active) would be %g)", got, want*2, math.Min(m.Params, 2*m.ActiveParams)*2)
	}
	d, _ := Builtin().Model("llama-2-7b")
	if d.ParamsRead(64) != d.Params {
		t.Errorf("dense model reads %g, want %g", d.ParamsRead(64), d.Params)
	}
}
