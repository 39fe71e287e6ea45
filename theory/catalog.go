// Package theory estimates, from first principles, what a decoder-only
// transformer needs and can do on an accelerator: weight memory, KV cache
// per token, the largest batch that fits, arithmetic intensity and the
// critical batch, memory-bound decode time, prefill time, and the fewest
// devices that hold a model. Its catalog of models, accelerators and data
// types is editable YAML (catalog.yaml, embedded; a user's file replaces
// it). Every formula and assumption is in docs/planning.md.
//
// The package does no I/O beyond what its caller hands it: ParseCatalog
// takes bytes.
package theory

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/llmload/llmload/internal/strictyaml"
)

//go:embed catalog.yaml
var catalogYAML []byte

// CatalogYAML returns the built-in catalog's text, to copy and edit.
func CatalogYAML() []byte { return slices.Clone(catalogYAML) }

// Catalog lists the models, accelerators and data types estimates can
// name.
type Catalog struct {
	// DTypes maps a data type (fp16, int8, …) to its bytes per value.
	DTypes       map[string]float64 `yaml:"dtypes"`
	Models       []Model            `yaml:"models"`
	Accelerators []Accelerator      `yaml:"accelerators"`
}

// Model is a decoder-only transformer as far as serving cost goes.
type Model struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Params counts every parameter (all experts of a mixture of experts).
	Params float64 `yaml:"params"`
	// ActiveParams counts the parameters one token goes through; 0 means
	// Params (a dense model).
	ActiveParams float64 `yaml:"active_params"`
	// Experts and ExpertsPerToken describe a mixture of experts: experts
	// per layer and how many each token is routed to; 0 for a dense model.
	Experts         int `yaml:"experts"`
	ExpertsPerToken int `yaml:"experts_per_token"`
	Layers          int `yaml:"n_layers"`
	Heads           int `yaml:"n_heads"`
	// KVHeads < Heads is grouped-query attention, 1 multi-query.
	KVHeads    int `yaml:"n_kv_heads"`
	HeadDim    int `yaml:"d_head"`
	MaxContext int `yaml:"max_context"`
}

// Active is the parameters a token goes through.
func (m Model) Active() float64 {
	if m.ActiveParams > 0 {
		return m.ActiveParams
	}
	return m.Params
}

// Accelerator is one device. Units as in the YAML: decimal GB, GB/s,
// TFLOPS.
type Accelerator struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// MemoryGB is device memory (DRAM/HBM), 1e9 bytes.
	MemoryGB float64 `yaml:"memory_gb"`
	// BandwidthGBs is peak memory bandwidth, GB/s.
	BandwidthGBs float64 `yaml:"bandwidth_gb_s"`
	// FP16TFLOPS is peak dense fp16/bf16 tensor throughput.
	FP16TFLOPS float64 `yaml:"fp16_tflops"`
	// Interconnect names the device-to-device link; InterconnectGBs is its
	// bandwidth per device as the vendor states it.
	Interconnect    string  `yaml:"interconnect"`
	InterconnectGBs float64 `yaml:"interconnect_gb_s"`
	Note            string  `yaml:"note"`
}

// OpsPerByte is the accelerator's arithmetic intensity: peak FLOPS over
// peak bandwidth, FLOPs per byte moved.
func (a Accelerator) OpsPerByte() float64 {
	return a.FP16TFLOPS * 1e12 / (a.BandwidthGBs * 1e9)
}

// Builtin returns the built-in catalog.
func Builtin() *Catalog {
	c, err := ParseCatalog(catalogYAML)
	if err != nil {
		panic("theory: built-in catalog: " + err.Error())
	}
	return c
}

