package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	randv2 "math/rand/v2"
	"strconv"
	"testing"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" back \\ slash", "<script>&amp;</script>",
		"\x00\x01\b\f\n\r\t\x1f\x7f", "héllo wörld ☃ 🎉", "\u2028\u2029", "bad \xff\xfe utf-8 \xe2\x82", "\xed\xa0\x80 surrogate"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("%q: got %s, encoding/json %s", s, got[1:], want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.7, 1, -2.5, 1e-7, 1.5e-300, 1e21, 9.99e20, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), 0.2001234567, 1e-6, 999999.999999999, 3} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, ok := AppendFloat(nil, v)
		if (err == nil) != ok {
			t.Fatalf("%v: ok %v, encoding/json error %v", v, ok, err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, encoding/json %s", v, got, want)
		}
	})
}

// TestAppendFloat: every float is written as encoding/json
// writes it, whole nanoseconds (the fast path) across every magnitude and
// its bounds included.
func TestAppendFloat(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		want, err := json.Marshal(f)
		if err != nil {
			return
		}
		if got, ok := AppendFloat(nil, f); !ok || !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s; encoding/json %s", f, got, want)
		}
	}
	rng := randv2.New(randv2.NewPCG(3, 4))
	for _, f := range []float64{0, 1, 2, 1e-6, 1e-9, 999999.999999999, 1e6, 1e6 - 1e-9, 0.1, 0.2, 0.3, 1.5e-6,
		math.Nextafter(1e-6, 0), math.Nextafter(1e-6, 1), math.Nextafter(1e6, 0), 123.000000001, 5e-324,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1e20, 1e21, -1e-7, -3.25} {
		check(f)
		check(-f)
	}
	for range 200000 {
		// Whole nanoseconds of every length, as measured times are.
		n := rng.Int64N(int64(math.Pow10(1 + rng.IntN(15))))
		check(float64(n) / 1e9)
		// Sums and products of times, as averages and rates are.
		check(float64(n)/1e9 + float64(rng.Int64N(1e9))/1e9)
		check(float64(n) / 1e9 * 1.1)
		// Any float.
		check(math.Float64frombits(rng.Uint64()))
		check(rng.Float64() * math.Pow10(rng.IntN(30)-12))
	}
}

// BenchmarkAppendFloat: a measured time (whole nanoseconds, the fast
// path) against strconv's shortest search, which every other float takes.
func BenchmarkAppendFloat(b *testing.B) {
	times := make([]float64, 1024)
	for i := range times {
		times[i] = float64(200123456+int64(i)*20012345) / 1e9
	}
	b.Run("path=nanoseconds", func(b *testing.B) {
		var buf []byte
		for i := 0; b.Loop(); i++ {
			buf, _ = AppendFloat(buf[:0], times[i%len(times)])
		}
	})
	b.Run("path=strconv", func(b *testing.B) {
		var buf []byte
		for i := 0; b.Loop(); i++ {
			buf = strconv.AppendFloat(buf[:0], times[i%len(times)], 'f', -1, 64)
		}
	})
}
