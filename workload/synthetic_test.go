package workload

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var encodings = []string{"cl100k_base", "o200k_base", "p50k_base", "r50k_base"}

// newSynthetic returns a synthetic source for the named encoding.
func newSynthetic(t testing.TB, encoding string) *syntheticSource {
	t.Helper()
	tok, err := NewTokenizer(encoding)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSyntheticSource(tok, 1, 1, newLengthDist(1, 0), lengthDist{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkExact builds an n-token prompt and reports an error unless a full
// count of it is n. It may be called from several goroutines.
func checkExact(t *testing.T, s *syntheticSource, n, maxTokens int, r *rand.Rand) bool {
	t.Helper()
	text := s.build(n, maxTokens, s.tag(int64(n)), r)
	if got := s.tok.Count(text); got != n {
		t.Errorf("%s: build(%d, %d) has %d tokens:\n%q", s.tok.Name(), n, maxTokens, got, text)
		return false
	}
	return true
}

// checkExactAll runs check(k) for k in [0, n) on every CPU (counting whole
// prompts is slow under the race detector) and stops at the first failure.
func checkExactAll(n int, check func(k int) bool) {
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				if !check(k) {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
}

func TestSyntheticExactLengths(t *testing.T) {
	s := newSynthetic(t, DefaultTokenizer)
	// Every length from 1 to 2000, alternating instructions with and
	// without an output length. With -short or -race: every length to 100,
	// then every 7th.
	var lengths []int
	for n := 1; n <= 2000; n++ {
		if n <= 100 || n%7 == 0 || !(testing.Short() || raceEnabled) {
			lengths = append(lengths, n)
		}
	}
	checkExactAll(len(lengths), func(k int) bool {
		n := lengths[k]
		return checkExact(t, s, n, (n%3)*75, rand.New(rand.NewPCG(1, uint64(n))))
	})
	// Random lengths, and one far longer than the corpus (about 3,500
	// tokens), which must draw lines many times over.
	checkExactAll(40, func(k int) bool {
		r := rand.New(rand.NewPCG(2, uint64(k)))
		return checkExact(t, s, 1+r.IntN(16000), r.IntN(2000), r)
	})
	checkExact(t, s, 100_000, 128, rand.New(rand.NewPCG(3, 0)))
}

func TestSyntheticExactLengthsAllEncodings(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc, func(t *testing.T) {
			s := newSynthetic(t, enc)
			// Around the instruction threshold, then random lengths.
			checkExactAll(80, func(k int) bool {
				return checkExact(t, s, k+1, 150, rand.New(rand.NewPCG(4, uint64(k))))
			})
			checkExactAll(30, func(k int) bool {
				r := rand.New(rand.NewPCG(5, uint64(k)))
				return checkExact(t, s, 1+r.IntN(4000), r.IntN(500), r)
			})
		})
	}
}

func TestSyntheticInstruction(t *testing.T) {
	s := newSynthetic(t, DefaultTokenizer)
	r := rand.New(rand.NewPCG(5, 6))
	tag := s.tag(7)
	line := strings.Join(tag, " ") + "\n"
	if got := s.build(550, 150, tag, r); !strings.HasPrefix(got, line+instruction(150)) ||
		!strings.Contains(got, "with 150 output tokens") {
		t.Errorf("a 550-token prompt lacks the tag line and the instruction:\n%.120q", got)
	}
	if got := s.build(550, 0, tag, r); !strings.HasPrefix(got, line+instruction(0)) || strings.Contains(got, "output tokens") {
		t.Errorf("without max_tokens, the instruction should not name a count:\n%.120q", got)
	}
	// The instruction is about 20 tokens: a 10-token prompt is text only,
	// after as much of the tag as fits in half of it.
	if got := s.build(10, 150, tag, r); strings.Contains(got, instructionHead) || !strings.HasPrefix(got, tag[0]+" ") {
		t.Errorf("a 10-token prompt should start with the tag and have no instruction: %q", got)
	}
}

// Prompts must not share prefixes: a server's prefix cache would then
// serve them from cache and flatter its prefill time. Within a run and
// across two sources with the same Seed (two runs with default options),
// no two prompts share their first 16 tokens or their first 64 bytes, and
// few share even their first word.
func TestSyntheticPromptsDiffer(t *testing.T) {
	opts := Options{MeanInputTokens: 550, StddevInputTokens: AutoStddev, MeanOutputTokens: 150, Seed: 1}
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	firstWords := map[string]int{}
	const n = 1000
	for run := range 2 {
		src := newTestSource(t, opts)
		for i := range int64(n) {
			text := src.Prompt(i).Text
			who := fmt.Sprintf("run %d prompt %d", run, i)
			for _, key := range []string{"b:" + text[:64], "t:" + tok.Decode(tok.Encode(text)[:16])} {
				if other, ok := seen[key]; ok {
					t.Fatalf("%s and %s share a prefix %q", other, who, key)
				}
				seen[key] = who
			}
			firstWords[strings.Fields(text)[0]]++
		}
	}
	for w, c := range firstWords {
		if c > 12 {
			t.Errorf("%d of %d prompts start with %q", c, 2*n, w)
		}
	}
}

// TestPromptSeedReproduces: the same (Seed, PromptSeed) give the same
// texts; another PromptSeed changes texts but not lengths.
func TestPromptSeedReproduces(t *testing.T) {
	opts := Options{MeanInputTokens: 300, StddevInputTokens: AutoStddev, MeanOutputTokens: 100, StddevOutputTokens: AutoStddev, Seed: 9, PromptSeed: 77}
	a, b := newTestSource(t, opts), newTestSource(t, opts)
	opts.PromptSeed = 78
	c := newTestSource(t, opts)
	for i := range int64(50) {
		pa, pb, pc := a.Prompt(i), b.Prompt(i), c.Prompt(i)
		if pa != pb {
			t.Fatalf("same prompt seed, Prompt(%d) differs", i)
		}
		if pa.Text == pc.Text || pa.InputTokens != pc.InputTokens || pa.MaxTokens != pc.MaxTokens {
			t.Fatalf("prompt seeds 77 and 78, Prompt(%d): want other texts of the same lengths:\n%+v\n%+v", i, pa, pc)
		}
	}
}

func TestCorpus(t *testing.T) {
	for k, line := range strings.Split(sonnets, "\n") {
		for _, c := range []byte(line) {
			if c < ' ' || c > '~' {
				t.Fatalf("corpus line %d has byte %#x; the corpus must be printable ASCII", k+1, c)
			}
		}
		if line != strings.TrimSpace(line) {
			t.Fatalf("corpus line %d has leading or trailing space: %q", k+1, line)
		}
	}
	// Every encoding can build from it (newSyntheticSource checks the
	// line-by-line additivity and partial lines).
	for _, enc := range encodings {
		s := newSynthetic(t, enc)
		if len(s.lines) < 300 {
			t.Fatalf("%s: %d corpus lines", enc, len(s.lines))
		}
	}
}

func BenchmarkSyntheticPrompt(b *testing.B) {
	for _, n := range []int{550, 4000} {
		b.Run("tokens="+strconv.Itoa(n), func(b *testing.B) {
			src := newTestSource(b, Options{MeanInputTokens: n, MeanOutputTokens: 150, Seed: 1})
			b.ReportAllocs()
			var i int64
			for b.Loop() {
				src.Prompt(i)
				i++
			}
		})
	}
}
