package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Model describes a decoder-only transformer as far as serving cost goes.
type Model struct {
	// Name is the model id served by default, e.g. "meta-llama/Llama-2-7b-hf".
	Name string
	// Params is the number of parameters.
	Params float64
	// Layers, Heads, KVHeads and HeadDim shape the KV cache. KVHeads <
	// Heads is grouped-query attention.
	Layers, Heads, KVHeads, HeadDim int
	// BytesPerValue is the size of one weight and one cached K/V value
	// (2 for fp16/bf16).
	BytesPerValue float64
	// MaxContext is the longest sequence (prompt + output) the model accepts.
	MaxContext int
}

// Accelerator describes the devices a model is sharded across with tensor
// parallelism. Memory, bandwidth and FLOPS are per device.
type Accelerator struct {
	Name string
	// Count is the number of devices (the tensor-parallel degree).
	Count int
	// MemoryBytes is device memory (DRAM/HBM) per device.
	MemoryBytes float64
	// BandwidthBytesPerS is peak memory bandwidth per device.
	BandwidthBytesPerS float64
	// FLOPS is peak dense fp16 throughput per device.
	FLOPS float64
}

// Profile is a model served on an accelerator, plus the efficiency and
// overhead terms that turn roofline theory into observed latencies.
//
// The efficiencies and overheads are fitted, not derived: they absorb what
// the roofline leaves out (kernel launch gaps, attention kernels that do not
// reach peak bandwidth, the serving framework's Python/CPU time per step,
// PCIe or NVLink all-reduces between tensor-parallel shards). Each profile's
// values were chosen so the engine reproduces the measurements in
// CALIBRATION.md; docs/simulator.md lists what each reaches.
type Profile struct {
	Name, Description string
	Model             Model
	Accelerator       Accelerator
	// ReservedBytesPerDevice is device memory that holds neither weights
	// nor KV cache: CUDA context, activations, allocator slack.
	ReservedBytesPerDevice float64
	// MemoryEfficiency is the fraction of peak bandwidth a step achieves.
	MemoryEfficiency float64
	// AttentionEfficiency is the fraction of peak bandwidth achieved while
	// reading the KV cache. Paged-attention kernels gather small blocks and
	// reach far less than the weight GEMVs do; this is what makes long
	// contexts and big batches slower per token than weights alone predict
	// (CALIBRATION.md: 30 tokens/s at 512 total tokens but 20 at 4096).
	AttentionEfficiency float64
	// ComputeEfficiency is the fraction of peak FLOPS a step achieves (MFU).
	ComputeEfficiency float64
	// StepOverhead is fixed time added to every prefill and decode step:
	// kernel launches and the scheduler's own work.
	StepOverhead time.Duration
	// AllReduceOverhead is added per step for every device beyond the
	// first: the tensor-parallel all-reduces after attention and MLP in
	// every layer. It is an empirically fitted constant per profile; it is
	// why too much tensor parallelism hurts a small model.
	AllReduceOverhead time.Duration
	// MaxPrefillTokens bounds the prompt tokens admitted into one prefill
	// step (TGI's max_batch_prefill_tokens). A single longer prompt is
	// still admitted, alone. 0 means unlimited.
	MaxPrefillTokens int
}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "llama2-7b-a10g"

var (
	llama2_7b = Model{
		Name:          "meta-llama/Llama-2-7b-chat-hf",
		Params:        6.74e9,
		Layers:        32,
		Heads:         32,
		KVHeads:       32,
		HeadDim:       128,
		BytesPerValue: 2,
		MaxContext:    4096,
	}
	llama3_70b = Model{
		Name:          "meta-llama/Llama-3.3-70B-Instruct",
		Params:        70.6e9,
		Layers:        80,
		Heads:         64,
		KVHeads:       8,
		HeadDim:       128,
		BytesPerValue: 2,
		MaxContext:    8192,
	}
)

func a10g(n int) Accelerator {
	// CALIBRATION.md: A10G 24 GB, 600 GB/s, 70 TFLOPS fp16.
	return Accelerator{Name: "NVIDIA A10G", Count: n, MemoryBytes: 24e9, BandwidthBytesPerS: 600e9, FLOPS: 70e12}
}

func a100(n int) Accelerator {
	return Accelerator{Name: "NVIDIA A100 40GB", Count: n, MemoryBytes: 40e9, BandwidthBytesPerS: 1555e9, FLOPS: 312e12}
}

