package report

import (
	"math"
	"testing"
)

func TestPyFloat(t *testing.T) {
	// Expected values are Python 3's repr() of the same doubles.
	tests := []struct {
		in   float64
		want string
	}{
		{0.1, "0.1"},
		{1e-05, "1e-05"}, // decimal exponent −4: exponent notation
		{0.0001, "0.0001"},
		{0.00025, "0.00025"},
		{1.5e-07, "1.5e-07"},
		{260, "260.0"}, // integral floats keep ".0"
		{353.44999999999993, "353.44999999999993"},
		{1234567890123456, "1234567890123456.0"}, // 16 digits: still fixed
		{1e16, "1e+16"},
		{123456789012345678, "1.2345678901234568e+17"},
		{1e22, "1e+22"},
		{1.0 / 3, "0.3333333333333333"},
		{-12.5, "-12.5"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.NaN(), "null"}, // Python would write NaN, which is not JSON
		{math.Inf(1), "null"},
	}
	for _, tt := range tests {
		if got := pyFloat(tt.in); got != tt.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPyString(t *testing.T) {
	// Python: json.dumps('é"\\\n\x01\x7f😀 ok')
	in := "é\"\\\n\x01\x7f😀 ok"
	want := `"\u00e9\"\\\n\u0001\u007f\ud83d\ude00 ok"`
	if got := pyString(in); got != want {
		t.Errorf("pyString = %s, want %s", got, want)
	}
}

func TestPyDump(t *testing.T) {
	// json.dumps([{"a": None, "b": [], "c": {}, "d": 1, "e": 1.0}], indent=4)
	v := []any{pyObject{{"a", nil}, {"b", []any{}}, {"c", pyObject{}}, {"d", pyInt(1)}, {"e", 1.0}}}
	want := "[\n    {\n        \"a\": null,\n        \"b\": [],\n        \"c\": {},\n        \"d\": 1,\n        \"e\": 1.0\n    }\n]"
	if got := string(pyDump(v)); got != want {
		t.Errorf("pyDump =\n%s\nwant\n%s", got, want)
	}
}
