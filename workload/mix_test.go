package workload

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// newTestMix returns NewMix(sets, seed, shared tokenizer, system) or fails
// the test.
func newTestMix(t testing.TB, sets []Weighted, seed uint64, system string) Source {
	t.Helper()
	m, err := NewMix(sets, seed, nil, system)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// chatDocs is an 80/20 mix of short chat prompts and 6000-token documents.
func chatDocs() []Weighted {
	return []Weighted{
		{Name: "chat", Weight: 80, Options: Options{MeanInputTokens: 200, StddevInputTokens: 50, MeanOutputTokens: 150, StddevOutputTokens: 20, Seed: 1, PromptSeed: 1}},
		{Name: "docs", Weight: 20, Options: Options{MeanInputTokens: 6000, MeanOutputTokens: 400, Seed: 1, PromptSeed: 1}},
	}
}

func TestMixWeights(t *testing.T) {
	m := newTestMix(t, chatDocs(), 1, "")
	// 10,000 draws at p = 0.2: the standard deviation of the docs count is
	// sqrt(10000·0.2·0.8) = 40; allow 5 of them.
	const n = 10_000
	docs := 0
	for i := range int64(n) {
		if m.(*mixSource).pick(i) == 1 {
			docs++
		}
	}
	if math.Abs(float64(docs)-0.2*n) > 5*40 {
		t.Errorf("%d of %d requests from docs, want about %d", docs, n, n/5)
	}
	// Three sets with unnormalized weights.
	three := []Weighted{
		{Name: "a", Weight: 0.5, Options: Options{Prompt: "a"}},
		{Name: "b", Weight: 0.25, Options: Options{Prompt: "b"}},
		{Name: "c", Weight: 0.25, Options: Options{Prompt: "c"}},
	}
	m = newTestMix(t, three, 9, "")
	count := map[string]int{}
	for i := range int64(n) {
		p := m.Prompt(i)
		if p.Text != p.Set {
			t.Fatalf("Prompt(%d) = %+v: text from another set", i, p)
		}
		count[p.Set]++
	}
	for name, want := range map[string]float64{"a": 0.5, "b": 0.25, "c": 0.25} {
		sd := math.Sqrt(n * want * (1 - want))
		if got := float64(count[name]); math.Abs(got-want*n) > 5*sd {
			t.Errorf("set %s: %v of %d, want about %v", name, got, n, want*n)
		}
	}
}

func TestMixSetLengths(t *testing.T) {
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMix(t, chatDocs(), 3, "")
	seen := map[string]int{}
	for i := range int64(200) {
		p := m.Prompt(i)
		seen[p.Set]++
		switch p.Set {
		case "docs":
			if p.InputTokens != 6000 || p.MaxTokens != 400 {
				t.Fatalf("Prompt(%d) from docs: %d input tokens, max_tokens %d; want 6000 and 400", i, p.InputTokens, p.MaxTokens)
			}
			if seen["docs"] <= 3 { // counting 6000 tokens is slow under -race
				if got := tok.Count(p.Text); got != 6000 {
					t.Fatalf("Prompt(%d) from docs counts %d tokens, want 6000", i, got)
				}
			}
		case "chat":
			if p.InputTokens > 1000 || p.InputTokens < 1 {
				t.Fatalf("Prompt(%d) from chat has %d input tokens", i, p.InputTokens)
			}
		default:
			t.Fatalf("Prompt(%d).Set = %q", i, p.Set)
		}
	}
	if seen["docs"] == 0 || seen["chat"] == 0 {
		t.Fatalf("200 draws: %v", seen)
	}
	// A set's prompt i is the prompt i of the same set run alone.
	alone := newTestSource(t, chatDocs()[1].Options)
	for i := range int64(50) {
		if p := m.Prompt(i); p.Set == "docs" {
			q := alone.Prompt(i)
			q.Set = "docs"
			if p != q {
				t.Fatalf("Prompt(%d) from docs differs from the docs set alone", i)
			}
			break
		}
	}
}

func TestMixDeterminism(t *testing.T) {
	a, b := newTestMix(t, chatDocs(), 5, ""), newTestMix(t, chatDocs(), 5, "")
	c := newTestMix(t, chatDocs(), 6, "")
	// Order does not matter: b is asked backwards.
	want := make([]Prompt, 100)
	for i := range want {
		want[i] = a.Prompt(int64(i))
	}
	for i := len(want) - 1; i >= 0; i-- {
		if got := b.Prompt(int64(i)); got != want[i] {
			t.Fatalf("Prompt(%d) depends on call order", i)
		}
	}
	differ := 0
	for i := range want {
		if c.Prompt(int64(i)).Set != want[i].Set {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seeds 5 and 6 chose the same sets for 100 requests")
	}
}

func TestMixConcurrent(t *testing.T) {
	m := newTestMix(t, chatDocs(), 7, "Be brief.")
	ref := newTestMix(t, chatDocs(), 7, "Be brief.")
	const n = 100
	want := make([]Prompt, n)
	for i := range want {
		want[i] = ref.Prompt(int64(i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for _, i := range r.Perm(n) {
				if got := m.Prompt(int64(i)); got != want[i] {
					t.Errorf("goroutine %d: Prompt(%d) differs from the sequential one", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSystemPrompt(t *testing.T) {
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	const sys = "You are a helpful assistant. Answer in one paragraph."
	// A single source.
	src := newTestSource(t, Options{MeanInputTokens: 100, Seed: 1, SystemPrompt: sys, Tokenizer: tok})
	p := src.Prompt(3)
	if p.System != sys || p.SystemTokens != tok.Count(sys) || p.InputTokens != 100 || p.Set != "" {
		t.Fatalf("Prompt(3) = %+v, want the system prompt (%d tokens) beside 100 tokens of text", p, tok.Count(sys))
	}
	if tok.Count(p.Text) != 100 || strings.Contains(p.Text, sys) {
		t.Fatal("the system prompt leaked into Text")
	}
	// No system prompt: none carried.
	if p := newTestSource(t, Options{Prompt: "hi"}).Prompt(0); p.System != "" || p.SystemTokens != 0 {
		t.Fatalf("Prompt(0) = %+v, want no system prompt", p)
	}
	// A mix: the mix's system prompt, unless a set has its own.
	sets := chatDocs()
	sets[1].Options.SystemPrompt = "Summarise."
	m := newTestMix(t, sets, 1, sys)
	for i := range int64(50) {
		p := m.Prompt(i)
		want := sys
		if p.Set == "docs" {
			want = "Summarise."
		}
		if p.System != want || p.SystemTokens != tok.Count(want) {
			t.Fatalf("Prompt(%d) from %s: system %q (%d tokens), want %q", i, p.Set, p.System, p.SystemTokens, want)
		}
	}
}

func TestMixErrors(t *testing.T) {
	ok := Options{MeanInputTokens: 10}
	tests := []struct {
		name string
		sets []Weighted
		want string
	}{
		{"no sets", nil, "a prompt mix needs at least one prompt set"},
		{"no name", []Weighted{{Weight: 1, Options: ok}}, "prompt set 1 has no name"},
		{"duplicate", []Weighted{{Name: "a", Weight: 1, Options: ok}, {Name: "a", Weight: 1, Options: ok}},
			`prompt set "a" appears twice; names must be unique`},
		{"zero weight", []Weighted{{Name: "a", Weight: 0, Options: ok}}, `prompt set "a": weight must be a positive number (got 0)`},
		{"negative weight", []Weighted{{Name: "a", Weight: -1, Options: ok}}, `prompt set "a": weight must be a positive number (got -1)`},
		{"NaN weight", []Weighted{{Name: "a", Weight: math.NaN(), Options: ok}}, `prompt set "a": weight must be a positive number (got NaN)`},
		{"infinite weight", []Weighted{{Name: "a", Weight: math.Inf(1), Options: ok}}, `prompt set "a": weight must be a positive number (got +Inf)`},
		{"overflow", []Weighted{{Name: "a", Weight: math.MaxFloat64, Options: ok}, {Name: "b", Weight: math.MaxFloat64, Options: ok}},
			"prompt set weights are too large: their sum overflows"},
		{"bad options", []Weighted{{Name: "a", Weight: 1, Options: ok}, {Name: "docs", Weight: 1, Options: Options{MeanInputTokens: -1}}},
			`prompt set "docs": --mean-input-tokens must not be negative (got -1)`},
		{"no prompts", []Weighted{{Name: "docs", Weight: 1}}, `prompt set "docs": no prompts: set --mean-input-tokens, --prompt or --prompt-file`},
		{"missing file", []Weighted{{Name: "f", Weight: 1, Options: Options{PromptFile: "/nonexistent/p.jsonl"}}},
			`prompt set "f": reading prompt file: open /nonexistent/p.jsonl: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMix(tt.sets, 1, nil, "")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("NewMix() error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func BenchmarkMixPick(b *testing.B) {
	m := newTestMix(b, chatDocs(), 1, "").(*mixSource)
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		m.pick(i)
		i++
	}
}
