package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/llmload/llmload/theory"
)

// Model describes a decoder-only transformer as far as serving cost goes.
type Model struct {
	// Name is the model id served by default, e.g. "meta-llama/Llama-2-7b-hf".
	Name string
	// Params is the number of parameters (every expert of a mixture of
	// experts).
	Params float64
	// ActiveParams is the parameters one token goes through (a mixture of
	// experts); 0 means Params.
	ActiveParams float64
	// Experts and ExpertsPerToken describe a mixture of experts: E experts
	// per layer, each token routed to k of them. 0 means a dense model.
	Experts, ExpertsPerToken int
	// Layers, Heads, KVHeads and HeadDim shape the KV cache and the
	// activations. KVHeads < Heads is grouped-query attention.
	Layers, Heads, KVHeads, HeadDim int
	// BytesPerValue is the size of one weight and one cached K/V value
	// (2 for fp16/bf16).
	BytesPerValue float64
	// MaxContext is the longest sequence (prompt + output) the model accepts.
	MaxContext int
}

// active is the parameters one token goes through.
func (m Model) active() float64 {
	if m.ActiveParams > 0 {
		return m.ActiveParams
	}
	return m.Params
}

// hidden is the model width: heads × head dim.
func (m Model) hidden() float64 { return float64(m.Heads) * float64(m.HeadDim) }

// moe reports whether m is a mixture of experts the engine can model.
func (m Model) moe() bool {
	return m.Experts > 0 && m.ExpertsPerToken > 0 && m.ExpertsPerToken < m.Experts && m.ActiveParams > 0 && m.ActiveParams < m.Params
}

// ParamsRead is the parameters a step over tokens tokens reads from
// memory: theory.ParamsRead, the expected distinct experts of a mixture
// of experts (all parameters of a dense model), which the roofline of
// `llmload theory` uses too.
func (m Model) ParamsRead(tokens int) float64 {
	return theory.ParamsRead(m.Params, m.ActiveParams, m.Experts, m.ExpertsPerToken, tokens)
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
	// Interconnect names the device-to-device link ("PCIe 4.0 x16",
	// "NVLink 3"), as the theory catalog does.
	Interconnect string
}

// Engine holds the parameters that turn roofline theory into observed
// step times. They are fitted, not derived, but shared per accelerator
// family and interconnect (EngineFor), never per profile: a model nobody
// calibrated on that family gets the same parameters as the ones that
// were. docs/simulator.md lists the values, the fit and what they reach.
type Engine struct {
	// ReservedBytesPerDevice is device memory that holds neither weights
	// nor KV cache: CUDA context, activations, allocator slack.
	ReservedBytesPerDevice float64
	// MemoryEfficiency is the fraction of peak bandwidth weight reads
	// achieve.
	MemoryEfficiency float64
	// AttentionEfficiency is the fraction of peak bandwidth achieved while
	// reading the KV cache with enough parallelism. Paged-attention kernels
	// gather small blocks and reach less than the weight GEMVs do.
	AttentionEfficiency float64
	// AttentionBlocks is how many (sequence, head) pairs a decode step's
	// attention kernel needs per device to reach AttentionEfficiency: it
	// runs one thread block per pair, so a small batch leaves most of the
	// device idle and reads its KV cache more slowly (the efficiency is
	// scaled by min(1, batch × heads per device / AttentionBlocks)). This
	// is why one long sequence is slower per token than weights predict
	// (CALIBRATION.md: 30 tokens/s at 512 total tokens but 20 at 4096)
	// while big batches are not. 0 means no such limit.
	AttentionBlocks float64
	// ComputeEfficiency is the fraction of peak FLOPS a step achieves (MFU).
	ComputeEfficiency float64
	// StepOverhead is fixed time added to every prefill and decode step:
	// kernel launches and the scheduler's own work.
	StepOverhead time.Duration
	// SeqOverhead is added to every step for every sequence in it: the
	// serving framework's per-request work each step (sampling, stopping
	// criteria, incremental detokenization), which runs on the CPU and
	// grows with the batch.
	SeqOverhead time.Duration
	// AllReduceHop is the latency of one hop of a ring all-reduce. Tensor
	// parallelism does two all-reduces per layer per step, each of
	// 2 × (N − 1) hops.
	AllReduceHop time.Duration
	// LinkBytesPerS is the interconnect's effective all-reduce bandwidth.
	// Each all-reduce moves tokens × hidden × bytes per value.
	LinkBytesPerS float64
	// SharedLink says the devices share LinkBytesPerS (PCIe without
	// peer-to-peer: the ring is staged through host memory, so all
	// 2 × (N − 1) transfers of an all-reduce queue on one path) rather
	// than each having its own (NVLink through a switch: 2 × (N − 1) / N
	// of the message per device, in parallel).
	SharedLink bool
}

