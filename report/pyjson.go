package report

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file writes JSON the way Python's json.dump(obj, f, indent=4) does,
// so that LLMPerf-format files read, diff and parse like LLMPerf's own:
// object keys in insertion order, 4-space indentation, ", " never used
// between items (",\n" instead), ": " between key and value, non-ASCII
// escaped as \uXXXX (ensure_ascii), floats in Python's repr (always with a
// "." or an exponent: 260.0, 1e-05), no trailing newline.
//
// Python writes NaN and Infinity, which are not JSON; we write null instead.

// pyObject is an ordered JSON object.
type pyObject []pyField

type pyField struct {
	key string
	val any // nil, pyInt, float64, string, pyObject, []any
}

// pyInt is a Python int (written without a decimal point).
type pyInt int64

func (o *pyObject) add(key string, val any) { *o = append(*o, pyField{key, val}) }

// pyDump encodes v as Python's json.dump(v, indent=4) would.
func pyDump(v any) []byte {
	var b bytes.Buffer
	pyWrite(&b, v, 0)
	return b.Bytes()
}

func pyWrite(b *bytes.Buffer, v any, level int) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case pyInt:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case float64:
		b.WriteString(pyFloat(v))
	case string:
		b.WriteString(pyString(v))
	case pyObject:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{")
		for i, f := range v {
			if i > 0 {
				b.WriteString(",")
			}
			newline(b, level+1)
			b.WriteString(pyString(f.key))
			b.WriteString(": ")
			pyWrite(b, f.val, level+1)
		}
		newline(b, level)
		b.WriteString("}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(",")
			}
			newline(b, level+1)
			pyWrite(b, e, level+1)
		}
		newline(b, level)
		b.WriteString("]")
	default:
		panic(fmt.Sprintf("pyWrite: unsupported type %T", v))
	}
}

func newline(b *bytes.Buffer, level int) {
	b.WriteByte('\n')
	for range level {
		b.WriteString("    ")
	}
}

// pyFloat formats f as Python's repr(float): the shortest digits that
// round-trip (as Go's), in fixed notation when the decimal exponent is in
// [-4, 16), else in exponent notation with a signed, two-digit-or-more
// exponent. Non-finite values become null (Python would write NaN).
func pyFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±dd
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // value = 0.digits × 10^decpt
	switch {
	case decpt <= -4 || decpt > 16:
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		esign := "+"
		if exp < 0 {
			esign, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, esign, exp)
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	default:
		return sign + digits[:decpt] + "." + digits[decpt:]
	}
}

// pyString quotes s as Python's json with ensure_ascii=True: everything
// outside printable ASCII is escaped, astral characters as surrogate pairs.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r >= ' ' && r <= '~':
				b.WriteRune(r)
			case r > 0xFFFF:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
