package sim

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmload/llmload/internal/strictyaml"

	"github.com/llmload/llmload/theory"
)

// This file builds profiles: any model of the theory catalog on any of
// its accelerators, with a tensor-parallel degree and replicas, using
// the engine parameters of the accelerator's family.

// Family is a set of engine parameters shared by the accelerators it
// names, fitted to CALIBRATION.md (docs/simulator.md).
type Family struct {
	// Name is the family's name ("a10g-pcie").
	Name string
	// Accelerators are the catalog ids it was fitted on, or that borrow it.
	Accelerators []string
	// Calibrated tells whether published measurements on the family fitted
	// it; an uncalibrated family borrows a calibrated one's parameters.
	Calibrated bool
	// Basis says what the parameters were fitted to.
	Basis  string
	Engine Engine
}

// Families returns the engine parameter sets, one per accelerator family
// and interconnect. It builds them afresh on every call.
func Families() []Family {
	pcie := Engine{
		ReservedBytesPerDevice: 1e9,
		MemoryEfficiency:       0.856,
		AttentionEfficiency:    0.918,
		AttentionBlocks:        207,
		ComputeEfficiency:      0.4157,
		StepOverhead:           4136 * time.Microsecond,
		SeqOverhead:            266700 * time.Nanosecond,
		AllReduceHop:           8667 * time.Nanosecond,
		LinkBytesPerS:          21.14e9,
		SharedLink:             true,
	}
	nvlink := Engine{
		ReservedBytesPerDevice: 2e9,
		MemoryEfficiency:       0.80,
		AttentionEfficiency:    0.50,
		AttentionBlocks:        150,
		ComputeEfficiency:      0.45,
		StepOverhead:           4667 * time.Microsecond,
		SeqOverhead:            130700 * time.Nanosecond,
		AllReduceHop:           14 * time.Microsecond,
		LinkBytesPerS:          150e9,
	}
	hopper := Engine{
		ReservedBytesPerDevice: 4e9,
		MemoryEfficiency:       0.95,
		AttentionEfficiency:    0.95,
		AttentionBlocks:        7.82,
		ComputeEfficiency:      0.294,
		StepOverhead:           1031 * time.Microsecond,
		SeqOverhead:            71670 * time.Nanosecond,
		AllReduceHop:           1 * time.Microsecond,
		LinkBytesPerS:          245e9,
	}
	return []Family{
		{Name: "a10g-pcie", Accelerators: []string{"a10g"}, Calibrated: true,
			Basis: "Llama 2 7B behind TGI on ml.g5.2xlarge, 12xlarge and 48xlarge", Engine: pcie},
		{Name: "pcie", Accelerators: []string{"l4", "l40s"},
			Basis: "borrows a10g-pcie (PCIe, no NVLink)", Engine: pcie},
		{Name: "a100-nvlink", Accelerators: []string{"a100-40gb", "a100-80gb"}, Calibrated: true,
			Basis: "Llama 2 7B behind TGI on ml.p4d.24xlarge", Engine: nvlink},
		{Name: "hopper-nvlink", Accelerators: []string{"h100", "h200"}, Calibrated: true,
			Basis: "Llama 3.3 70B on Bedrock, assumed served in fp16 on 8×H200", Engine: hopper},
		{Name: "neuron", Accelerators: []string{"inferentia2", "trainium", "trainium2"},
			Basis: "borrows a100-nvlink (a switched device link)", Engine: nvlink},
	}
}

// FamilyFor returns the family of a catalog accelerator: the one that
// names its id, else by interconnect (PCIe: pcie; anything else:
// a100-nvlink).
func FamilyFor(a theory.Accelerator) Family {
	fs := Families()
	for _, f := range fs {
		if slices.Contains(f.Accelerators, a.ID) {
			return f
		}
	}
	want := "a100-nvlink"
	if strings.Contains(strings.ToLower(a.Interconnect), "pcie") {
		want = "pcie"
	}
	for _, f := range fs {
		if f.Name == want {
			return f
		}
	}
	return fs[0]
}

// TGIServing is TGI's default batching: max_batch_prefill_tokens 4096,
// waiting_served_ratio 1.2, max_waiting_tokens 20.
func TGIServing() Serving {
	return Serving{MaxPrefillTokens: 4096, WaitingServedRatio: 1.2, MaxWaitingTokens: 20}
}

// alias is a built-in profile name kept from before catalog profiles.
type alias struct {
	name, spec, desc string
	serving          func(*Profile)
}

// Served model ids of the built-in profiles.
const (
	llama2Served = "meta-llama/Llama-2-7b-chat-hf"
	llama3Served = "meta-llama/Llama-3.3-70B-Instruct"
)

