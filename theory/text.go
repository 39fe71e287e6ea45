package theory

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// WriteText writes the estimate for people: one line per figure, with its
// formula's inputs.
func (e *Estimate) WriteText(w io.Writer) error {
	in := e.Input
	m, a := in.Model, in.Accelerator
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format+"\n", args...) }
	p("%s in %s (%s bytes/value) on %d × %s, %d-token context", m.Name, in.DType, g(in.BytesPerValue), in.Count, a.Name, in.Context)
	p("device: %s GB, %s GB/s, %s TFLOPS fp16, %s %s GB/s", g(a.MemoryGB), g(a.BandwidthGBs), g(a.FP16TFLOPS), a.Interconnect, g(a.InterconnectGBs))
	if m.ActiveParams > 0 {
		p("model: %s params (%s active), %d layers, %d heads, %d KV heads, d_head %d", gb(m.Params, 1e9, "B"), gb(m.ActiveParams, 1e9, "B"), m.Layers, m.Heads, m.KVHeads, m.HeadDim)
	} else {
		p("model: %s params, %d layers, %d heads, %d KV heads, d_head %d", gb(m.Params, 1e9, "B"), m.Layers, m.Heads, m.KVHeads, m.HeadDim)
	}
	p("")
	p("weight memory            %s", gb(e.WeightBytes, 1e9, " GB"))
	kv := fmt.Sprintf("KV cache per token       %s bytes (%s; 2 × %d layers × %d KV heads × d_head %d × %s B", g(e.KVBytesPerToken), gb(e.KVBytesPerToken, 1e6, " MB"), m.Layers, m.KVHeads, m.HeadDim, g(in.BytesPerValue))
	if e.KVReplicas > 1 {
		kv += fmt.Sprintf(" × %d replicas: more devices than KV heads", e.KVReplicas)
	}
	if m.KVHeads < m.Heads {
		kv += fmt.Sprintf("; grouped-query attention saves %s×", g(float64(m.Heads)/float64(m.KVHeads)))
	}
	p("%s)", kv)
	p("KV cache per sequence    %s at %d tokens", gb(e.KVBytesPerSequence, 1e9, " GB"), in.Context)
	free := "none: the weights do not fit"
	if e.FreeForKVBytes > 0 {
		free = gb(e.FreeForKVBytes, 1e9, " GB")
	}
	p("memory for KV cache      %s (%s GB total, %s GB reserved per device)", free, g(e.MemoryBytes/1e9), g(in.ReserveGB))
	p("largest batch that fits  %d sequences of %d tokens", e.MaxBatch, in.Context)
	p("arithmetic intensity     %s ops/byte (%s TFLOPS / %s GB/s)", g(e.OpsPerByte), g(a.FP16TFLOPS), g(a.BandwidthGBs))
	p("critical batch           %d (decode is memory-bound below it)", e.CriticalBatch)
	step := func(name string, s Step) {
		bound := "memory-bound"
		if !s.MemoryBound {
			bound = "compute-bound"
		}
		p("%-24s %s ms/token (%s; memory %s ms, compute %s ms), %s output tokens/s", name, g(1000*s.S), bound, g(1000*s.MemoryS), g(1000*s.ComputeS), g(s.TokensPerS))
	}
	step("decode at batch 1", e.DecodeBatch1)
	if e.MaxBatch > 0 {
		step(fmt.Sprintf("decode at batch %d", e.MaxBatch), e.DecodeMaxBatch)
	}
	p("%-24s %s ms (2 × active params × tokens / FLOPS)", fmt.Sprintf("prefill of %d tokens", in.Context), g(1000*e.PrefillS))
	p("fewest devices           %s for the weights and one sequence; %s for the weights and the critical batch (%d sequences)",
		count(e.MinCountWeights), count(e.MinCountCritical), max(1, e.CriticalBatch))
	p("(roofline: peak bandwidth and FLOPS, no framework overheads; see docs/planning.md)")
	return bw.Flush()
}

func count(n int) string {
	if n == 0 {
		return fmt.Sprintf("more than %d", MaxCount)
	}
	return strconv.Itoa(n)
}

// g writes v with four significant digits, without exponents for usual
// magnitudes.
func g(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1e4 || v < 1e-3 && v > -1e-3:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// gb writes v / div with unit: 13.48 GB.
func gb(v, div float64, unit string) string { return g(v/div) + unit }
