package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" back \\ slash", "<script>&amp;</script>",
		"\x00\x01\b\f\n\r\t\x1f\x7f", "héllo wörld ☃ 🎉", "\u2028\u2029", "bad \xff\xfe utf-8 \xe2\x82", "\xed\xa0\x80 surrogate"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("%q: got %s, encoding/json %s", s, got[1:], want)
		}
	})
}

func FuzzAppendJSONFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.7, 1, -2.5, 1e-7, 1.5e-300, 1e21, 9.99e20, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, ok := AppendJSONFloat(nil, v)
		if (err == nil) != ok {
			t.Fatalf("%v: ok %v, encoding/json error %v", v, ok, err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, encoding/json %s", v, got, want)
		}
	})
}
