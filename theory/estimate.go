package theory

import (
	"fmt"
	"math"
)

// Input is what an estimate is for.
type Input struct {
	Model       Model
	Accelerator Accelerator
	// Count is the number of devices, sharded with tensor parallelism.
	Count int
	// Context is the tokens of one sequence (prompt + output) whose KV
	// cache must fit.
	Context int
	// DType names the data type of the weights and the KV cache, and
	// BytesPerValue is its size.
	DType         string
	BytesPerValue float64
	// ReserveGB is device memory per device that holds neither weights nor
	// KV cache (CUDA context, activations, allocator slack); 0 by default,
	// as CALIBRATION.md's worked example.
	ReserveGB float64
}

// Estimate is the roofline arithmetic for one Input. Bytes are bytes,
// times seconds; every figure is for the whole group of Count devices.
type Estimate struct {
	Input Input

	// WeightBytes = params × bytes per value.
	WeightBytes float64
	// KVBytesPerToken = 2 (K and V) × n_layers × n_kv_heads × d_head ×
	// bytes per value, times KVReplicas.
	KVBytesPerToken float64
	// KVReplicas is how many copies of each KV head the devices hold:
	// ⌈Count / n_kv_heads⌉ when there are more devices than KV heads
	// (each device needs at least one head), else 1.
	KVReplicas int
	// KVBytesPerSequence = KVBytesPerToken × Context.
	KVBytesPerSequence float64
	// MemoryBytes = Count × (memory − reserve).
	MemoryBytes float64
	// FreeForKVBytes = MemoryBytes − WeightBytes; negative when the
	// weights do not fit.
	FreeForKVBytes float64
	// MaxBatch = ⌊FreeForKVBytes / KVBytesPerSequence⌋: sequences of
	// Context tokens whose caches fit at once; 0 when none does.
	MaxBatch int

	// OpsPerByte = FLOPS / bandwidth of one device.
	OpsPerByte float64
	// CriticalBatch = ⌊OpsPerByte × bytes per value / 2⌋: the batch at
	// which a decode step's 2 × active params × batch FLOPs take as long
	// as reading the weights (active params × bytes per value); below it
	// decoding is memory-bound. For fp16 it is OpsPerByte.
	CriticalBatch int

	// DecodeBatch1 and DecodeMaxBatch are decode steps at batch 1 and at
	// MaxBatch (0 when MaxBatch is 0), each sequence at Context tokens.
	DecodeBatch1, DecodeMaxBatch Step

	// PrefillS = 2 × active params × Context / (Count × FLOPS): the
	// compute-bound time to prefill one Context-token prompt.
	PrefillS float64

	// MinCountWeights is the fewest devices that hold the weights and one
	// Context-token sequence; MinCountCritical the fewest that hold the
	// weights and CriticalBatch such sequences. 0: more than MaxCount.
	MinCountWeights, MinCountCritical int
}

// Step is one decode step (one token for every sequence of the batch).
type Step struct {
	Batch int `json:"batch"`
	// Bytes read: the weights the batch touches plus every sequence's KV
	// cache; FLOPs = 2 × active params × batch.
	Bytes, FLOPs float64
	// MemoryS = Bytes / (Count × bandwidth); ComputeS = FLOPs / (Count ×
	// FLOPS); S = max of the two, the step's roofline time, which is each
	// sequence's time per output token.
	MemoryS, ComputeS, S float64
	// TokensPerS = Batch / S, the group's output throughput.
	TokensPerS float64
	// MemoryBound tells whether MemoryS ≥ ComputeS.
	MemoryBound bool
}

// MaxCount bounds the device counts MinCount* search.
const MaxCount = 4096

// Check returns an error when in cannot be estimated.
func (in Input) Check() error {
	switch {
	case in.Count < 1:
		return fmt.Errorf("count %d: want at least 1 device", in.Count)
	case in.Context < 1:
		return fmt.Errorf("context %d: want at least 1 token", in.Context)
	case !(in.BytesPerValue > 0):
		return fmt.Errorf("dtype %q: bytes per value %g is not positive", in.DType, in.BytesPerValue)
	case in.ReserveGB < 0 || in.ReserveGB >= in.Accelerator.MemoryGB:
		return fmt.Errorf("reserve %g GB: want 0 ≤ reserve < the device's %g GB", in.ReserveGB, in.Accelerator.MemoryGB)
	case !(in.Model.Params > 0) || in.Model.Layers < 1 || in.Model.KVHeads < 1 || in.Model.HeadDim < 1:
		return fmt.Errorf("model %q is incomplete", in.Model.ID)
	case !(in.Accelerator.BandwidthGBs > 0) || !(in.Accelerator.FP16TFLOPS > 0) || !(in.Accelerator.MemoryGB > 0):
		return fmt.Errorf("accelerator %q is incomplete", in.Accelerator.ID)
	}
	return nil
}