// Serving holds the serving framework's batching limits (TGI's launcher
// options).
type Serving struct {
	// MaxPrefillTokens bounds the prompt tokens admitted into one prefill
	// step (TGI's max_batch_prefill_tokens). A single longer prompt is
	// still admitted, alone. 0 means unlimited.
	MaxPrefillTokens int
	// WaitingServedRatio is TGI's waiting_served_ratio: while a batch of
	// B sequences runs, waiting requests join it only when at least
	// ⌊B × ratio⌋ of them can be admitted in one prefill, or after
	// MaxWaitingTokens decode steps without admitting any. 0 admits
	// whenever something fits.
	WaitingServedRatio float64
	// MaxWaitingTokens is TGI's max_waiting_tokens (default 20).
	MaxWaitingTokens int
	// FrontendOverhead is time a request spends in front of the engine
	// (a managed service's gateway, authentication, routing), added once
	// to its time to first token.
	FrontendOverhead time.Duration
}

// Profile is a model served on an accelerator, with the family's engine
// parameters and the serving framework's limits, on Replicas independent
// engines.
type Profile struct {
	Name, Description string
	Model             Model
	Accelerator       Accelerator
	// Replicas is the number of independent engines, each on
	// Accelerator.Count devices; requests go to the one with the fewest
	// outstanding. 0 means 1.
	Replicas int
	Engine
	Serving
}

// MaxReplicas and MaxDevices bound a profile: each replica is an engine
// (a goroutine when served), and tensor parallelism beyond 64 devices is
// not something a serving framework does.
const (
	MaxReplicas = 1024
	MaxDevices  = 64
)

// replicas is Replicas, at least 1.
func (p Profile) replicas() int { return max(1, p.Replicas) }

// Validate reports whether p can be simulated: positive sizes and
// efficiencies, and weights that fit in device memory.
func (p Profile) Validate() error {
	m, a := p.Model, p.Accelerator
	switch {
	case m.Params <= 0 || m.Layers <= 0 || m.KVHeads <= 0 || m.HeadDim <= 0 || m.BytesPerValue <= 0:
		return fmt.Errorf("sim: profile %q: model sizes must be positive", p.Name)
	case m.ActiveParams < 0 || m.ActiveParams > m.Params:
		return fmt.Errorf("sim: profile %q: active params must be between 0 and params", p.Name)
	case m.MaxContext <= 0:
		return fmt.Errorf("sim: profile %q: model max context must be positive", p.Name)
	case a.Count <= 0 || a.MemoryBytes <= 0 || a.BandwidthBytesPerS <= 0 || a.FLOPS <= 0:
		return fmt.Errorf("sim: profile %q: accelerator count, memory, bandwidth and FLOPS must be positive", p.Name)
	case p.Replicas < 0 || p.Replicas > MaxReplicas:
		return fmt.Errorf("sim: profile %q: replicas %d: want 1 to %d", p.Name, p.Replicas, MaxReplicas)
	case a.Count > MaxDevices:
		return fmt.Errorf("sim: profile %q: %d devices: want at most %d per replica", p.Name, a.Count, MaxDevices)
	case !validEff(p.MemoryEfficiency) || !validEff(p.AttentionEfficiency) || !validEff(p.ComputeEfficiency):
		return fmt.Errorf("sim: profile %q: efficiencies must be in (0, 1]", p.Name)
	case a.Count > 1 && !(p.LinkBytesPerS > 0):
		return fmt.Errorf("sim: profile %q: tensor parallelism needs a positive interconnect bandwidth", p.Name)
	case p.StepOverhead < 0 || p.SeqOverhead < 0 || p.AllReduceHop < 0 || p.FrontendOverhead < 0 ||
		p.WaitingServedRatio < 0 || p.MaxWaitingTokens < 0 || p.MaxPrefillTokens < 0:
		return fmt.Errorf("sim: profile %q: overheads and batching limits must not be negative", p.Name)
	case p.KVCapacityTokens() < 1:
		return fmt.Errorf("sim: profile %q: weights (%.1f GB) leave no room for KV cache in %d × %.1f GB",
			p.Name, p.WeightBytes()/1e9, a.Count, a.MemoryBytes/1e9)
	}
	return nil
}

func validEff(e float64) bool { return e > 0 && e <= 1 }

// WeightBytes is the size of the model's weights, all devices of one
// replica together.
func (p Profile) WeightBytes() float64 { return p.Model.Params * p.Model.BytesPerValue }

// KVBytesPerToken is the KV cache one token of context occupies, all
// devices together: 2 (K and V) × layers × kv_heads × head_dim × bytes,
// times ⌈N / kv_heads⌉ when there are more devices than KV heads (each
// device holds at least one head, so heads are copied), as the theory
// package counts it. Llama 2 7B in fp16: 2×32×32×128×2 = 512 KiB.
func (p Profile) KVBytesPerToken() float64 {
	m := p.Model
	copies := 1
	if m.KVHeads > 0 {
		copies = max(1, (p.Accelerator.Count+m.KVHeads-1)/m.KVHeads)
	}
	return 2 * float64(m.Layers) * float64(m.KVHeads) * float64(m.HeadDim) * m.BytesPerValue * float64(copies)
}

