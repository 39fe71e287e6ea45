package ollama

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// This file is a minimal validating JSON reader for the fast path of event
// decoding. It handles the shapes servers actually send (ASCII or valid
// UTF-8 strings, simple escapes, integers, any skipped value) and declines
// everything unusual with errFallback, after which the caller decodes the
// same bytes with encoding/json. The fast path therefore never has to be
// complete, only right about what it accepts; FuzzLineDecode holds it to
// encoding/json. (A copy of llm/tgi/scan.go.)

// errFallback means the fast path declined the input.
var errFallback = errors.New("fast path declined")

// maxDepth is encoding/json's nesting limit; deeper input is left to it.
const maxDepth = 10000

type scanner struct {
	b []byte
	i int
}

func (s *scanner) reset(b []byte) { s.b, s.i = b, 0 }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object parses an object, calling field with each key once the scanner
// is at its value. A key with an escape declines.
func (s *scanner) object(field func(key []byte) error) error {
	if !s.consume('{') {
		return errFallback
	}
	s.ws()
	if s.consume('}') {
		return nil
	}
	for {
		if !s.consume('"') {
			return errFallback
		}
		start := s.i
		for s.i < len(s.b) && s.b[s.i] != '"' && s.b[s.i] != '\\' && s.b[s.i] >= 0x20 {
			s.i++
		}
		if !s.consume('"') {
			return errFallback
		}
		key := s.b[start : s.i-1]
		s.ws()
		if !s.consume(':') {
			return errFallback
		}
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		s.ws()
		if s.consume(',') {
			s.ws()
			continue
		}
		if s.consume('}') {
			return nil
		}
		return errFallback
	}
}

// other handles a key that is none of the wanted fields: a key that
// encoding/json would match to one of them case-insensitively declines,
// anything else is skipped.
func (s *scanner) other(key []byte, fields ...string) error {
	for _, f := range fields {
		if len(key) > 0 && key[0] < utf8.RuneSelf && key[0]|0x20 != f[0] {
			continue // fast reject: fields start with an ASCII lower-case letter
		}
		if bytes.EqualFold(key, []byte(f)) {
			return errFallback
		}
	}
	return s.skip(1)
}

// str parses a string and returns its contents: aliasing the input when
// it holds no escapes, else unescaped into *buf. \u escapes and invalid
// UTF-8 decline.
func (s *scanner) str(buf *[]byte) ([]byte, error) {
	if !s.consume('"') {
		return nil, errFallback
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				return nil, errFallback
			}
			return v, nil
		case c == '\\':
			return s.strEscaped(start, buf)
		case c < 0x20:
			return nil, errFallback
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, errFallback
}

func (s *scanner) strEscaped(start int, buf *[]byte) ([]byte, error) {
	out := append((*buf)[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			*buf = out
			if !utf8.Valid(out) {
				return nil, errFallback
			}
			return out, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, errFallback
			}
			var r byte
			switch s.b[s.i+1] {
			case '"', '\\', '/':
				r = s.b[s.i+1]
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			case 'r':
				r = '\r'
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			default:
				return nil, errFallback // \u and invalid escapes
			}
			out = append(out, r)
			s.i += 2
		case c < 0x20:
			return nil, errFallback
		default:
			out = append(out, c)
			s.i++
		}
	}
	return nil, errFallback
}

// strOrNull parses a string, or null which leaves old unchanged (as
// encoding/json leaves a string field untouched on null).
func (s *scanner) strOrNull(buf *[]byte, old []byte) ([]byte, error) {
	if s.literal("null") {
		return old, nil
	}
	v, err := s.str(buf)
	if v == nil && err == nil {
		v = []byte{}
	}
	return v, err
}

// boolOrNull parses true, false or null (no change).
func (s *scanner) boolOrNull(v *bool) error {
	switch {
	case s.literal("true"):
		*v = true
	case s.literal("false"):
		*v = false
	case s.literal("null"):
	default:
		return errFallback
	}
	return nil
}

// int parses an integer that fits in 18 digits; anything else (a
// fraction, an exponent, a huge number) declines.
func (s *scanner) int() (int64, error) {
	neg := s.consume('-')
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	d := s.b[start:s.i]
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(d) > 1) {
		return 0, errFallback
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, errFallback
		}
	}
	var n int64
	for _, c := range d {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// skip advances past any JSON value, validating it.
func (s *scanner) skip(depth int) error {
	if s.i >= len(s.b) {
		return errFallback
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		if depth > maxDepth {
			return errFallback
		}
		s.i++
		s.ws()
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		if s.consume(closer) {
			return nil
		}
		for {
			if c == '{' {
				if err := s.skipString(); err != nil {
					return err
				}
				s.ws()
				if !s.consume(':') {
					return errFallback
				}
				s.ws()
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.consume(',') {
				s.ws()
				continue
			}
			if s.consume(closer) {
				return nil
			}
			return errFallback
		}
	case '"':
		return s.skipString()
	case 't':
		if s.literal("true") {
			return nil
		}
	case 'f':
		if s.literal("false") {
			return nil
		}
	case 'n':
		if s.literal("null") {
			return nil
		}
	default:
		return s.number()
	}
	return errFallback
}

// skipString advances past a string, validating its escapes.
func (s *scanner) skipString() error {
	if !s.consume('"') {
		return errFallback
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return errFallback
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 {
					return errFallback
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return errFallback
					}
				}
				s.i += 5
			default:
				return errFallback
			}
		case c < 0x20:
			return errFallback
		default:
			s.i++
		}
	}
	return errFallback
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number advances past a JSON number.
func (s *scanner) number() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return errFallback
	}
	if s.consume('.') && s.digits() == 0 {
		return errFallback
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return errFallback
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}