// ParseCatalog parses and checks a catalog in YAML; unknown keys are
// errors, and every problem is reported.
func ParseCatalog(b []byte) (*Catalog, error) {
	var c Catalog
	if err := strictyaml.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate returns every problem of the catalog, joined.
func (c *Catalog) Validate() error {
	var errs []error
	bad := func(v float64) bool { return !(v > 0) || math.IsInf(v, 0) }
	for _, d := range slices.Sorted(maps.Keys(c.DTypes)) {
		if bad(c.DTypes[d]) {
			errs = append(errs, fmt.Errorf("catalog: dtype %s: bytes per value %g is not positive", d, c.DTypes[d]))
		}
	}
	seen := map[string]bool{}
	for i, m := range c.Models {
		where := fmt.Sprintf("catalog: model %d (%s)", i+1, m.ID)
		switch {
		case m.ID == "":
			errs = append(errs, fmt.Errorf("%s: no id", where))
		case seen["m"+m.ID]:
			errs = append(errs, fmt.Errorf("%s: id given twice", where))
		}
		seen["m"+m.ID] = true
		if bad(m.Params) || m.ActiveParams < 0 || m.ActiveParams > m.Params {
			errs = append(errs, fmt.Errorf("%s: params %g and active_params %g: want params > 0 and 0 ≤ active_params ≤ params", where, m.Params, m.ActiveParams))
		}
		if m.Experts < 0 || m.ExpertsPerToken < 0 || m.ExpertsPerToken > m.Experts || (m.Experts > 0) != (m.ExpertsPerToken > 0) {
			errs = append(errs, fmt.Errorf("%s: experts %d and experts_per_token %d: want both 0 (dense) or 1 ≤ experts_per_token ≤ experts", where, m.Experts, m.ExpertsPerToken))
		}
		if m.Layers <= 0 || m.Heads <= 0 || m.KVHeads <= 0 || m.HeadDim <= 0 || m.KVHeads > m.Heads {
			errs = append(errs, fmt.Errorf("%s: n_layers, n_heads, n_kv_heads and d_head must be positive, n_kv_heads ≤ n_heads", where))
		}
	}
	for i, a := range c.Accelerators {
		where := fmt.Sprintf("catalog: accelerator %d (%s)", i+1, a.ID)
		switch {
		case a.ID == "":
			errs = append(errs, fmt.Errorf("%s: no id", where))
		case seen["a"+a.ID]:
			errs = append(errs, fmt.Errorf("%s: id given twice", where))
		}
		seen["a"+a.ID] = true
		if bad(a.MemoryGB) || bad(a.BandwidthGBs) || bad(a.FP16TFLOPS) || a.InterconnectGBs < 0 {
			errs = append(errs, fmt.Errorf("%s: memory_gb, bandwidth_gb_s and fp16_tflops must be positive", where))
		}
	}
	return errors.Join(errs...)
}

// norm is how ids are compared: case and the separators - _ . and space
// do not matter ("Llama-2-7B", "llama_2_7b").
func norm(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "", ".", "").Replace(strings.ToLower(s))
}

// Model returns the model with id (or name) id.
func (c *Catalog) Model(id string) (Model, error) {
	for _, m := range c.Models {
		if norm(m.ID) == norm(id) || norm(m.Name) == norm(id) {
			return m, nil
		}
	}
	ids := make([]string, len(c.Models))
	for i, m := range c.Models {
		ids[i] = m.ID
	}
	return Model{}, fmt.Errorf("unknown model %q (catalog: %s)", id, strings.Join(ids, ", "))
}

// Accelerator returns the accelerator with id (or name) id.
func (c *Catalog) Accelerator(id string) (Accelerator, error) {
	for _, a := range c.Accelerators {
		if norm(a.ID) == norm(id) || norm(a.Name) == norm(id) {
			return a, nil
		}
	}
	ids := make([]string, len(c.Accelerators))
	for i, a := range c.Accelerators {
		ids[i] = a.ID
	}
	return Accelerator{}, fmt.Errorf("unknown accelerator %q (catalog: %s)", id, strings.Join(ids, ", "))
}

// DType returns the bytes per value of a data type.
func (c *Catalog) DType(name string) (float64, error) {
	if b, ok := c.DTypes[strings.ToLower(name)]; ok {
		return b, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (catalog: %s)", name, strings.Join(slices.Sorted(maps.Keys(c.DTypes)), ", "))
}

// ParamsRead is the parameters a decode step over tokens tokens reads
// from memory. A dense model reads all of them. A mixture of experts
// reads its shared parameters (attention, embeddings, router) and every
// expert some token routes to: with E experts per layer, k per token and
// independent uniform routing, the expected number of distinct experts
// the tokens touch per layer is E × (1 − (1 − k/E)^tokens) — k at one
// token, approaching E as the batch grows. The expert parameters X and
// the shared S follow from S + X = params and S + X·k/E = active params.
// The simulator (sim.Model.ParamsRead) and the roofline both use it.
func ParamsRead(params, active float64, experts, perToken, tokens int) float64 {
	moe := experts > 0 && perToken > 0 && perToken < experts && active > 0 && active < params
	if !moe || tokens <= 0 {
		return params
	}
	e, k := float64(experts), float64(perToken)
	expert := (params - active) / (1 - k/e) // all experts together
	shared := params - expert
	touched := e * (1 - math.Pow(1-k/e, float64(tokens)))
	return shared + expert*touched/e
}

// ParamsRead is theory.ParamsRead for m.
func (m Model) ParamsRead(tokens int) float64 {
	return ParamsRead(m.Params, m.ActiveParams, m.Experts, m.ExpertsPerToken, tokens)
}