// kvBytesAvailable is the memory left for KV cache: N × memory − weights −
// N × reserved.
func (p Profile) kvBytesAvailable() float64 {
	n := float64(p.Accelerator.Count)
	return n*p.Accelerator.MemoryBytes - p.WeightBytes() - n*p.ReservedBytesPerDevice
}

// KVCapacityTokens is the number of context tokens one replica's KV cache
// holds, summed over every sequence in its batch.
func (p Profile) KVCapacityTokens() int {
	kv := p.KVBytesPerToken()
	if kv <= 0 {
		return 0
	}
	return max(0, int(math.Floor(p.kvBytesAvailable()/kv)))
}

// MaxBatch is the number of sequences of contextTokens tokens each whose
// KV cache fits at once in one replica: floor((N×mem − weights −
// reserved) / (KV bytes per token × contextTokens)). Llama 2 7B on one
// A10G at 4096 tokens: 4.
func (p Profile) MaxBatch(contextTokens int) int {
	if contextTokens <= 0 {
		return 0
	}
	return max(0, int(math.Floor(p.kvBytesAvailable()/(p.KVBytesPerToken()*float64(contextTokens)))))
}

// allReduceSeconds is the tensor-parallel communication of one step over
// tokens tokens: 2 all-reduces per layer, each of 2(N−1) hops of latency,
// moving tokens × hidden × bytes per value — 2(N−1)/N of it per device in
// parallel on a switched link, 2(N−1) of it through one shared path on a
// host-staged PCIe ring.
func (p Profile) allReduceSeconds(tokens int) float64 {
	n := p.Accelerator.Count
	if n <= 1 {
		return 0
	}
	m := p.Model
	ars := 2 * float64(m.Layers)
	hops := 2 * float64(n-1)
	msg := float64(tokens) * m.hidden() * m.BytesPerValue
	moved := hops * msg
	if !p.SharedLink {
		moved /= float64(n)
	}
	s := ars * hops * p.AllReduceHop.Seconds()
	if p.LinkBytesPerS > 0 {
		s += ars * moved / p.LinkBytesPerS
	}
	return s
}

// overhead is the fixed time of a step over seqs sequences and tokens
// tokens: StepOverhead, SeqOverhead per sequence and the all-reduces.
func (p Profile) overhead(seqs, tokens int) float64 {
	return p.StepOverhead.Seconds() + float64(seqs)*p.SeqOverhead.Seconds() + p.allReduceSeconds(tokens)
}

func (p Profile) computeSeconds(tokens float64) float64 {
	a := p.Accelerator
	return 2 * p.Model.active() * tokens / (float64(a.Count) * a.FLOPS * p.ComputeEfficiency)
}

// memorySeconds is the time to read weightBytes of weights and kvBytes of
// KV cache for batch sequences, each at its own efficiency.
func (p Profile) memorySeconds(weightBytes, kvBytes float64, batch int) float64 {
	a := p.Accelerator
	bw := float64(a.Count) * a.BandwidthBytesPerS
	s := weightBytes / (bw * p.MemoryEfficiency)
	if kvBytes > 0 {
		eff := p.AttentionEfficiency
		if p.AttentionBlocks > 0 {
			heads := math.Ceil(float64(p.Model.Heads) / float64(a.Count))
			eff *= min(1, float64(batch)*heads/p.AttentionBlocks)
		}
		s += kvBytes / (bw * eff)
	}
	return s
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// DecodeStepTime is the simulated (unscaled) time of one decode step that
// produces one token for each of batch sequences holding
// contextTokensTotal tokens of context between them:
//
//	max(2 × active params × batch / (N × FLOPS × eff_c),
//	    params read(batch) × bytes / (N × BW × eff_m) + KV bytes per token × contextTokensTotal / (N × BW × eff_a))
//	+ StepOverhead + batch × SeqOverhead + all-reduce(batch)
//
// Small batches are memory-bound (every step reads all weights); the
// compute term takes over near batch ≈ FLOPS/BW (≈116 on an A10G).
func (p Profile) DecodeStepTime(batch, contextTokensTotal int) time.Duration {
	if batch <= 0 {
		return 0
	}
	c := p.computeSeconds(float64(batch))
	m := p.memorySeconds(p.Model.ParamsRead(batch)*p.Model.BytesPerValue, p.KVBytesPerToken()*float64(contextTokensTotal), batch)
	return seconds(max(c, m) + p.overhead(batch, batch))
}

// PrefillTime is the simulated (unscaled) time of one prefill step over
// tokens prompt tokens of seqs sequences:
//
//	max(2 × active params × tokens / (N × FLOPS × eff_c), params read(tokens) × bytes / (N × BW × eff_m))
//	+ StepOverhead + seqs × SeqOverhead + all-reduce(tokens)
//
// Prefill is compute-bound except for very short prompts.
func (p Profile) PrefillTime(tokens, seqs int) time.Duration {
	if tokens <= 0 {
		return 0
	}
	c := p.computeSeconds(float64(tokens))
	m := p.memorySeconds(p.Model.ParamsRead(tokens)*p.Model.BytesPerValue, 0, 0)
	return seconds(max(c, m) + p.overhead(max(seqs, 1), tokens))
}
