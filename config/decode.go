package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder decodes a YAML node tree into Go values strictly: every key must
// be a known field, and every error names the file, the line and the key.
// It walks the tree itself rather than use yaml.v3's Decoder.KnownFields,
// whose errors name Go types and, for values that implement
// encoding.TextUnmarshaler (Duration), carry no line.
type decoder struct {
	file  string
	lines map[string]int // YAML path → line of its key
	errs  []lineError
}

// lineError is one decoding problem at a line.
type lineError struct {
	line int
	msg  string
}

func (d *decoder) errorf(line int, format string, a ...any) {
	d.errs = append(d.errs, lineError{line, fmt.Sprintf(format, a...)})
}

// err returns every problem, ordered by line, one line each; nil if none.
func (d *decoder) err() error {
	sort.SliceStable(d.errs, func(a, b int) bool { return d.errs[a].line < d.errs[b].line })
	errs := make([]error, len(d.errs))
	for k, e := range d.errs {
		if e.line > 0 {
			errs[k] = fmt.Errorf("%s:%d: %s", d.file, e.line, e.msg)
		} else {
			errs[k] = fmt.Errorf("%s: %s", d.file, e.msg)
		}
	}
	return errors.Join(errs...)
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError rewrites a yaml.v3 parse error as "file:line: problem".
func (d *decoder) syntaxError(err error) error {
	if m := syntaxLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s", d.file, m[1], m[2])
	}
	return fmt.Errorf("%s: %s", d.file, strings.TrimPrefix(err.Error(), "yaml: "))
}

// reflectValue returns the addressable value that p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// join appends a key to a YAML path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeMapping decodes the mapping n into the struct v, matching keys to
// the fields' yaml tags. hook, if not nil, sees every key first and
// returns true for those it handled; extra lists the keys it handles, for
// suggestions.
func (d *decoder) decodeMapping(n *yaml.Node, path string, v reflect.Value, hook func(key string, k, val *yaml.Node) bool, extra ...string) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s: want a mapping of keys, got %s", orDefault(path, "the top level"), nodeKind(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if key == "<<" && k.Tag == "!!merge" { // YAML merge keys: <<: *base
			val = resolveAlias(val)
			if val.Kind == yaml.SequenceNode {
				for _, m := range val.Content {
					d.decodeMapping(m, path, v, hook, extra...)
				}
			} else {
				d.decodeMapping(val, path, v, hook, extra...)
			}
			continue
		}
		full := join(path, key)
		if first, dup := seen[key]; dup {
			d.errorf(k.Line, "%s: the key is given twice (first at line %d)", full, first)
			continue
		}
		seen[key] = k.Line
		d.lines[full] = k.Line
		if hook != nil && hook(key, k, val) {
			continue
		}
		idx, ok := fields[key]
		if !ok {
			if key == "api_key" {
				d.errorf(k.Line, "%s: do not write API keys in experiment files; name the environment variable that holds the key with api_key_env (e.g. api_key_env: OPENAI_API_KEY)", full)
				continue
			}
			known := append(fieldNames(fields), extra...)
			if s := suggest(key, known); s != "" {
				d.errorf(k.Line, "field %q is not known (did you mean %q?)", full, join(path, s))
			} else {
				d.errorf(k.Line, "field %q is not known (known: %s)", full, strings.Join(sortedCopy(known), ", "))
			}
			continue
		}
		d.decodeInto(val, full, v.FieldByIndex(idx))
	}
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	mixesType       = reflect.TypeFor[[][]PromptSet]()
)