func aliases() []alias {
	return []alias{
		{"llama2-7b-a10g", "llama-2-7b@1xa10g", "Llama 2 7B fp16 on 1×A10G (ml.g5.2xlarge, TGI)", nil},
		{"llama2-7b-4xa10g", "llama-2-7b@4xa10g", "Llama 2 7B fp16 on 4×A10G, TP 4 (ml.g5.12xlarge, TGI)", nil},
		{"llama2-7b-8xa10g", "llama-2-7b@8xa10g", "Llama 2 7B fp16 on 8×A10G, TP 8 (ml.g5.48xlarge, TGI)", nil},
		{"llama2-7b-8xa100", "llama-2-7b@8xa100-40gb", "Llama 2 7B fp16 on 8×A100 40GB, TP 8 (ml.p4d.24xlarge, TGI)", nil},
		{"llama3-70b-8xa100", "llama-3.3-70b@8xa100-40gb", "Llama 3.3 70B fp16 on 8×A100 40GB, TP 8 (TGI; family-calibrated estimate)", func(p *Profile) {
			p.Model.MaxContext = 8192
		}},
		{"bedrock-llama3-70b", "llama-3.3-70b@8xh200:r" + strconv.Itoa(bedrockReplicas), "Llama 3.3 70B on Bedrock on-demand, modelled as fp16 on 8×H200 ×" + strconv.Itoa(bedrockReplicas) + " replicas", func(p *Profile) {
			p.Model.MaxContext = 8192
			p.Serving = bedrockServing()
		}},
	}
}

// bedrockReplicas is how many 8×H200 engines the Bedrock profile spreads
// requests over (an assumption; Bedrock does not say).
const bedrockReplicas = 4

// bedrockServing is the Bedrock profile's serving layer: a gateway in
// front, and a scheduler that admits whenever something fits.
func bedrockServing() Serving {
	return Serving{MaxPrefillTokens: 8192, FrontendOverhead: 388 * time.Millisecond}
}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "llama2-7b-a10g"

// ProfileNames returns the names of the built-in profiles (aliases of
// catalog specs), sorted.
func ProfileNames() []string {
	var names []string
	for _, a := range aliases() {
		names = append(names, a.name)
	}
	slices.Sort(names)
	return names
}

// LookupProfile returns the profile name names: "" (DefaultProfile), a
// built-in name (ProfileNames), or a catalog spec MODEL@NxACCEL[:tpT][:rR]
// (see ParseSpec) against the built-in theory catalog. An unknown name is
// an error of one line that lists close matches.
func LookupProfile(name string) (Profile, error) {
	return LookupProfileIn(theory.Builtin(), name)
}

// LookupProfileIn is LookupProfile against catalog cat.
func LookupProfileIn(cat *theory.Catalog, name string) (Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	for _, a := range aliases() {
		if a.name == name {
			p, err := FromCatalog(cat, a.spec)
			if err != nil {
				return Profile{}, err
			}
			p.Name, p.Description = a.name, a.desc
			p.Model.Name = llama2Served
			if p.Model.Params > 20e9 {
				p.Model.Name = llama3Served
			}
			if a.serving != nil {
				a.serving(&p)
			}
			return p, p.Validate()
		}
	}
	if !strings.Contains(name, "@") {
		return Profile{}, fmt.Errorf("sim: unknown profile %q (built-in: %s; or MODEL@NxACCEL, e.g. llama-2-13b@4xa10g)",
			name, strings.Join(closest(name, ProfileNames()), ", "))
	}
	return FromCatalog(cat, name)
}

// Spec is a parsed profile spec.
type Spec struct {
	Model, Accelerator string
	// Devices is N of NxACCEL: devices per instance; TP is the
	// tensor-parallel degree (default N) and Replicas N / TP, or R when
	// given with :rR.
	Devices, TP, Replicas int
}

