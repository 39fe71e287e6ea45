package workload

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Weighted is one prompt set of a mix: a named workload and its share of
// the requests.
type Weighted struct {
	// Name tags every prompt drawn from the set (Prompt.Set); it must be
	// unique within the mix and not empty.
	Name string
	// Weight is the set's relative share: request i comes from this set
	// with probability Weight / Σ Weight. Weights need not sum to 1 (80
	// and 20 work as well as 0.8 and 0.2).
	Weight float64
	// Options describes the set's prompts exactly as for NewSource. A nil
	// Tokenizer means the mix's; an empty SystemPrompt means the mix's.
	Options Options
}

// mixSet is one built set of a mix.
type mixSet struct {
	name string
	src  Source
}

// mixSource draws each request's set by weight, then its prompt from that
// set.
type mixSource struct {
	seed uint64
	sets []mixSet
	// cum[k] is the sum of the normalized weights of sets 0..k; the last
	// is exactly 1.
	cum []float64
}

var _ Source = (*mixSource)(nil)

// streamMix is the random stream that picks a request's set; it is
// independent of the input and output streams of every set.
const streamMix uint64 = 0x6d69782d2d2d2d31 // "mix----1"

// NewMix returns a Source that mixes several prompt sets.
//
// Request i draws its set from (seed, i) alone, with probability
// weight/Σweights, so the choice does not depend on call order or
// concurrency. It then returns that set's Prompt(i), with Set set to the
// set's name: each set is indexed by the run's request number i, not by a
// per-set counter, which keeps Prompt(i) a pure function of i. A set's
// lengths and texts are therefore those of request i of the same set run
// alone; for a prompt file, the line used is i mod n, so lines are visited
// in file order but with the gaps left by requests that went to other sets.
//
// tok (nil: DefaultTokenizer) is used by sets whose Options carry no
// Tokenizer; system (may be "") is the system prompt of every set whose
// Options carry none. Each set keeps its own Options.Seed: a caller that
// wants one seed for the run passes it to every set, as the CLI does.
//
// Errors name the set: `prompt set "docs": --mean-input-tokens must not be
// negative (got -1)`. The returned Source is safe for concurrent use.
func NewMix(sets []Weighted, seed uint64, tok *Tokenizer, system string) (Source, error) {
	if err := validateMix(sets); err != nil {
		return nil, err
	}
	for _, w := range sets {
		if err := w.Options.Validate(); err != nil {
			return nil, fmt.Errorf("prompt set %q: %w", w.Name, err)
		}
	}
	if tok == nil {
		var err error
		if tok, err = NewTokenizer(""); err != nil {
			return nil, err
		}
	}
	m := &mixSource{seed: seed, sets: make([]mixSet, len(sets)), cum: make([]float64, len(sets))}
	var total float64
	for _, w := range sets {
		total += w.Weight
	}
	var acc float64
	for k, w := range sets {
		opts := w.Options
		if opts.Tokenizer == nil {
			opts.Tokenizer = tok
		}
		if opts.SystemPrompt == "" {
			opts.SystemPrompt = system
		}
		src, err := NewSource(opts)
		if err != nil {
			return nil, fmt.Errorf("prompt set %q: %w", w.Name, err)
		}
		m.sets[k] = mixSet{name: w.Name, src: src}
		acc += w.Weight
		m.cum[k] = acc / total
	}
	m.cum[len(m.cum)-1] = 1 // no rounding gap at the top
	return m, nil
}

// validateMix checks the names and weights of a mix.
func validateMix(sets []Weighted) error {
	if len(sets) == 0 {
		return errors.New("a prompt mix needs at least one prompt set")
	}
	seen := make(map[string]bool, len(sets))
	var total float64
	for k, w := range sets {
		switch {
		case w.Name == "":
			return fmt.Errorf("prompt set %d has no name", k+1)
		case seen[w.Name]:
			return fmt.Errorf("prompt set %q appears twice; names must be unique", w.Name)
		case math.IsNaN(w.Weight) || math.IsInf(w.Weight, 0) || w.Weight <= 0:
			return fmt.Errorf("prompt set %q: weight must be a positive number (got %g)", w.Name, w.Weight)
		}
		seen[w.Name] = true
		total += w.Weight
	}
	if math.IsInf(total, 0) {
		return errors.New("prompt set weights are too large: their sum overflows")
	}
	return nil
}

// Prompt returns request i's prompt: its set is drawn by weight from
// (seed, i), and the prompt is that set's Prompt(i) tagged with the set's
// name.
func (m *mixSource) Prompt(i int64) Prompt {
	k := m.pick(i)
	p := m.sets[k].src.Prompt(i)
	p.Set = m.sets[k].name
	return p
}

// pick returns the index of request i's set.
func (m *mixSource) pick(i int64) int {
	if len(m.sets) == 1 {
		return 0
	}
	u := unitFloat(mix64(mix64(m.seed^streamMix) ^ uint64(i)))
	// Set k owns [cum[k-1], cum[k]): the first k with cum[k] > u.
	k := sort.Search(len(m.cum), func(k int) bool { return m.cum[k] > u })
	return min(k, len(m.sets)-1)
}

// unitFloat maps 64 random bits to a float64 uniform in [0, 1).
func unitFloat(x uint64) float64 {
	return float64(x>>11) / (1 << 53)
}
