package analysis

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
)

func TestParseSLO(t *testing.T) {
	good := []struct {
		in, canon string
		limit     float64 // base unit
	}{
		{"ttft<=500ms", "ttft<=500ms", 0.5},              // the common form
		{"tpot<100ms", "tpot<100ms", 0.1},                // strict operator
		{"e2e<=10s", "e2e<=10s", 10},                     // seconds
		{"itl<=200ms", "itl<=200ms", 0.2},                // max gap per request
		{"output_speed>=20", "output_speed>=20", 20},     // tokens/s, bare
		{" TTFT <= 0.5 s ", "ttft<=0.5s", 0.5},           // spaces and case are forgiven
		{"ttft<=250us", "ttft<=250us", 0.00025},          // microseconds
		{"ttft<=250µs", "ttft<=250µs", 0.00025},          // µ spelling
		{"e2e>1e3ms", "e2e>1000ms", 1},                   // exponent, canonicalized
		{"output_speed>12.5", "output_speed>12.5", 12.5}, // fractional
	}
	for _, tt := range good {
		s, err := ParseSLO(tt.in)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tt.in, err)
			continue
		}
		if s.String() != tt.canon || math.Abs(s.limit-tt.limit) > 1e-15 {
			t.Errorf("ParseSLO(%q) = %q limit %g, want %q limit %g", tt.in, s, s.limit, tt.canon, tt.limit)
		}
	}
	bad := []struct {
		in   string
		want []string // substrings of the error
	}{
		{"ttft<=500", []string{`"ttft<=500"`, "needs a unit (us, ms or s)", "500ms", "ambiguous"}}, // bare time
		{"ttfb<=500ms", []string{`unknown metric "ttfb"`, "ttft, tpot, e2e, itl", "output_speed"}},
		{"ttft=500ms", []string{`operator "="`, "<=, <, >=, >"}},
		{"ttft==500ms", []string{`operator "=="`}},
		{"ttft 500ms", []string{"no comparison operator", "<=, <, >=, >", "e.g. ttft<=500ms"}},
		{"<=500ms", []string{"no metric"}},
		{"ttft<=", []string{"no value"}},
		{"ttft<=500min", []string{`unknown time unit "min"`}},
		{"ttft<=fast", []string{`"fast" is not a number`}},
		{"ttft<=-1ms", []string{"negative"}},
		{"ttft<=NaNms", []string{"not a number"}},
		{"output_speed>=20tok/s", []string{`unit "tok/s"`, "bare number"}},
		{"ttft<=1ms<=2ms", []string{"more than one operator"}},
		{"", []string{"no comparison operator"}},
	}
	for _, tt := range bad {
		_, err := ParseSLO(tt.in)
		if err == nil {
			t.Errorf("ParseSLO(%q): no error", tt.in)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseSLO(%q) error %q lacks %q", tt.in, err, w)
			}
		}
	}
}

func TestSLOText(t *testing.T) {
	// Flags and YAML/JSON go through UnmarshalText; MarshalText writes the
	// canonical form back.
	var v struct{ SLOs []SLO }
	if err := json.Unmarshal([]byte(`{"SLOs":["ttft <= 500ms","output_speed>=20"]}`), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"SLOs":["ttft\u003c=500ms","output_speed\u003e=20"]}` { // encoding/json escapes < and >
		t.Errorf("round trip: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"SLOs":["ttft<=5"]}`), &v); err == nil || !strings.Contains(err.Error(), "unit") {
		t.Errorf("want a unit error, got %v", err)
	}
	if _, err := ParseSLOs([]string{"ttft<=1", "x<1s", "e2e<1s"}); err == nil ||
		!strings.Contains(err.Error(), `"ttft<=1"`) || !strings.Contains(err.Error(), `"x<1s"`) {
		t.Errorf("ParseSLOs should report every bad one: %v", err)
	}
	if (SLO{}).Met(&record.Record{}) || (SLO{}).String() != "" {
		t.Error("the zero SLO is met by nothing and prints as empty")
	}
}

