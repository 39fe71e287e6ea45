package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/theory"
)

const theoryUsage = `Usage: llmload theory [flags]

Estimates from first principles (the roofline) what a model needs and can
do on an accelerator, with no endpoint: weight memory, KV cache per token
(grouped-query aware), the largest batch that fits, arithmetic intensity
(ops/byte) and the critical batch, memory-bound decode time per token at
batch 1 and at the largest batch, a prefill estimate, and the fewest
devices that hold the weights plus the KV cache of the critical batch.
Formulas and assumptions: docs/planning.md.

Examples:
  llmload theory --model llama-2-7b --accelerator a10g --count 1 --context 4096 --dtype fp16
  llmload theory --model llama-3.3-70b --accelerator h100 --count 4 --context 8192 --dtype fp8
  llmload theory --model llama-2-7b --accelerator a10g --sweep results/sweep   # predictions beside a measured sweep
  llmload theory --list
  llmload theory --print-catalog > my-catalog.yaml   # edit, then --catalog my-catalog.yaml

Flags:
`

func (c *cli) theory(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("theory", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), theoryUsage)
		fs.PrintDefaults()
	}
	var (
		model, acc, dtype, catalog string
		sweep                      string
		count, context             int
		reserve, price             float64
		list, printCatalog         bool
	)
	fs.StringVar(&model, "model", "", "model id from the catalog, e.g. llama-2-7b (see --list)")
	fs.StringVar(&acc, "accelerator", "", "accelerator id from the catalog, e.g. a10g (see --list)")
	fs.IntVar(&count, "count", 1, "number of accelerators, sharded with tensor parallelism")
	fs.IntVar(&context, "context", 4096, "tokens per sequence (prompt + output) whose KV cache must fit")
	fs.StringVar(&dtype, "dtype", "fp16", "data type of weights and KV cache: fp16, bf16, fp8, int8, int4 (see --list)")
	fs.Float64Var(&reserve, "reserve-gb", 0, "device memory per accelerator held by neither weights nor KV cache (runtime, activations), GB")
	fs.Float64Var(&price, "price-per-hour", 0, "price per hour of the whole group of accelerators: adds the cost per 1M output tokens at the roofline throughput")
	fs.StringVar(&catalog, "catalog", "", "YAML catalog to use instead of the built-in one (see --print-catalog)")
	fs.StringVar(&sweep, "sweep", "", "a measured concurrency sweep directory: print the predictions beside its measurements (ms/token at concurrency 1, largest batch against the knee); --context defaults to its mean prompt + output tokens")
	fs.BoolVar(&list, "list", false, "list the catalog's models, accelerators and dtypes")
	fs.BoolVar(&printCatalog, "print-catalog", false, "print the built-in catalog (YAML), to copy and edit")
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	if printCatalog {
		c.stdout.Write(theory.CatalogYAML())
		return exitOK
	}
	cat := theory.Builtin()
	if catalog != "" {
		b, err := os.ReadFile(catalog)
		if err != nil {
			return c.usageErr("theory", err)
		}
		if cat, err = theory.ParseCatalog(b); err != nil {
			return c.usageErr("theory", fmt.Errorf("%s: %w", catalog, err))
		}
	}
	if list {
		c.theoryList(cat)
		return exitOK
	}
	if model == "" || acc == "" {
		return c.usageErr("theory", fmt.Errorf("--model and --accelerator are required (see --list)"))
	}
	var ms *measuredSweep
	if sweep != "" {
		var err error
		if ms, err = loadMeasuredSweep(sweep); err != nil {
			return c.usageErr("theory", err)
		}
		if n := ms.context(); n > 0 && !visited(fs)["context"] {
			context = n
		}
	}
	in := theory.Input{Count: count, Context: context, DType: dtype, ReserveGB: reserve}
	var err error
	if in.Model, err = cat.Model(model); err != nil {
		return c.usageErr("theory", err)
	}
	if in.Accelerator, err = cat.Accelerator(acc); err != nil {
		return c.usageErr("theory", err)
	}
	if in.BytesPerValue, err = cat.DType(dtype); err != nil {
		return c.usageErr("theory", err)
	}
	e, err := in.Estimate()
	if err != nil {
		return c.usageErr("theory", err)
	}
	if err := e.WriteText(c.stdout); err != nil {
		return exitFailed
	}
	if ms != nil {
		writeTheoryBeside(c.stdout, e, ms)
	}
	if price != 0 {
		p := analysis.InstancePrice{PerHour: price, Instances: 1}
		if err := p.Check(); err != nil {
			return c.usageErr("theory", fmt.Errorf("--price-per-hour: %w", err))
		}
		for _, s := range []theory.Step{e.DecodeBatch1, e.DecodeMaxBatch} {
			if cost, ok := p.CostPer1M(s.TokensPerS); ok && s.Batch > 0 {
				fmt.Fprintf(c.stdout, "cost at batch %-10d %.4g per 1M output tokens (%g/h × 1e6 / (%.4g tok/s × 3600))\n", s.Batch, cost, price, s.TokensPerS)
			}
		}
	}
	return exitOK
}

func (c *cli) theoryList(cat *theory.Catalog) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tparams\tactive\tlayers\theads\tKV heads\td_head\tmax context")
	for _, m := range cat.Models {
		active := "-"
		if m.ActiveParams > 0 {
			active = fmt.Sprintf("%.4gB", m.ActiveParams/1e9)
		}
		fmt.Fprintf(tw, "%s\t%.4gB\t%s\t%d\t%d\t%d\t%d\t%d\n", m.ID, m.Params/1e9, active, m.Layers, m.Heads, m.KVHeads, m.HeadDim, m.MaxContext)
	}
	tw.Flush()
	fmt.Fprintln(c.stdout)
	tw = tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "accelerator\tmemory GB\tGB/s\tTFLOPS fp16\tops/byte\tinterconnect\tGB/s")
	for _, a := range cat.Accelerators {
		fmt.Fprintf(tw, "%s\t%g\t%g\t%g\t%.1f\t%s\t%g\n", a.ID, a.MemoryGB, a.BandwidthGBs, a.FP16TFLOPS, a.OpsPerByte(), a.Interconnect, a.InterconnectGBs)
	}
	tw.Flush()
	fmt.Fprint(c.stdout, "\ndtypes (bytes/value):")
	for _, d := range sortedKeys(cat.DTypes) {
		fmt.Fprintf(c.stdout, " %s %g", d, cat.DTypes[d])
	}
	fmt.Fprintln(c.stdout)
}

func sortedKeys(m map[string]float64) []string {
	return slices.Sorted(maps.Keys(m))
}
