package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// op is a comparison operator of an SLO or a threshold.
type op string

const (
	opLT op = "<"
	opLE op = "<="
	opGT op = ">"
	opGE op = ">="
)

// validOps lists the operators for error messages.
const validOps = "<=, <, >=, >"

// holds reports whether got op limit.
func (o op) holds(got, limit float64) bool {
	switch o {
	case opLT:
		return got < limit
	case opLE:
		return got <= limit
	case opGT:
		return got > limit
	case opGE:
		return got >= limit
	}
	return false
}

// splitOp splits "name<=value" at its operator. Spaces around the parts
// are dropped.
func splitOp(s string) (name string, o op, value string, err error) {
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return "", "", "", fmt.Errorf("no comparison operator (want one of %s)", validOps)
	}
	name = strings.TrimSpace(s[:i])
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "<="):
		o, value = opLE, rest[2:]
	case strings.HasPrefix(rest, ">="):
		o, value = opGE, rest[2:]
	case strings.HasPrefix(rest, "<"):
		o, value = opLT, rest[1:]
	case strings.HasPrefix(rest, ">"):
		o, value = opGT, rest[1:]
	default:
		j := i + 1
		for j < len(s) && strings.ContainsRune("<>=!", rune(s[j])) {
			j++
		}
		return "", "", "", fmt.Errorf("operator %q is not supported (want one of %s)", s[i:j], validOps)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "<>=!") {
		return "", "", "", fmt.Errorf("more than one operator (want one of %s, once)", validOps)
	}
	if name == "" {
		return "", "", "", errors.New("no metric before the operator")
	}
	if value == "" {
		return "", "", "", errors.New("no value after the operator")
	}
	return strings.ToLower(name), o, value, nil
}

// kind is what a metric's value measures, which decides the units its
// limit takes.
type kind int

const (
	kindTime     kind = iota // seconds; the limit needs us, ms or s
	kindFraction             // 0–1; a bare fraction or a percentage
	kindPlain                // tokens, tokens/s, requests, requests/s; bare number
)

// timeUnits maps a time unit to its length in seconds, as a divisor:
// value / divisor is seconds (dividing is exact for whole values).
var timeUnits = map[string]float64{"s": 1, "ms": 1e3, "us": 1e6, "µs": 1e6}

// parseValue parses a limit "500ms", "0.01", "1%" for a metric of kind k.
// It returns the number and unit as written and the limit in the metric's
// base unit (seconds, fraction, tokens, …).
func parseValue(v string, k kind) (num float64, unit string, base float64, err error) {
	// The number is the longest prefix of number characters; the unit is
	// the rest ("1e-3s" → 1e-3, "s").
	i := 0
	for i < len(v) && strings.ContainsRune("0123456789.eE+-", rune(v[i])) {
		i++
	}
	numText, unit := v[:i], strings.ToLower(strings.TrimSpace(v[i:]))
	if numText == "" {
		return 0, "", 0, fmt.Errorf("value %q is not a number", v)
	}
	num, perr := strconv.ParseFloat(numText, 64)
	if perr != nil || math.IsNaN(num) || math.IsInf(num, 0) {
		return 0, "", 0, fmt.Errorf("value %q is not a number", v)
	}
	if num < 0 {
		return 0, "", 0, fmt.Errorf("value %q is negative", v)
	}
	switch k {
	case kindTime:
		div, ok := timeUnits[unit]
		switch {
		case unit == "" && num == 0:
			return 0, "s", 0, nil // zero is zero in every unit
		case unit == "":
			return 0, "", 0, fmt.Errorf("value %q is a time and needs a unit (us, ms or s), e.g. %sms: a bare number would be ambiguous", v, numText)
		case !ok:
			return 0, "", 0, fmt.Errorf("value %q has unknown time unit %q (want us, ms or s)", v, unit)
		}
		return num, unit, num / div, nil
	case kindFraction:
		switch unit {
		case "":
			return num, "", num, nil
		case "%":
			return num, unit, num / 100, nil
		}
		return 0, "", 0, fmt.Errorf("value %q has unit %q; a fraction is a bare number (0.01) or a percentage (1%%)", v, unit)
	default:
		if unit != "" {
			return 0, "", 0, fmt.Errorf("value %q has unit %q; this metric takes a bare number", v, unit)
		}
		return num, "", num, nil
	}
}

// formatLimit writes a number and unit back as text: the canonical form.
func formatLimit(num float64, unit string) string {
	return strconv.FormatFloat(num, 'g', -1, 64) + unit
}

// formatIn writes base (in the metric's base unit) in the unit the limit
// was written in, with about four significant digits: 0.7123 s in "ms" is
// "712.3ms".
func formatIn(base float64, unit string) string {
	v := base
	switch unit {
	case "%":
		v = base * 100
	default:
		if d, ok := timeUnits[unit]; ok {
			v = base * d
		}
	}
	return fmtNum(v) + unit
}

// fmtNum formats v with about four significant digits, never in exponent
// notation (as report's tables do): 0.0004123 is "0.0004123", not "0.000".
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', min(3-int(math.Floor(math.Log10(a))), 12), 64)
}
