package analysis

import "testing"

// Parsers must not panic, and a parsed value must print as text that parses
// back to the same value.
func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"ttft<=500ms", "output_speed>=20", "e2e < 1e1s", "itl<=0.2 s", "tpot<=", "<", "ttft<=5µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSLO(s)
		if err != nil {
			return
		}
		back, err := ParseSLO(v.String())
		if err != nil || back != v {
			t.Fatalf("%q → %q → %v, %v", s, v, back, err)
		}
	})
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"ttft_p95<500ms", "error_rate<1%", "output_tokens_per_s>100", "tpot_mean<80ms", "x_y<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseThreshold(s)
		if err != nil {
			return
		}
		back, err := ParseThreshold(v.String())
		if err != nil || back.String() != v.String() || back.limit != v.limit {
			t.Fatalf("%q → %q → %q, %v", s, v, back, err)
		}
	})
}
