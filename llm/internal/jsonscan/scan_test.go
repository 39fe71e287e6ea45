package jsonscan

import (
	"encoding/json"
	"testing"
)

var seeds = []string{
	`{"a":[1,{"b":[true,false,null,"x"]}]}`, ` "a\n\"b\\\/\t" `, `"\u00e9\ud83d\ude00"`, `"é😀"`, "\"\xff\"",
	`-0.5e+3`, `01`, `1.`, `-`, `99999999999999999999`, `{"a":1}x`, `{"a":"\x01"}`, `[`, `{}`, `[]`, `null`, `nul`,
}

// FuzzScanner holds Skip and Str to encoding/json: what Skip accepts is
// valid JSON, and a string Str accepts unmarshals to the same text.
func FuzzScanner(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Scanner
		s.Reset(data)
		s.WS()
		if s.Skip(1) == nil && s.End() && !json.Valid(data) {
			t.Errorf("%q: Skip accepted invalid JSON", data)
		}
		s.Reset(data)
		s.WS()
		v, err := s.Str(&buf)
		if err != nil || !s.End() {
			return
		}
		var want string
		if err := json.Unmarshal(data, &want); err != nil {
			t.Errorf("%q: Str accepted what encoding/json rejects: %v", data, err)
		} else if string(v) != want {
			t.Errorf("%q: Str read %q, encoding/json %q", data, v, want)
		}
	})
}

func TestInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-42", -42, true},
		{"123456789012345678", 123456789012345678, true},
		{"1234567890123456789", 0, false}, // 19 digits: left to encoding/json
		{"01", 0, false},                  // a leading zero is invalid JSON
		{"1.5", 0, false},                 // a fraction
		{"1e3", 0, false},                 // an exponent
		{"-", 0, false},                   // no digits
	} {
		var s Scanner
		s.Reset([]byte(c.in))
		n, err := s.Int()
		if (err == nil) != c.ok || n != c.want {
			t.Errorf("Int(%q) = %d, %v; want %d, ok %v", c.in, n, err, c.want, c.ok)
		}
	}
}
