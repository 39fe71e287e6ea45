package analysis

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/llmload/llmload/internal/strictyaml"
)

//go:embed prices.yaml
var pricesYAML []byte

// PricesYAML returns the built-in price table's text, to copy and edit.
func PricesYAML() []byte { return slices.Clone(pricesYAML) }

// PriceTable lists token prices by model (prices.yaml; docs/planning.md).
type PriceTable struct {
	Models []ModelPrice `yaml:"models"`
}

// ModelPrice is one model's token prices, dollars per 1M tokens.
type ModelPrice struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name,omitempty"`
	// InputPer1M and OutputPer1M are the list prices per 1M input and
	// output tokens.
	InputPer1M  float64 `yaml:"input_per_1m" json:"input_per_1m"`
	OutputPer1M float64 `yaml:"output_per_1m" json:"output_per_1m"`
	// CachedInputPer1M is the price per 1M input tokens read from the
	// prompt cache; nil: charged as input.
	CachedInputPer1M *float64 `yaml:"cached_input_per_1m" json:"cached_input_per_1m,omitempty"`
	// BatchDiscount is the share batch inference takes off every price
	// (0.5: half price); 0 when there is none.
	BatchDiscount float64 `yaml:"batch_discount" json:"batch_discount,omitempty"`
	// Batch tells that BatchDiscount was applied (Batched).
	Batch bool   `yaml:"-" json:"batch,omitempty"`
	Note  string `yaml:"note" json:"note,omitempty"`
}

// Check returns every problem with the prices, joined.
func (p ModelPrice) Check() error {
	var errs []error
	bad := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s %g: want a number ≥ 0", name, v))
		}
	}
	bad("input price per 1M", p.InputPer1M)
	bad("output price per 1M", p.OutputPer1M)
	if p.CachedInputPer1M != nil {
		bad("cached-input price per 1M", *p.CachedInputPer1M)
	}
	if !(p.BatchDiscount >= 0 && p.BatchDiscount < 1) {
		errs = append(errs, fmt.Errorf("batch discount %g: want a share in [0, 1)", p.BatchDiscount))
	}
	return errors.Join(errs...)
}

// Batched returns the prices of batch inference: every price less
// BatchDiscount. An error when the model has no batch discount.
func (p ModelPrice) Batched() (ModelPrice, error) {
	if p.BatchDiscount == 0 {
		return p, fmt.Errorf("price %s: no batch_discount to apply", p.label())
	}
	if p.Batch {
		return p, nil
	}
	k := 1 - p.BatchDiscount
	q := p
	q.InputPer1M, q.OutputPer1M = p.InputPer1M*k, p.OutputPer1M*k
	if p.CachedInputPer1M != nil {
		c := *p.CachedInputPer1M * k
		q.CachedInputPer1M = &c
	}
	q.Batch = true
	return q, nil
}

func (p ModelPrice) label() string {
	if p.ID != "" {
		return p.ID
	}
	return "given"
}

// CachedInput is the price per 1M cached input tokens.
func (p ModelPrice) CachedInput() float64 {
	if p.CachedInputPer1M != nil {
		return *p.CachedInputPer1M
	}
	return p.InputPer1M
}

// Cost is what a request of input tokens (cached of them from the prompt
// cache) and output tokens costs, dollars.
func (p ModelPrice) Cost(input, cached, output float64) float64 {
	cached = min(cached, input)
	return ((input-cached)*p.InputPer1M + cached*p.CachedInput() + output*p.OutputPer1M) / 1e6
}

// BuiltinPrices returns the embedded price table.
func BuiltinPrices() *PriceTable {
	t, err := ParsePrices(pricesYAML)
	if err != nil {
		panic("analysis: built-in prices.yaml: " + err.Error())
	}
	return t
}

// ParsePrices parses a price table. Unknown keys, missing ids, duplicate
// ids and impossible prices are errors, all reported at once.
func ParsePrices(b []byte) (*PriceTable, error) {
	var t PriceTable
	if err := strictyaml.Decode(b, &t); err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for i, m := range t.Models {
		switch {
		case m.ID == "":
			errs = append(errs, fmt.Errorf("price table: model %d has no id", i+1))
		case seen[normID(m.ID)]:
			errs = append(errs, fmt.Errorf("price table: model %q twice", m.ID))
		}
		seen[normID(m.ID)] = true
		if err := m.Check(); err != nil {
			errs = append(errs, fmt.Errorf("price table: model %q: %w", m.ID, err))
		}
	}
	if len(t.Models) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("price table: no models"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &t, nil
}

// normID folds case and the separators -, _ and . away.
func normID(s string) string {
	return strings.NewReplacer("-", "", "_", "", ".", "", " ", "").Replace(strings.ToLower(s))
}

// Model returns the prices of id (case and the separators -, _, . do not
// matter), or an error listing the ids there are.
func (t *PriceTable) Model(id string) (ModelPrice, error) {
	ids := make([]string, 0, len(t.Models))
	for _, m := range t.Models {
		if normID(m.ID) == normID(id) {
			return m, nil
		}
		ids = append(ids, m.ID)
	}
	return ModelPrice{}, fmt.Errorf("unknown price model %q (known: %s; or --price-input and --price-output)", id, strings.Join(ids, ", "))
}

// PriceSpec is how a token price is asked for: a model of a price table
// and/or explicit prices (which override the model's), and batch pricing.
type PriceSpec struct {
	// Table is a price table's YAML; nil: the built-in one.
	Table []byte
	// Model is an id of the table; empty: the prices are all explicit.
	Model string
	// Input, Output, CachedInput and BatchDiscount set or override the
	// model's (nil: keep).
	Input, Output, CachedInput, BatchDiscount *float64
	// Batch applies the batch discount.
	Batch bool
}

// Resolve returns the token price spec asks for; nil, nil when it asks
// for none. Errors: an unknown model, half a price, a bad value, batch
// pricing without a discount, a table or batch flags with no price.
func (s PriceSpec) Resolve() (*ModelPrice, error) {
	explicit := s.Input != nil || s.Output != nil || s.CachedInput != nil
	if s.Model == "" && !explicit {
		if s.Table != nil || s.Batch || s.BatchDiscount != nil {
			return nil, errors.New("a price table, batch pricing or a batch discount needs a token price: a price model, or input and output prices")
		}
		return nil, nil
	}
	var mp ModelPrice
	if s.Model != "" {
		tab := BuiltinPrices()
		if s.Table != nil {
			var err error
			if tab, err = ParsePrices(s.Table); err != nil {
				return nil, err
			}
		}
		var err error
		if mp, err = tab.Model(s.Model); err != nil {
			return nil, err
		}
	} else {
		if s.Input == nil || s.Output == nil {
			return nil, errors.New("token prices need a price model, or both an input and an output price")
		}
		mp.ID = "given"
	}
	if s.Input != nil {
		mp.InputPer1M = *s.Input
	}
	if s.Output != nil {
		mp.OutputPer1M = *s.Output
	}
	if s.CachedInput != nil {
		v := *s.CachedInput
		mp.CachedInputPer1M = &v
	}
	if s.BatchDiscount != nil {
		mp.BatchDiscount = *s.BatchDiscount
	}
	if err := mp.Check(); err != nil {
		return nil, fmt.Errorf("token prices: %w", err)
	}
	if s.Batch {
		b, err := mp.Batched()
		if err != nil {
			return nil, fmt.Errorf("batch pricing: %w (give a batch discount)", err)
		}
		mp = b
	}
	return &mp, nil
}