// profiles returns the built-in profiles. It builds a fresh map on every
// call so that no package state can be mutated by callers.
func profiles() map[string]Profile {
	// A10G efficiencies fitted to TGI on ml.g5 (CALIBRATION.md): 33 ms per
	// token at concurrency 1 and ≈486 tokens/s at concurrency 64 on one
	// device, 17 ms on four, 18 ms on eight.
	a10gBase := Profile{
		ReservedBytesPerDevice: 1e9,
		MemoryEfficiency:       0.80,
		AttentionEfficiency:    0.50,
		ComputeEfficiency:      0.45,
		StepOverhead:           4250 * time.Microsecond,
		AllReduceOverhead:      1700 * time.Microsecond,
		MaxPrefillTokens:       4096,
	}
	// A100 (p4d): the fast HBM makes the 7B step almost all overhead; the
	// measured 20 ms per token at TP 8 is mostly framework and all-reduce.
	a100Base := Profile{
		ReservedBytesPerDevice: 2e9,
		MemoryEfficiency:       0.80,
		AttentionEfficiency:    0.50,
		ComputeEfficiency:      0.45,
		StepOverhead:           6 * time.Millisecond,
		AllReduceOverhead:      1800 * time.Microsecond,
		MaxPrefillTokens:       8192,
	}
	mk := func(base Profile, name, desc string, m Model, acc Accelerator) Profile {
		p := base
		p.Name, p.Description, p.Model, p.Accelerator = name, desc, m, acc
		return p
	}
	ps := []Profile{
		mk(a10gBase, "llama2-7b-a10g", "Llama 2 7B fp16 on 1×A10G (ml.g5.2xlarge, TGI)", llama2_7b, a10g(1)),
		mk(a10gBase, "llama2-7b-4xa10g", "Llama 2 7B fp16 on 4×A10G, TP 4 (ml.g5.12xlarge, TGI)", llama2_7b, a10g(4)),
		mk(a10gBase, "llama2-7b-8xa10g", "Llama 2 7B fp16 on 8×A10G, TP 8 (ml.g5.48xlarge, TGI)", llama2_7b, a10g(8)),
		mk(a100Base, "llama2-7b-8xa100", "Llama 2 7B fp16 on 8×A100 40GB, TP 8 (ml.p4d.24xlarge, TGI)", llama2_7b, a100(8)),
		mk(a100Base, "llama3-70b-8xa100", "Llama 3.3 70B fp16 on 8×A100 40GB, TP 8 (uncalibrated estimate)", llama3_70b, a100(8)),
	}
	m := make(map[string]Profile, len(ps))
	for _, p := range ps {
		m[p.Name] = p
	}
	return m
}

