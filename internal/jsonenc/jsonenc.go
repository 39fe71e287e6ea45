// Package jsonenc is append-based JSON encoding of strings and numbers,
// byte for byte what encoding/json writes (json.Marshal: HTML-safe
// escaping, invalid UTF-8 replaced by U+FFFD, the shortest float that
// reads back), without reflection. The hot paths use it: request bodies
// (llm/openai) and the record written as each request ends (record).
// FuzzAppendString, FuzzAppendFloat and TestAppendFloat hold it to
// encoding/json.
package jsonenc

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonSafe[b] tells whether ASCII byte b stands for itself in a JSON
// string as json.Marshal writes it.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped as json.Marshal
// escapes it.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				// Other control bytes, and <, > and & (HTML-safe).
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 end lines in JavaScript; json.Marshal escapes them.
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends f as json.Marshal writes a float64, and reports
// false (appending nothing) for NaN and ±Inf, which JSON cannot hold.
//
// The fast path is a time that is a whole number of nanoseconds below
// 10⁶ seconds, as every time llmload measures is: n/10⁹ for an integer
// n < 10¹⁵. n's nine-decimal form (trailing zeros dropped) is then the
// shortest decimal that reads back as f, which is what encoding/json
// writes: it reads back as f because float64(n)/1e9 (exact operands, one
// correctly rounded division) is the float nearest to it, and that it
// equals f is checked; and no shorter decimal does, because a shorter one
// lies at least 10⁻⁹ from it while floats below 2²⁰ are at most
// 1.2·10⁻¹⁰ apart. It takes ≈ 0.3× the CPU of strconv's shortest search
// (BenchmarkAppendFloat). Any other float takes that search.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if f >= 1e-6 && f < 1e6 {
		// Rounded half up (f > 0); a wrong n fails the check.
		if n := int64(f*1e9 + 0.5); float64(n)/1e9 == f {
			return appendNanos(dst, n), true
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// appendNanos appends n nanoseconds as seconds: n/10⁹ with its nine
// decimals, trailing zeros (and a bare point) dropped. n > 0.
func appendNanos(b []byte, n int64) []byte {
	sec, frac := n/1e9, uint32(n%1e9)
	if sec < 10 {
		b = append(b, byte('0'+sec))
	} else {
		b = strconv.AppendInt(b, sec, 10)
	}
	if frac == 0 {
		return b
	}
	// The point and nine digits, written in place two at a time.
	i := len(b)
	b = slices.Grow(b, 10)[:i+10]
	d := b[i : i+10]
	d[0] = '.'
	for j := 9; j > 1; j -= 2 {
		q := frac / 100
		r := (frac - q*100) * 2
		d[j-1], d[j] = digitPairs[r], digitPairs[r+1]
		frac = q
	}
	d[1] = byte('0' + frac)
	end := 10
	for d[end-1] == '0' {
		end--
	}
	return b[:i+end]
}

const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"
