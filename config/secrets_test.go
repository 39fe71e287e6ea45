package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRedactorForms(t *testing.T) {
	c := Config{
		APIKey:        "sk-api-key-1",
		BaseURL:       "https://user:pa55word@gw.example/v1?api-key=qkey-123&x=1",
		Headers:       map[string]string{"Authorization": "Bearer tok-abc-123", "X-Custom": "cu/st+om<1>", "X-Plain": "not-secret-value", "Cookie": "a=1; session=sess-xyz-9"},
		SecretHeaders: []string{"x-custom"},
		SecretValues:  []string{"aws-secret-key"},
	}
	r := c.Redactor()
	tests := []struct{ in, gone string }{
		{"key sk-api-key-1 echoed", "sk-api-key-1"},
		{"got Bearer tok-abc-123", "tok-abc-123"},
		{"token tok-abc-123 alone", "tok-abc-123"},
		{`{"h":"cu/st+om\u003c1\u003e"}`, `st+om`},          // Go JSON
		{`{"h":"cu\/st+om<1>"}`, `st+om`},                   // escaped slashes
		{"q=cu%2Fst%2Bom%3C1%3E", "om%3C1"},                 // URL query escaping
		{"pass pa55word and query qkey-123", "pa55word"},    // URL credentials
		{"query qkey-123", "qkey-123"},                      // ?api-key=
		{"basic dXNlcjpwYTU1d29yZA== sent", "dXNlcjpwYTU1"}, // user:pass as Basic
		{"aws-secret-key", "aws-secret-key"},                // environment
		{"cookie sess-xyz-9", "sess-xyz-9"},                 // one cookie's value
	}
	for _, tt := range tests {
		if got := r.String(tt.in); strings.Contains(got, tt.gone) || !strings.Contains(got, "[REDACTED]") {
			t.Errorf("String(%q) = %q", tt.in, got)
		}
	}
	if s := "X-Plain: not-secret-value"; r.String(s) != s {
		t.Errorf("a plain header was scrubbed: %q", r.String(s))
	}
	var buf bytes.Buffer
	if n, err := r.Writer(&buf).Write([]byte("x sk-api-key-1\n")); err != nil || n != 15 || buf.String() != "x [REDACTED]\n" {
		t.Errorf("Writer: %d %v %q", n, err, buf.String())
	}
	base := errors.New("base")
	err := r.Error(errors.Join(base, errors.New("key sk-api-key-1")))
	if strings.Contains(err.Error(), "sk-api") || !errors.Is(err, base) {
		t.Errorf("Error: %v", err)
	}
	// Short values would scrub ordinary text.
	if got := NewRedactor("abc").String("abcdef"); got != "abcdef" {
		t.Errorf("a short value was scrubbed: %q", got)
	}
	if red := c.Redacted(); red.Headers["X-Custom"] != "REDACTED" || red.Headers["X-Plain"] != "not-secret-value" || red.SecretValues != nil {
		t.Errorf("Redacted: %+v", red)
	}
}

func TestRedactURLKeepsWhatWasTyped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"not a url", "not a url"},
		{"http://h:8000/v1", "http://h:8000/v1"},
		{"https://u:p%40ss@h/v1?key=abc&model=a b", "https://u:REDACTED@h/v1?key=REDACTED&model=a b"},
		{"https://sk-token@h/v1", "https://REDACTED@h/v1"},
		{"http://u:pw@h/%zz", "http://u:REDACTED@h/%zz"}, // does not parse
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