// sloRecords are crafted requests; times in seconds.
//
//	A stream ok: TTFT 0.2, chunks 0.2 0.3 0.6 (max gap 0.3), E2E 1.0, 9 tokens → TPOT 0.1, speed 10
//	B stream ok: TTFT 0.625, chunks 0.625 0.675 (max gap 0.05), E2E 0.875, 6 tokens → TPOT 0.05, speed 20
//	C stream ok, one token: TTFT 0.1, chunk 0.1, E2E 0.1 → no TPOT, no ITL
//	D body ok (not streamed): E2E 0.4, 20 tokens → TTFT = E2E 0.4, no TPOT, no ITL
//	E failed (timeout) after fast chunks: TTFT 0.1
//	W warm-up, perfect
func sloRecords() []record.Record {
	return []record.Record{
		{ID: 0, Stream: true, TTFTS: 0.2, ChunkTimesS: []float64{0.2, 0.3, 0.6}, E2ES: 1.0, OutputTokens: 9},
		{ID: 1, Stream: true, TTFTS: 0.625, ChunkTimesS: []float64{0.625, 0.675}, E2ES: 0.875, OutputTokens: 6},
		{ID: 2, Stream: true, TTFTS: 0.1, ChunkTimesS: []float64{0.1}, E2ES: 0.1, OutputTokens: 1},
		{ID: 3, Stream: false, E2ES: 0.4, OutputTokens: 20},
		{ID: 4, Stream: true, TTFTS: 0.1, ChunkTimesS: []float64{0.1, 0.11}, E2ES: 2, OutputTokens: 2,
			ErrorKind: llm.KindTimeout},
		{ID: 5, Warmup: true, Stream: true, TTFTS: 0.01, ChunkTimesS: []float64{0.01, 0.02}, E2ES: 0.03, OutputTokens: 3},
	}
}

func TestSLOMet(t *testing.T) {
	recs := sloRecords()
	tests := []struct {
		slo  string
		want [5]bool // A B C D E
	}{
		{"ttft<=500ms", [5]bool{true, false, true, true, false}},        // B 0.625 too slow; E failed
		{"ttft<200ms", [5]bool{false, false, true, false, false}},       // A exactly 0.2 is not < 0.2
		{"ttft<=200ms", [5]bool{true, false, true, false, false}},       // … but is <= 0.2
		{"tpot<=100ms", [5]bool{true, true, false, false, false}},       // C, D have no TPOT: strict
		{"tpot<100ms", [5]bool{false, true, false, false, false}},       // A's TPOT is 0.1
		{"output_speed>=20", [5]bool{false, true, false, false, false}}, // A 10, B 20 tokens/s
		{"itl<=100ms", [5]bool{false, true, false, false, false}},       // A's max gap 0.3
		{"e2e<=1s", [5]bool{true, true, true, true, false}},             // E failed: never
		{"e2e>0.5s", [5]bool{true, true, false, false, false}},          // the other direction works too
	}
	for _, tt := range tests {
		s := MustParseSLO(tt.slo)
		for i := range 5 {
			if got := s.Met(&recs[i]); got != tt.want[i] {
				t.Errorf("%s on %c: %v, want %v", tt.slo, 'A'+i, got, tt.want[i])
			}
		}
	}
	if MustParseSLO("ttft<=1s").Met(nil) {
		t.Error("nil record met an SLO")
	}
}

func TestGoodput(t *testing.T) {
	recs := sloRecords()
	slos := []SLO{MustParseSLO("ttft<=500ms"), MustParseSLO("e2e<=1s"), MustParseSLO("ttft <= 500ms")}
	g := Goodput(recs, slos, 4)
	// Judged: A–E (W is warm-up). ttft<=500ms: A C D; e2e<=1s: A B C D.
	// Both: A C D → 3 of 5, 3/4 s. The repeated SLO counts once.
	if g.Requests != 5 || g.Met != 3 || g.Share != 0.6 || g.RatePerS != 0.75 {
		t.Errorf("goodput = %+v, want 3 of 5, share 0.6, 0.75/s", g)
	}
	if len(g.SLOs) != 2 || g.SLOs[0] != "ttft<=500ms" || g.SLOs[1] != "e2e<=1s" {
		t.Errorf("slos = %q", g.SLOs)
	}
	if g.ByObjective["ttft<=500ms"] != 3 || g.ByObjective["e2e<=1s"] != 4 {
		t.Errorf("by objective = %v", g.ByObjective)
	}
	// No SLO: the successes (A B C D); no window: no rate.
	g = Goodput(recs, nil, 0)
	if g.Met != 4 || g.Share != 0.8 || g.RatePerS != 0 || g.ByObjective == nil {
		t.Errorf("no SLO: %+v", g)
	}
	// An objective nobody meets still appears, with 0.
	g = Goodput(recs, []SLO{MustParseSLO("ttft<1us")}, 1)
	if v, ok := g.ByObjective["ttft<1us"]; !ok || v != 0 || g.Met != 0 || g.Share != 0 {
		t.Errorf("none met: %+v", g)
	}
	// Nothing judged.
	if g := Goodput(nil, slos, 1); g.Requests != 0 || g.Share != 0 || g.RatePerS != 0 {
		t.Errorf("empty: %+v", g)
	}
}
