package openai

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON grammar under the chunk decoder: whitespace, literals, strings
// (validated and unescaped as encoding/json does), numbers, and a
// validating skip of any value.

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// end checks that only whitespace follows the value.
func (d *decoder) end() error {
	d.ws()
	if d.i != len(d.b) {
		return errSyntax
	}
	return nil
}

// strOrNull parses a string, or null which leaves old unchanged (as
// encoding/json leaves a field untouched on null).
func (d *decoder) strOrNull(buf *[]byte, old []byte) ([]byte, error) {
	if d.literal("null") {
		return old, nil
	}
	s, err := d.str(buf)
	if s == nil && err == nil {
		s = []byte{} // distinguish "" from absent without allocating
	}
	return s, err
}

// str parses a string and returns its unescaped contents, which alias the
// input when the string holds no escapes and valid UTF-8, else *buf.
func (d *decoder) str(buf *[]byte) ([]byte, error) {
	if !d.consume('"') {
		return nil, errSyntax
	}
	start := d.i
	b, i := d.b, scanASCII(d.b, d.i)
	if i < len(b) && b[i] == '"' {
		d.i = i + 1
		return b[start:i], nil // the usual string: plain ASCII
	}
	ascii := true
	for {
		if i >= len(b) {
			d.i = i
			return nil, errSyntax
		}
		switch c := b[i]; {
		case c == '"':
			s := b[start:i]
			d.i = i + 1
			if ascii || utf8.Valid(s) {
				return s, nil
			}
			*buf = unquote((*buf)[:0], s)
			return *buf, nil
		case c == '\\':
			d.i = i
			return d.strSlow(start, buf)
		case c < 0x20:
			d.i = i
			return nil, errSyntax
		}
		ascii = false // c >= utf8.RuneSelf
		i = scanText(b, i+1)
	}
}

// SWAR (SIMD within a register) constants: a byte repeated in each of the
// eight bytes of a word, and the high bit of each byte.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// scanASCII returns the index of the first byte from i on that a string
// scan must look at: '"', '\\', a control character or a non-ASCII byte
// (or len(b)). It tests eight bytes at a time: strings are the decoder's
// hottest loop.
func scanASCII(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if m := special(x) | x&swarHi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plainASCII[b[i]] {
		i++
	}
	return i
}

// scanText is scanASCII for the rest of a string that holds non-ASCII
// bytes: it stops only at '"', '\\' and control characters.
func scanText(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if m := special(x); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && (plainASCII[b[i]] || b[i] >= utf8.RuneSelf) {
		i++
	}
	return i
}

// special sets the high bit of the lowest byte of x that is '"', '\\' or
// below 0x20 (higher bytes may be flagged spuriously by a borrow; the
// lowest flag is exact, which is all the scanners use). The classic
// "has zero byte" test, (v − 0x01…) &^ v & 0x80…, applied to x xor '"',
// x xor '\\', and (as "has a byte below n") to x.
func special(x uint64) uint64 {
	q := x ^ (swarLo * '"')
	s := x ^ (swarLo * '\\')
	return ((q-swarLo)&^q | (s-swarLo)&^s | (x-swarLo*0x20)&^x) & swarHi
}

// plainASCII[c] tells the bytes a JSON string holds as they are: ASCII
// from 0x20, except '"' and '\\'. The string scanners skip runs of them.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strSlow finishes a string that holds escapes, validating them.
func (d *decoder) strSlow(start int, buf *[]byte) ([]byte, error) {
	if err := d.skipStringBody(); err != nil {
		return nil, err
	}
	*buf = unquote((*buf)[:0], d.b[start:d.i-1])
	return *buf, nil
}

// skipStringBody advances past the closing quote of a string whose opening
// quote was consumed, validating escapes and control characters.
func (d *decoder) skipStringBody() error {
	for d.i < len(d.b) {
		d.i = scanText(d.b, d.i)
		if d.i >= len(d.b) {
			break
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return nil
		case c == '\\':
			d.i++
			if d.i >= len(d.b) {
				return errSyntax
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if len(d.b)-d.i < 5 {
					return errSyntax
				}
				for _, h := range d.b[d.i+1 : d.i+5] {
					if unhex(h) < 0 {
						return errSyntax
					}
				}
				d.i += 5
			default:
				return errSyntax
			}
		case c < 0x20:
			return errSyntax
		default:
			d.i++
		}
	}
	return errSyntax
}

// unquote appends the unescaped form of s (a validated string body) to
// dst, replacing invalid UTF-8 and unpaired surrogates with U+FFFD exactly
// as encoding/json does.
func unquote(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if rr1 := getu4(s[r:]); rr1 >= 0 {
						if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
							r += 6
							dst = utf8.AppendRune(dst, dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// intOrNull parses an integer into *v as encoding/json does for an int
// field: a number with a fraction or exponent, or out of range, is an error.
func (d *decoder) intOrNull(v *int) error {
	if d.literal("null") {
		return nil
	}
	start := d.i
	if err := d.number(); err != nil {
		return err
	}
	b := d.b[start:d.i]
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 19 {
		return errSyntax // out of range for int64
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return errSyntax // a fraction or an exponent
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		*v = int(-int64(n-1) - 1)
	case !neg && n < 1<<63:
		*v = int(n)
	default:
		return errSyntax
	}
	return nil
}

// floatOrNull parses a number into *v and sets *has, as encoding/json
// does for a *float64 field; null sets *has false. A number out of
// float64's range is an error, as in encoding/json.
func (d *decoder) floatOrNull(v *float64, has *bool) error {
	if d.literal("null") {
		*v, *has = 0, false
		return nil
	}
	start := d.i
	if err := d.number(); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil {
		return errSyntax
	}
	*v, *has = f, true
	return nil
}

// number advances past a JSON number.
func (d *decoder) number() error {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i]-'1' < 9:
		i = digits(b, i+1)
	default:
		return errSyntax
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return errSyntax
		}
		i = j
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return errSyntax
		}
		i = j
	}
	d.i = i
	return nil
}

// digits returns the index of the first byte from i on that is not a
// decimal digit.
func digits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

// skip advances past any JSON value at nesting depth, validating it.
func (d *decoder) skip(depth int) error {
	if d.i >= len(d.b) {
		return errSyntax
	}
	switch c := d.b[d.i]; c {
	case '{', '[':
		if depth > maxDepth {
			return errSyntax
		}
		d.i++
		d.ws()
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		if d.consume(closer) {
			return nil
		}
		for {
			if c == '{' {
				if !d.consume('"') {
					return errSyntax
				}
				if err := d.skipStringBody(); err != nil {
					return err
				}
				d.ws()
				if !d.consume(':') {
					return errSyntax
				}
				d.ws()
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.consume(',') {
				d.ws()
				continue
			}
			if d.consume(closer) {
				return nil
			}
			return errSyntax
		}
	case '"':
		d.i++
		return d.skipStringBody()
	case 't':
		if d.literal("true") {
			return nil
		}
	case 'f':
		if d.literal("false") {
			return nil
		}
	case 'n':
		if d.literal("null") {
			return nil
		}
	default:
		return d.number()
	}
	return errSyntax
}