// ParseSpec parses MODEL@NxACCEL[:tpT][:rR]: N devices of ACCEL, split
// into N/T replicas of tensor-parallel degree T (default T = N, one
// replica); :rR multiplies that by R instances. llama-2-7b@8xa10g:tp2 is
// 4 replicas of TP 2; llama-2-7b@1xa10g:r3 is 3 single-GPU replicas.
func ParseSpec(s string) (Spec, error) {
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("sim: profile %q: %s; want MODEL@NxACCEL[:tpT][:rR], e.g. llama-2-7b@8xa10g:tp2", s, why)
	}
	model, rest, ok := strings.Cut(s, "@")
	if !ok || model == "" || rest == "" {
		return bad("no MODEL@ACCEL")
	}
	parts := strings.Split(rest, ":")
	sp := Spec{Model: model, Devices: 1, Replicas: 1}
	acc := parts[0]
	if n, a, ok := strings.Cut(acc, "x"); ok {
		if v, err := strconv.Atoi(n); err == nil {
			if v < 1 {
				return bad("device count must be at least 1")
			}
			sp.Devices, acc = v, a
		}
	}
	if acc == "" {
		return bad("no accelerator")
	}
	sp.Accelerator = acc
	tp, r := 0, 1
	for _, opt := range parts[1:] {
		var err error
		switch {
		case strings.HasPrefix(opt, "tp"):
			tp, err = strconv.Atoi(opt[2:])
		case strings.HasPrefix(opt, "r"):
			r, err = strconv.Atoi(opt[1:])
		default:
			return bad(fmt.Sprintf("unknown option %q", opt))
		}
		if err != nil || tp < 0 || r < 1 {
			return bad(fmt.Sprintf("bad option %q", opt))
		}
	}
	if tp == 0 {
		tp = sp.Devices
	}
	if tp < 1 || sp.Devices%tp != 0 {
		return bad(fmt.Sprintf("tensor-parallel degree %d does not divide %d devices", tp, sp.Devices))
	}
	sp.TP, sp.Replicas = tp, sp.Devices/tp*r
	return sp, nil
}

