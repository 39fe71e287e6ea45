// Package jsonscan is a minimal validating JSON reader for the fast paths
// of the TGI and Ollama stream decoders. It handles the shapes servers
// actually send (ASCII or valid UTF-8 strings, simple escapes, integers,
// any skipped value) and declines everything unusual with ErrDecline,
// after which the caller decodes the same bytes with encoding/json. A fast
// path built on it therefore never has to be complete, only right about
// what it accepts; the callers' differential fuzz tests (FuzzEventDecode in
// llm/tgi, FuzzLineDecode in llm/ollama) and FuzzScanner here hold it to
// encoding/json.
//
// llm/openai has its own, complete decoder (it never falls back) and does
// not use this package.
package jsonscan

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// ErrDecline means the scanner declined the input: it is invalid JSON or
// a shape the fast path leaves to encoding/json.
var ErrDecline = errors.New("fast path declined")

// maxDepth is encoding/json's nesting limit; deeper input is left to it.
const maxDepth = 10000

// Scanner reads one JSON value from a byte slice. Its zero value is ready
// for Reset. A Scanner is not safe for concurrent use.
type Scanner struct {
	b []byte
	i int
}

// Reset makes the scanner read b from its start.
func (s *Scanner) Reset(b []byte) { s.b, s.i = b, 0 }

// WS skips whitespace.
func (s *Scanner) WS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// Consume advances past c when it is the next byte and reports whether it was.
func (s *Scanner) Consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Literal advances past lit when the input continues with it and reports
// whether it did.
func (s *Scanner) Literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// End skips whitespace and reports whether only whitespace is left.
func (s *Scanner) End() bool {
	s.WS()
	return s.i == len(s.b)
}

// Object parses an object, calling field with each key once the scanner
// is at its value. A key with an escape declines.
func (s *Scanner) Object(field func(key []byte) error) error {
	if !s.Consume('{') {
		return ErrDecline
	}
	s.WS()
	if s.Consume('}') {
		return nil
	}
	for {
		if !s.Consume('"') {
			return ErrDecline
		}
		start := s.i
		for s.i < len(s.b) && s.b[s.i] != '"' && s.b[s.i] != '\\' && s.b[s.i] >= 0x20 {
			s.i++
		}
		if !s.Consume('"') {
			return ErrDecline
		}
		key := s.b[start : s.i-1]
		s.WS()
		if !s.Consume(':') {
			return ErrDecline
		}
		s.WS()
		if err := field(key); err != nil {
			return err
		}
		s.WS()
		if s.Consume(',') {
			s.WS()
			continue
		}
		if s.Consume('}') {
			return nil
		}
		return ErrDecline
	}
}

// Other handles a key that is none of the wanted fields: a key that
// encoding/json would match to one of them case-insensitively declines,
// anything else is skipped.
func (s *Scanner) Other(key []byte, fields ...string) error {
	for _, f := range fields {
		if len(key) > 0 && key[0] < utf8.RuneSelf && key[0]|0x20 != f[0] {
			continue // fast reject: fields start with an ASCII lower-case letter
		}
		if bytes.EqualFold(key, []byte(f)) {
			return ErrDecline
		}
	}
	return s.Skip(1)
}

// Str parses a string and returns its contents: aliasing the input when
// it holds no escapes, else unescaped into *buf. \u escapes and invalid
// UTF-8 decline.
func (s *Scanner) Str(buf *[]byte) ([]byte, error) {
	if !s.Consume('"') {
		return nil, ErrDecline
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
				return nil, ErrDecline
			}
			return v, nil
		case c == '\\':
			return s.strEscaped(start, buf)
		case c < 0x20:
			return nil, ErrDecline
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, ErrDecline
}

func (s *Scanner) strEscaped(start int, buf *[]byte) ([]byte, error) {
	out := append((*buf)[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			*buf = out
			if !utf8.Valid(out) {
				return nil, ErrDecline
			}
			return out, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, ErrDecline
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
				return nil, ErrDecline // \u and invalid escapes
			}
			out = append(out, r)
			s.i += 2
		case c < 0x20:
			return nil, ErrDecline
		default:
			out = append(out, c)
			s.i++
		}
	}
	return nil, ErrDecline
}

// StrOrNull parses a string, or null which leaves old unchanged (as
// encoding/json leaves a string field untouched on null).
func (s *Scanner) StrOrNull(buf *[]byte, old []byte) ([]byte, error) {
	if s.Literal("null") {
		return old, nil
	}
	v, err := s.Str(buf)
	if v == nil && err == nil {
		v = []byte{}
	}
	return v, err
}

// BoolOrNull parses true, false or null (no change).
func (s *Scanner) BoolOrNull(v *bool) error {
	switch {
	case s.Literal("true"):
		*v = true
	case s.Literal("false"):
		*v = false
	case s.Literal("null"):
	default:
		return ErrDecline
	}
	return nil
}

// Int parses an integer that fits in 18 digits; anything else (a
// fraction, an exponent, a huge number) declines.
func (s *Scanner) Int() (int64, error) {
	neg := s.Consume('-')
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	d := s.b[start:s.i]
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(d) > 1) {
		return 0, ErrDecline
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, ErrDecline
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

// Skip advances past any JSON value, validating it; depth is the
// nesting depth of the value (1 for a member of the top-level object).
func (s *Scanner) Skip(depth int) error {
	if s.i >= len(s.b) {
		return ErrDecline
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		if depth > maxDepth {
			return ErrDecline
		}
		s.i++
		s.WS()
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		if s.Consume(closer) {
			return nil
		}
		for {
			if c == '{' {
				if err := s.skipString(); err != nil {
					return err
				}
				s.WS()
				if !s.Consume(':') {
					return ErrDecline
				}
				s.WS()
			}
			if err := s.Skip(depth + 1); err != nil {
				return err
			}
			s.WS()
			if s.Consume(',') {
				s.WS()
				continue
			}
			if s.Consume(closer) {
				return nil
			}
			return ErrDecline
		}
	case '"':
		return s.skipString()
	case 't':
		if s.Literal("true") {
			return nil
		}
	case 'f':
		if s.Literal("false") {
			return nil
		}
	case 'n':
		if s.Literal("null") {
			return nil
		}
	default:
		return s.number()
	}
	return ErrDecline
}

// skipString advances past a string, validating its escapes.
func (s *Scanner) skipString() error {
	if !s.Consume('"') {
		return ErrDecline
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
				return ErrDecline
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 {
					return ErrDecline
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return ErrDecline
					}
				}
				s.i += 5
			default:
				return ErrDecline
			}
		case c < 0x20:
			return ErrDecline
		default:
			s.i++
		}
	}
	return ErrDecline
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number advances past a JSON number.
func (s *Scanner) number() error {
	s.Consume('-')
	switch {
	case s.Consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return ErrDecline
	}
	if s.Consume('.') && s.digits() == 0 {
		return ErrDecline
	}
	if s.Consume('e') || s.Consume('E') {
		if !s.Consume('+') {
			s.Consume('-')
		}
		if s.digits() == 0 {
			return ErrDecline
		}
	}
	return nil
}

func (s *Scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// IsNull reports whether data is the JSON null, with any whitespace around
// it (which encoding/json decodes into a struct as a no-op).
func IsNull(data []byte) bool {
	var s Scanner
	s.Reset(data)
	s.WS()
	return s.Literal("null") && s.End()
}