// ProfileNames returns the names of the built-in profiles, sorted.
func ProfileNames() []string {
	ps := profiles()
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupProfile returns the built-in profile called name ("" means
// DefaultProfile). An unknown name is an error that lists the known ones.
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	p, ok := profiles()[name]
	if !ok {
		return Profile{}, fmt.Errorf("sim: unknown profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return p, nil
}

// Validate reports whether p can be simulated: positive sizes and
// efficiencies, and weights that fit in device memory.
func (p Profile) Validate() error {
	m, a := p.Model, p.Accelerator
	switch {
	case m.Params <= 0 || m.Layers <= 0 || m.KVHeads <= 0 || m.HeadDim <= 0 || m.BytesPerValue <= 0:
		return fmt.Errorf("sim: profile %q: model sizes must be positive", p.Name)
	case m.MaxContext <= 0:
		return fmt.Errorf("sim: profile %q: model max context must be positive", p.Name)
	case a.Count <= 0 || a.MemoryBytes <= 0 || a.BandwidthBytesPerS <= 0 || a.FLOPS <= 0:
		return fmt.Errorf("sim: profile %q: accelerator count, memory, bandwidth and FLOPS must be positive", p.Name)
	case !validEff(p.MemoryEfficiency) || !validEff(p.AttentionEfficiency) || !validEff(p.ComputeEfficiency):
		return fmt.Errorf("sim: profile %q: efficiencies must be in (0, 1]", p.Name)
	case p.KVCapacityTokens() < 1:
		return fmt.Errorf("sim: profile %q: weights (%.1f GB) leave no room for KV cache in %d × %.1f GB",
			p.Name, p.WeightBytes()/1e9, a.Count, a.MemoryBytes/1e9)
	}
	return nil
}

func validEff(e float64) bool { return e > 0 && e <= 1 }

// WeightBytes is the size of the model's weights, all devices together.
func (p Profile) WeightBytes() float64 { return p.Model.Params * p.Model.BytesPerValue }

// KVBytesPerToken is the KV cache one token of context occupies, all
// devices together: 2 (K and V) × layers × kv_heads × head_dim × bytes.
// Llama 2 7B in fp16: 2×32×32×128×2 = 512 KiB.
func (p Profile) KVBytesPerToken() float64 {
	m := p.Model
	return 2 * float64(m.Layers) * float64(m.KVHeads) * float64(m.HeadDim) * m.BytesPerValue
}

// kvBytesAvailable is the memory left for KV cache: N × memory − weights −
// N × reserved.
func (p Profile) kvBytesAvailable() float64 {
	n := float64(p.Accelerator.Count)
	return n*p.Accelerator.MemoryBytes - p.WeightBytes() - n*p.ReservedBytesPerDevice
}

// KVCapacityTokens is the number of context tokens the KV cache holds,
// summed over every sequence in the batch.
func (p Profile) KVCapacityTokens() int {
	kv := p.KVBytesPerToken()
	if kv <= 0 {
		return 0
	}
	return max(0, int(math.Floor(p.kvBytesAvailable()/kv)))
}

// MaxBatch is the number of sequences of contextTokens tokens each whose
// KV cache fits at once: floor((N×mem − weights − reserved) / (KV bytes per
// token × contextTokens)). Llama 2 7B on one A10G at 4096 tokens: 4.
func (p Profile) MaxBatch(contextTokens int) int {
	if contextTokens <= 0 {
		return 0
	}
	return max(0, int(math.Floor(p.kvBytesAvailable()/(p.KVBytesPerToken()*float64(contextTokens)))))
}

// overhead is the fixed time of one step: StepOverhead plus
// AllReduceOverhead for every device beyond the first.
func (p Profile) overhead() time.Duration {
	return p.StepOverhead + time.Duration(p.Accelerator.Count-1)*p.AllReduceOverhead
}

func (p Profile) computeSeconds(tokens float64) float64 {
	a := p.Accelerator
	return 2 * p.Model.Params * tokens / (float64(a.Count) * a.FLOPS * p.ComputeEfficiency)
}

// memorySeconds is the time to read weightBytes of weights and kvBytes of
// KV cache, each at its own efficiency.
func (p Profile) memorySeconds(weightBytes, kvBytes float64) float64 {
	a := p.Accelerator
	bw := float64(a.Count) * a.BandwidthBytesPerS
	return weightBytes/(bw*p.MemoryEfficiency) + kvBytes/(bw*p.AttentionEfficiency)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// DecodeStepTime is the simulated (unscaled) time of one decode step that
// produces one token for each of batch sequences holding
// contextTokensTotal tokens of context between them:
//
//	max(2 × params × batch / (N × FLOPS × eff_c),
//	    weights / (N × BW × eff_m) + KV bytes per token × contextTokensTotal / (N × BW × eff_a))
//	+ overhead
//
// Small batches are memory-bound (every step reads all weights); the
// compute term takes over near batch ≈ FLOPS/BW (≈116 on an A10G).
func (p Profile) DecodeStepTime(batch, contextTokensTotal int) time.Duration {
	if batch <= 0 {
		return 0
	}
	c := p.computeSeconds(float64(batch))
	m := p.memorySeconds(p.WeightBytes(), p.KVBytesPerToken()*float64(contextTokensTotal))
	return seconds(max(c, m)) + p.overhead()
}

// PrefillTime is the simulated (unscaled) time of one prefill step over
// tokens prompt tokens (of one or several sequences):
//
//	max(2 × params × tokens / (N × FLOPS × eff_c), weights / (N × BW × eff_m)) + overhead
//
// Prefill is compute-bound except for very short prompts.
func (p Profile) PrefillTime(tokens int) time.Duration {
	if tokens <= 0 {
		return 0
	}
	c := p.computeSeconds(float64(tokens))
	m := p.memorySeconds(p.WeightBytes(), 0)
	return seconds(max(c, m)) + p.overhead()
}