// FromCatalog builds the profile of spec (ParseSpec) from cat: the
// model in fp16 on TP devices, Replicas replicas, the accelerator
// family's engine parameters and TGI's default batching.
func FromCatalog(cat *theory.Catalog, spec string) (Profile, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return Profile{}, err
	}
	m, err := cat.Model(sp.Model)
	if err != nil {
		return Profile{}, fmt.Errorf("sim: profile %q: unknown model %q (close: %s)", spec, sp.Model, strings.Join(closest(sp.Model, modelIDs(cat)), ", "))
	}
	a, err := cat.Accelerator(sp.Accelerator)
	if err != nil {
		return Profile{}, fmt.Errorf("sim: profile %q: unknown accelerator %q (close: %s)", spec, sp.Accelerator, strings.Join(closest(sp.Accelerator, accIDs(cat)), ", "))
	}
	if m.Heads%sp.TP != 0 {
		// vLLM and TGI shard attention heads across the devices.
		return Profile{}, fmt.Errorf("sim: profile %q: tensor parallelism %d does not divide %s's %d attention heads; use %s", spec, sp.TP, m.Name, m.Heads, tpChoices(m.Heads, sp.Devices))
	}
	f := FamilyFor(a)
	p := Profile{
		Name: spec,
		Description: fmt.Sprintf("%s fp16 on %d×%s, TP %d, %d replica(s) (engine family %s)",
			m.Name, sp.TP, a.Name, sp.TP, sp.Replicas, f.Name),
		Model: Model{
			Name: m.ID, Params: m.Params, ActiveParams: m.ActiveParams,
			Experts: m.Experts, ExpertsPerToken: m.ExpertsPerToken,
			Layers: m.Layers, Heads: m.Heads, KVHeads: m.KVHeads, HeadDim: m.HeadDim,
			BytesPerValue: 2, MaxContext: m.MaxContext,
		},
		Accelerator: Accelerator{
			Name: a.Name, Count: sp.TP, MemoryBytes: a.MemoryGB * 1e9,
			BandwidthBytesPerS: a.BandwidthGBs * 1e9, FLOPS: a.FP16TFLOPS * 1e12, Interconnect: a.Interconnect,
		},
		Replicas: sp.Replicas,
		Engine:   f.Engine,
		Serving:  TGIServing(),
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

func modelIDs(cat *theory.Catalog) []string {
	var ids []string
	for _, m := range cat.Models {
		ids = append(ids, m.ID)
	}
	return ids
}

func accIDs(cat *theory.Catalog) []string {
	var ids []string
	for _, a := range cat.Accelerators {
		ids = append(ids, a.ID)
	}
	return ids
}

// closest returns up to 4 of names nearest to s by edit distance (those
// containing s first).
func closest(s string, names []string) []string {
	s = strings.ToLower(s)
	type cand struct {
		name string
		d    int
	}
	cs := make([]cand, 0, len(names))
	for _, n := range names {
		d := editDistance(s, strings.ToLower(n))
		if strings.Contains(strings.ToLower(n), s) || strings.Contains(s, strings.ToLower(n)) {
			d = 0
		}
		cs = append(cs, cand{n, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.d - b.d })
	out := make([]string, 0, 4)
	for _, c := range cs[:min(4, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// ProfileFile is the YAML of a profile file (--sim-profile-file): a
// catalog spec, optionally with engine or serving parameters overridden.
type ProfileFile struct {
	// Spec is MODEL@NxACCEL[:tpT][:rR] or a built-in name.
	Spec string `yaml:"spec"`
	// Replicas, when set, replaces the spec's replicas.
	Replicas int `yaml:"replicas"`
	// BytesPerValue, when set, replaces fp16's 2 (1 for fp8/int8).
	BytesPerValue float64 `yaml:"bytes_per_value"`
	// Engine overrides; zero keeps the family's value.
	MemoryEfficiency    float64  `yaml:"memory_efficiency"`
	AttentionEfficiency float64  `yaml:"attention_efficiency"`
	ComputeEfficiency   float64  `yaml:"compute_efficiency"`
	StepOverheadMS      *float64 `yaml:"step_overhead_ms"`
	SeqOverheadMS       *float64 `yaml:"seq_overhead_ms"`
	LinkGBs             float64  `yaml:"link_gb_s"`
	// Serving overrides.
	MaxPrefillTokens   *int     `yaml:"max_prefill_tokens"`
	WaitingServedRatio *float64 `yaml:"waiting_served_ratio"`
	MaxWaitingTokens   *int     `yaml:"max_waiting_tokens"`
	FrontendOverheadMS *float64 `yaml:"frontend_overhead_ms"`
}

// LoadProfileFile reads a profile file (ProfileFile's YAML; unknown keys
// are errors).
func LoadProfileFile(path string) (Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("sim: profile file: %w", err)
	}
	var f ProfileFile
	if err := strictyaml.Decode(b, &f); err != nil {
		return Profile{}, fmt.Errorf("sim: profile file %s: %w", path, err)
	}
	if f.Spec == "" {
		return Profile{}, fmt.Errorf("sim: profile file %s: no spec (e.g. spec: llama-2-7b@4xa10g)", path)
	}
	p, err := LookupProfile(f.Spec)
	if err != nil {
		return Profile{}, err
	}
	ms := func(v *float64) time.Duration { return time.Duration(*v * float64(time.Millisecond)) }
	if f.Replicas != 0 {
		p.Replicas = f.Replicas
	}
	if f.BytesPerValue != 0 {
		p.Model.BytesPerValue = f.BytesPerValue
	}
	for _, o := range []struct {
		v   float64
		dst *float64
	}{{f.MemoryEfficiency, &p.MemoryEfficiency}, {f.AttentionEfficiency, &p.AttentionEfficiency},
		{f.ComputeEfficiency, &p.ComputeEfficiency}, {f.LinkGBs * 1e9, &p.LinkBytesPerS}} {
		if o.v != 0 {
			*o.dst = o.v
		}
	}
	if f.StepOverheadMS != nil {
		p.StepOverhead = ms(f.StepOverheadMS)
	}
	if f.SeqOverheadMS != nil {
		p.SeqOverhead = ms(f.SeqOverheadMS)
	}
	if f.FrontendOverheadMS != nil {
		p.FrontendOverhead = ms(f.FrontendOverheadMS)
	}
	if f.MaxPrefillTokens != nil {
		p.MaxPrefillTokens = *f.MaxPrefillTokens
	}
	if f.WaitingServedRatio != nil {
		p.WaitingServedRatio = *f.WaitingServedRatio
	}
	if f.MaxWaitingTokens != nil {
		p.MaxWaitingTokens = *f.MaxWaitingTokens
	}
	p.Name = f.Spec + " (" + path + ")"
	if err := p.Validate(); err != nil {
		return Profile{}, fmt.Errorf("sim: profile file %s: %w", path, err)
	}
	return p, nil
}

// ResolveProfile returns the profile of a profile file when file is set
// (a name other than "" or DefaultProfile as well is an error), else
// LookupProfile(name).
func ResolveProfile(name, file string) (Profile, error) {
	if file != "" {
		if name != "" && name != DefaultProfile {
			return Profile{}, fmt.Errorf("sim: give a profile name or a profile file, not both")
		}
		return LoadProfileFile(file)
	}
	return LookupProfile(name)
}

// tpChoices names the tensor-parallel degrees up to devices that divide
// heads, as a spec suffix: ":tp1, :tp2 or :tp4".
func tpChoices(heads, devices int) string {
	var c []string
	for tp := 1; tp <= devices; tp++ {
		if heads%tp == 0 && devices%tp == 0 {
			c = append(c, fmt.Sprintf(":tp%d", tp))
		}
	}
	if len(c) == 0 {
		return "fewer devices"
	}
	if len(c) == 1 {
		return c[0]
	}
	return strings.Join(c[:len(c)-1], ", ") + " or " + c[len(c)-1]
}
