package config

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Redacted is what a scrubbed secret is replaced with.
const redactedMark = "[REDACTED]"

// MinSecretLen is the length below which a value is not scrubbed from
// text: shorter values would match ordinary words and numbers, and no real
// credential is that short.
const MinSecretLen = 6

// Redactor scrubs a run's secrets from text: the API key, the values of
// credential headers (see SecretHeader and Config.SecretHeaders), the
// credentials of the base URL and endpoint URL (user info, secret query
// parameters), and the credentials Resolve found in the environment
// (Config.SecretValues). Each secret is scrubbed as given, as the token of
// a "Bearer X" value, and in the JSON-escaped and URL-escaped forms a
// server echoing it may use.
//
// A Redactor is immutable once built; its methods may be called from any
// goroutine. The nil Redactor scrubs nothing.
type Redactor struct {
	r *strings.Replacer
	// secrets are the exact values registered (before variants), sorted.
	secrets []string
}

// Redactor returns the redactor of c's secrets. It is the one place that
// knows which values of a configuration are secret: everything llmload
// writes or prints goes through it.
func (c *Config) Redactor() *Redactor {
	var vals []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if v != "" {
			vals = append(vals, v)
		}
	}
	add(c.APIKey)
	for name, v := range c.Headers {
		if !c.IsSecretHeader(name) {
			continue
		}
		add(v)
		if strings.EqualFold(name, "Cookie") || strings.EqualFold(name, "Set-Cookie") {
			for _, part := range strings.Split(v, ";") {
				if _, cv, ok := strings.Cut(part, "="); ok {
					add(cv)
				}
			}
		}
	}
	for _, u := range []string{c.BaseURL, c.Providers.EndpointURL} {
		for _, v := range urlSecrets(u) {
			add(v)
		}
	}
	for _, v := range c.SecretValues {
		add(v)
	}
	return NewRedactor(vals...)
}

// IsSecretHeader reports whether the header name's value is a credential:
// a name SecretHeader recognises, or one the user marked secret.
func (c *Config) IsSecretHeader(name string) bool {
	if SecretHeader(name) {
		return true
	}
	for _, s := range c.SecretHeaders {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return true
		}
	}
	return false
}

// NewRedactor returns a redactor of the given secret values. Values
// shorter than MinSecretLen are ignored. A value "Bearer X" (or "Basic
// X", "Token X", …: a scheme and a token) also registers X.
func NewRedactor(secrets ...string) *Redactor {
	set := map[string]bool{}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		set[s] = true
		if scheme, tok, ok := strings.Cut(s, " "); ok && !strings.ContainsAny(scheme, "=:") {
			set[strings.TrimSpace(tok)] = true
		}
	}
	exact := make([]string, 0, len(set))
	for s := range set {
		if utf8.RuneCountInString(s) >= MinSecretLen {
			exact = append(exact, s)
		}
	}
	slices.Sort(exact)
	if len(exact) == 0 {
		return nil
	}
	forms := map[string]bool{}
	for _, s := range exact {
		for _, f := range variants(s) {
			forms[f] = true
		}
	}
	// Longest first, so a secret containing another is scrubbed whole.
	list := make([]string, 0, len(forms))
	for f := range forms {
		list = append(list, f)
	}
	slices.SortFunc(list, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(list))
	for _, f := range list {
		pairs = append(pairs, f, redactedMark)
	}
	return &Redactor{r: strings.NewReplacer(pairs...), secrets: exact}
}

// variants returns the forms in which s may be echoed: as is, JSON-escaped
// (Go's default with HTML escaping, without it, and with non-ASCII as
// \uXXXX as Python's json does, and with escaped slashes), and
// URL-escaped (query and path).
func variants(s string) []string {
	out := []string{s}
	quoted := func(b []byte) string { return strings.TrimSuffix(strings.TrimPrefix(string(b), `"`), `"`) }
	if b, err := json.Marshal(s); err == nil {
		out = append(out, quoted(b))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		j := quoted([]byte(strings.TrimSpace(sb.String())))
		out = append(out, j, strings.ReplaceAll(j, "/", `\/`), asciiJSON(j))
	}
	out = append(out, url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
	return out
}

// asciiJSON escapes the non-ASCII runes of a JSON string body as \uXXXX.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			b.WriteString(`\u` + hex4(0xD800+(r>>10)) + `\u` + hex4(0xDC00+(r&0x3FF)))
		default:
			b.WriteString(`\u` + hex4(r))
		}
	}
	return b.String()
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&0xF], digits[r>>8&0xF], digits[r>>4&0xF], digits[r&0xF]})
}

// String returns s with every secret replaced by "[REDACTED]".
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	return r.r.Replace(s)
}

// Error returns err with its text scrubbed (err itself when it holds no
// secret); nil for nil.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	if s := r.String(msg); s != msg {
		return &redactedError{msg: s, err: err}
	}
	return err
}

// redactedError keeps the wrapped error for errors.Is and errors.As while
// its text is scrubbed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Merge returns a redactor of the secrets of r and o.
func (r *Redactor) Merge(o *Redactor) *Redactor {
	switch {
	case r == nil:
		return o
	case o == nil:
		return r
	}
	return NewRedactor(append(slices.Clone(r.secrets), o.secrets...)...)
}

// Writer returns a writer that scrubs each Write's bytes before passing
// them to w. A secret split across two Writes is not recognised: write
// whole lines (fmt.Fprintf does).
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r == nil {
		return w
	}
	return &redactWriter{r: r, w: w}
}

type redactWriter struct {
	r *Redactor
	w io.Writer
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.r.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// urlSecrets returns the credentials a URL carries: its user info (user
// name and password, and the Basic credentials net/http derives from them)
// and the values of secret-looking query parameters.
func urlSecrets(raw string) []string {
	if raw == "" {
		return nil
	}
	var out []string
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// Unparsable: take what looks like user info by hand.
		if _, rest, ok := strings.Cut(raw, "//"); ok {
			if ui, _, ok := strings.Cut(rest, "@"); ok && !strings.Contains(ui, "/") {
				user, pass, _ := strings.Cut(ui, ":")
				out = append(out, user, pass, ui)
			}
		}
		return out
	}
	if u.User != nil {
		user := u.User.Username()
		pass, _ := u.User.Password()
		out = append(out, user, pass,
			base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	for k, vs := range u.Query() {
		if SecretHeader(k) {
			out = append(out, vs...)
		}
	}
	return out
}