// kvReplicas is ⌈count / n_kv_heads⌉, at least 1.
func kvReplicas(count, kvHeads int) int {
	return max(1, (count+kvHeads-1)/kvHeads)
}

// kvPerToken is the group's KV cache bytes per token at count devices.
func (in Input) kvPerToken(count int) float64 {
	m := in.Model
	return 2 * float64(m.Layers) * float64(m.KVHeads) * float64(m.HeadDim) * in.BytesPerValue * float64(kvReplicas(count, m.KVHeads))
}

// Estimate computes the estimate of in.
func (in Input) Estimate() (*Estimate, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	m, a := in.Model, in.Accelerator
	e := &Estimate{Input: in}
	e.WeightBytes = m.Params * in.BytesPerValue
	e.KVReplicas = kvReplicas(in.Count, m.KVHeads)
	e.KVBytesPerToken = in.kvPerToken(in.Count)
	e.KVBytesPerSequence = e.KVBytesPerToken * float64(in.Context)
	e.MemoryBytes = float64(in.Count) * (a.MemoryGB - in.ReserveGB) * 1e9
	e.FreeForKVBytes = e.MemoryBytes - e.WeightBytes
	if e.FreeForKVBytes > 0 {
		e.MaxBatch = int(math.Floor(e.FreeForKVBytes / e.KVBytesPerSequence))
	}
	e.OpsPerByte = a.OpsPerByte()
	e.CriticalBatch = int(math.Floor(e.OpsPerByte * in.BytesPerValue / 2))
	e.DecodeBatch1 = in.step(1)
	if e.MaxBatch > 0 {
		e.DecodeMaxBatch = in.step(e.MaxBatch)
	}
	e.PrefillS = 2 * m.Active() * float64(in.Context) / (float64(in.Count) * a.FP16TFLOPS * 1e12)
	e.MinCountWeights = in.minCount(1)
	e.MinCountCritical = in.minCount(max(1, e.CriticalBatch))
	return e, nil
}

// step is the roofline decode step at batch b. A mixture of experts reads
// its shared parameters and the experts its b tokens route to, expected
// under uniform routing (ParamsRead, the simulator's formula); a mixture
// without experts and experts_per_token in the catalog falls back to
// min(params, active params × b), every token to different experts.
func (in Input) step(b int) Step {
	m, a := in.Model, in.Accelerator
	n := float64(in.Count)
	s := Step{Batch: b}
	read := math.Min(m.Params, m.Active()*float64(b))
	if m.Experts > 0 && m.ExpertsPerToken > 0 {
		read = m.ParamsRead(b)
	}
	s.Bytes = read*in.BytesPerValue + float64(b)*in.kvPerToken(in.Count)*float64(in.Context)
	s.FLOPs = 2 * m.Active() * float64(b)
	s.MemoryS = s.Bytes / (n * a.BandwidthGBs * 1e9)
	s.ComputeS = s.FLOPs / (n * a.FP16TFLOPS * 1e12)
	s.S = math.Max(s.MemoryS, s.ComputeS)
	s.MemoryBound = s.MemoryS >= s.ComputeS
	s.TokensPerS = float64(b) / s.S
	return s
}

// minCount is the fewest devices whose memory (less the reserve) holds
// the weights and b sequences of Context tokens; 0 above MaxCount.
func (in Input) minCount(b int) int {
	per := (in.Accelerator.MemoryGB - in.ReserveGB) * 1e9
	for n := 1; n <= MaxCount; n++ {
		if float64(n)*per >= in.Model.Params*in.BytesPerValue+float64(b)*in.kvPerToken(n)*float64(in.Context) {
			return n
		}
	}
	return 0
}