// decodeInto decodes n into v, the field at path.
func (d *decoder) decodeInto(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	t := v.Type()
	switch {
	case t == mixesType:
		d.decodeMixes(n, path, v)
		return
	case reflect.PointerTo(t).Implements(yamlUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler):
		d.decodeLeaf(n, path, v)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeMapping(n, path, v, nil)
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		if t.Elem().Kind() != reflect.Struct {
			d.decodeLeaf(n, path, v)
			return
		}
		p := reflect.New(t.Elem())
		d.decodeInto(n, path, p.Elem())
		v.Set(p)
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Struct {
			d.decodeLeaf(n, path, v)
			return
		}
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, "%s: want a list, got %s", path, nodeKind(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for k, el := range n.Content {
			at := fmt.Sprintf("%s[%d]", path, k)
			d.lines[at] = el.Line
			d.decodeInto(el, at, s.Index(k))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				d.lines[join(path, n.Content[i].Value)] = n.Content[i].Line
			}
		}
		d.decodeLeaf(n, path, v)
	default:
		d.decodeLeaf(n, path, v)
	}
}

// decodeMixes decodes matrix.prompt_sets: a list whose entries are each a
// mix (a list of sets) or a single set.
func (d *decoder) decodeMixes(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: want a list of prompt mixes (each a list of prompt sets, or one set), got %s", path, nodeKind(n))
		return
	}
	mixes := make([][]PromptSet, len(n.Content))
	for k, el := range n.Content {
		el = resolveAlias(el)
		at := fmt.Sprintf("%s[%d]", path, k)
		d.lines[at] = el.Line
		switch el.Kind {
		case yaml.MappingNode: // a bare set: a mix of one
			one := make([]PromptSet, 1)
			d.lines[at+"[0]"] = el.Line
			d.decodeMapping(el, at+"[0]", reflect.ValueOf(one).Index(0), nil)
			mixes[k] = one
		case yaml.SequenceNode:
			d.decodeInto(el, at, reflect.ValueOf(&mixes[k]).Elem())
		default:
			d.errorf(el.Line, "%s: want a prompt mix (a list of prompt sets) or one prompt set, got %s", at, nodeKind(el))
		}
	}
	v.Set(reflect.ValueOf(mixes))
}

var (
	backquoted    = regexp.MustCompile("`([^`]*)`")
	typeErrorLine = regexp.MustCompile(`^line (\d+): `)
)

// decodeLeaf decodes a value with yaml.v3 and rewords its errors.
func (d *decoder) decodeLeaf(n *yaml.Node, path string, v reflect.Value) {
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// Errors of UnmarshalText, e.g. Duration's: already a sentence.
		d.errorf(n.Line, "%s: %s", path, err.Error())
		return
	}
	line, got := n.Line, nodeKind(n)
	if len(te.Errors) > 0 {
		first := te.Errors[0]
		if m := typeErrorLine.FindStringSubmatch(first); m != nil {
			if l, err := strconv.Atoi(m[1]); err == nil {
				line = l
			}
		}
		if m := backquoted.FindStringSubmatch(first); m != nil {
			got = strconv.Quote(m[1])
		} else if strings.Contains(first, "!!seq") {
			got = "a list"
		} else if strings.Contains(first, "!!map") {
			got = "a mapping"
		}
	}
	d.errorf(line, "%s: want %s, got %s", path, want(v.Type()), got)
}

// want describes the YAML that decodes into t.
func want(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[IntList]():
		return "a whole number or a list of whole numbers"
	case reflect.TypeFor[FloatList]():
		return "a number or a list of numbers"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return want(t.Elem())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "a whole number, not negative"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return "a mapping of names to strings"
		}
		return "a mapping"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(want(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}

// nodeKind names a node's kind for messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// yamlFields maps the yaml names of t's fields to their index paths,
// flattening `yaml:",inline"` structs as yaml.v3 does.
func yamlFields(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" && strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				m[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = []int{i}
	}
	return m
}

func fieldNames(m map[string][]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// suggest returns the known key closest to key, if it is close enough to
// be a typo (or differs only in - versus _ and case), else "".
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }
	best, bestD := "", 1<<30
	for _, k := range sortedCopy(known) {
		if norm(k) == norm(key) {
			return k
		}
		if dist := levenshtein(norm(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if bestD <= max(1, min(3, len(key)/3)) {
		return best
	}
	return ""
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
