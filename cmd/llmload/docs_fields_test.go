package main

// TestDocsFields checks the field tables of the docs against the types
// that write the files: every documented field exists, and every field
// written is documented.

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/stats"
)

// jsonPaths returns the dotted JSON path of every field of t, at every
// depth; a map's keys are "<>".
func jsonPaths(t reflect.Type, prefix string, out map[string]bool) map[string]bool {
	return tagPaths("json", t, prefix, out)
}

// tagPaths returns the dotted path of every field of t by its tag key
// (json, yaml).
func tagPaths(key string, t reflect.Type, prefix string, out map[string]bool) map[string]bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map:
		out[prefix+"<>"] = true
		tagPaths(key, t.Elem(), prefix+"<>.", out)
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return out
		}
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get(key), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if f.Anonymous && name == "" || opts == "inline" {
				tagPaths(key, f.Type, prefix, out)
				continue
			}
			out[prefix+name] = true
			tagPaths(key, f.Type, prefix+name+".", out)
		}
	}
	return out
}

var pctRE = regexp.MustCompile(`_p\d+_`)

// docFields returns the fields named in the first column of the tables of
// one section of a doc (from the heading to the next of its level), with
// shorthand expanded: `.b` after `a.x` is `a.b`, `_p50_` after
// `x_p25_y` is `x_p50_y`. Each field maps to its line.
func docFields(t *testing.T, file, heading string) map[string]int {
	t.Helper()
	b, err := os.ReadFile("../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		t.Fatalf("%s: no heading %q", file, heading)
	}
	level, _, _ := strings.Cut(heading, " ")
	fields := map[string]int{}
	tick := regexp.MustCompile("`([^`]+)`")
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "#") {
			if h, _, _ := strings.Cut(l, " "); len(h) <= len(level) {
				break
			}
		}
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		cell := strings.Split(l, "|")[1]
		first := ""
		for _, m := range tick.FindAllStringSubmatch(cell, -1) {
			f := m[1]
			switch {
			case first == "":
				first = f
			case strings.HasPrefix(f, "."):
				f = first[:strings.LastIndex(first, ".")] + f
			case strings.HasPrefix(f, "_") && strings.HasSuffix(f, "_"):
				f = pctRE.ReplaceAllString(first, f)
			}
			fields[f] = i + 1
		}
	}
	if len(fields) == 0 {
		t.Fatalf("%s: %q has no field table", file, heading)
	}
	return fields
}

// matches tells whether a documented path names the written path w: a
// <placeholder> stands for any key or field.
func matches(doc, w string) bool {
	ds, ws := strings.Split(doc, "."), strings.Split(w, ".")
	if len(ds) != len(ws) {
		return false
	}
	for i := range ds {
		if ds[i] != ws[i] && !strings.HasPrefix(ds[i], "<") {
			return false
		}
	}
	return true
}

// experimentKeys are the keys of an experiment file: config.Config's and
// the experiment's own.
func experimentKeys() map[string]bool {
	keys := tagPaths("yaml", reflect.TypeFor[config.Config](), "", map[string]bool{})
	tagPaths("yaml", reflect.TypeFor[config.Matrix](), "matrix.", keys)
	keys["matrix"], keys["api_key_env"] = true, true
	delete(keys, "api_key") // refused in files; the docs say so
	return keys
}

func TestDocsFields(t *testing.T) {
	for _, c := range []struct {
		file, heading string
		written       map[string]bool
	}{
		{"docs/run-directory.md", "## records.jsonl (schema_version 1)", jsonPaths(reflect.TypeFor[record.Record](), "", map[string]bool{})},
		{"docs/metrics.md", "## summary.json", jsonPaths(reflect.TypeFor[stats.Summary](), "", map[string]bool{})},
		{"docs/metrics.md", "## sweep.json and sweep.csv", jsonPaths(reflect.TypeFor[analysis.SweepRow](), "", map[string]bool{})},
		{"docs/experiments.md", "## Every key", experimentKeys()},
		{"docs/planning.md", "## plan.json (schema_version 1)", jsonPaths(reflect.TypeFor[analysis.Plan](), "", map[string]bool{})},
		{"docs/planning.md", "## Recommendation JSON (schema_version 1)", jsonPaths(reflect.TypeFor[analysis.Recommendation](), "", map[string]bool{})},
	} {
		doc := docFields(t, c.file, c.heading)
		written := c.written
		for _, f := range slices.Sorted(maps.Keys(doc)) {
			line := doc[f]
			found := false
			for w := range written {
				found = found || matches(f, w)
			}
			if !found {
				t.Errorf("%s:%d: `%s`: no such field is written", c.file, line, f)
			}
		}
		for _, w := range slices.Sorted(maps.Keys(written)) {
			// A field is documented by its own row, by a row of an object
			// that holds it, or by the rows of the fields it holds.
			parts := strings.Split(w, ".")
			documented := false
			for f := range doc {
				for k := range parts {
					documented = documented || matches(f, strings.Join(parts[:k+1], "."))
				}
				fp := strings.Split(f, ".")
				documented = documented || len(fp) > len(parts) && matches(strings.Join(fp[:len(parts)], "."), w)
			}
			if !documented {
				t.Errorf("%s, %q: field %s is written, but the table does not document it", c.file, c.heading, w)
			}
		}
	}
}
