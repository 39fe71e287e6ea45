package main

// TestDocsExamples' checks of blocks that are not commands: YAML and JSONL
// files, Go snippets, and the output samples whose form can be checked
// against a real run's.

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
)

// yamlKey is the name a YAML block is filed under: the name it gives
// itself, else one made from where it is.
func yamlKey(ex docExample) string {
	if n := exampleFileName(ex); n != "" {
		return n
	}
	return strings.NewReplacer("/", "-", ".md", "").Replace(ex.file) + "-" + strconv.Itoa(ex.line) + ".yaml"
}

// runYAML plans an experiment or config.yaml block, then runs it against
// the simulator.
func (d *docsEnv) runYAML(t *testing.T, ex docExample) {
	name := yamlKey(ex)
	for _, dry := range []bool{true, false} {
		args := []string{"-f", name}
		if dry {
			args = append(args, "--dry-run")
		}
		b := d.newBlock(t, ex)
		b.run(t, shellCmd{text: "llmload run " + strings.Join(args, " ")}, map[string]string{}, args)
	}
}

// runPromptFile runs a JSONL block as a --prompt-file.
func (d *docsEnv) runPromptFile(t *testing.T, ex docExample) {
	path := filepath.Join(t.TempDir(), "prompts.jsonl")
	if err := os.WriteFile(path, []byte(ex.text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--prompt-file", path}
	d.newBlock(t, ex).run(t, shellCmd{text: "llmload run --prompt-file prompts.jsonl"}, map[string]string{}, args)
}

// docGoCommands are the go commands the docs may show; their packages
// must exist. They are not run: this is a test already.
var docGoCommands = []string{
	"go test -race ./...",
	"go test -race -timeout 30m ./...", // the README's: cmd/llmload's docs examples take minutes under -race
	"go build -o llmload ./cmd/llmload",
	"go test -run x -bench . -benchmem ./llm/openai",
	"go test -bench . ./llm/openai",
	"go test -bench", // architecture.md names the tool its table comes from
	"go test -run x -bench Report100k ./reportgen",
	"go test -run XXX -bench RunnerPerChunk -benchmem ./load",
	"go test -run XXX -bench RunnerPaced -benchtime 3x -count 8 ./load",
	"go test -run XXX -bench StreamRead -benchmem ./llm/openai",
	"go run ./tools/screenshot -o PNG PAGE.html", // docs/recipes: how the screenshots were made
}

func checkGoCommand(t *testing.T, ex docExample, c shellCmd) {
	if !slices.Contains(docGoCommands, strings.Join(c.args, " ")) {
		t.Errorf("%s: %s: not a go command this test knows (docGoCommands)", ex, c.text)
	}
	for _, a := range c.args {
		if strings.HasPrefix(a, "./") && a != "./..." {
			if _, err := os.Stat(filepath.Join("../..", a)); err != nil {
				t.Errorf("%s: %s: %v", ex, c.text, err)
			}
		}
	}
}

// modulePkgs maps each package name of the module to its exported names,
// and each exported struct type (pkg.Type) to its fields.
var modulePkgs = sync.OnceValues(func() (map[string]map[string]bool, error) {
	names := map[string]map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, de os.DirEntry, err error) error {
		if err != nil || !de.IsDir() {
			return err
		}
		if n := de.Name(); path != "../.." && (strings.HasPrefix(n, ".") || n == "testdata") {
			return filepath.SkipDir
		}
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, path, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			return err
		}
		for pn, p := range pkgs {
			if names[pn] == nil {
				names[pn] = map[string]bool{}
			}
			for _, f := range p.Files {
				for _, decl := range f.Decls {
					switch d := decl.(type) {
					case *ast.FuncDecl:
						if d.Recv == nil {
							names[pn][d.Name.Name] = true
						}
					case *ast.GenDecl:
						for _, s := range d.Specs {
							switch s := s.(type) {
							case *ast.TypeSpec:
								names[pn][s.Name.Name] = true
								if st, ok := s.Type.(*ast.StructType); ok {
									for _, fl := range st.Fields.List {
										for _, n := range fl.Names {
											names[pn][s.Name.Name+"."+n.Name] = true
										}
										if len(fl.Names) == 0 { // embedded
											names[pn][s.Name.Name+"."+strings.TrimPrefix(typeName(fl.Type), "*")] = true
										}
									}
								}
							case *ast.ValueSpec:
								for _, n := range s.Names {
									names[pn][n.Name] = true
								}
							}
						}
					}
				}
			}
		}
		return nil
	})
	return names, err
})

// typeName names an embedded field's type.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

var (
	selectorRE = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.([A-Z]\w*)`)
	literalRE  = regexp.MustCompile(`(\[\])?\b([a-z][a-z0-9]*)\.([A-Z]\w*)\{`)
	keyRE      = regexp.MustCompile(`^\s*([A-Z]\w*)\s*:`)
	commentRE  = regexp.MustCompile(`(?m)(^|\s)//.*$|/\*.*?\*/`)
)

// checkGoSnippet checks that a Go snippet of the docs names only what the
// module has: every pkg.Name of a module package, and the fields of its
// struct literals. The snippets are fragments (with "..."), so they are
// not compiled.
func checkGoSnippet(t *testing.T, ex docExample) {
	pkgs, err := modulePkgs()
	if err != nil {
		t.Fatal(err)
	}
	code := commentRE.ReplaceAllString(ex.text, "")
	known := 0
	for _, m := range selectorRE.FindAllStringSubmatch(code, -1) {
		if p, ok := pkgs[m[1]]; ok && m[1] != "main" {
			known++
			if !p[m[2]] {
				t.Errorf("%s: %s.%s: package %s has no such exported name", ex, m[1], m[2], m[1])
			}
		}
	}
	if known == 0 {
		t.Errorf("%s: a Go snippet that uses no package of this module; check it some other way", ex)
	}
	for _, m := range literalRE.FindAllStringSubmatchIndex(code, -1) {
		pkg, typ := code[m[4]:m[5]], code[m[6]:m[7]]
		p, ok := pkgs[pkg]
		if !ok {
			continue
		}
		want := 1 // the depth of the literal's keys, inside its braces
		if m[2] >= 0 {
			want = 2 // a slice literal: its elements' keys
		}
		check := func(rest string) {
			if k := keyRE.FindStringSubmatch(rest); k != nil && !p[typ+"."+k[1]] {
				t.Errorf("%s: %s.%s has no field %s", ex, pkg, typ, k[1])
			}
		}
		body := code[m[1]:]
		if want == 1 {
			check(body)
		}
		for i, depth := 0, 1; i < len(body) && depth > 0; i++ {
			switch body[i] {
			case '{':
				if depth++; depth == want {
					check(body[i+1:])
				}
			case '}':
				depth--
			case ',':
				if depth == want {
					check(body[i+1:])
				}
			}
		}
	}
}

// checkQuickStartOutput runs the quick start and checks that it prints the
// rows of the summary the README shows, in the same words.
func checkQuickStartOutput(t *testing.T, d *docsEnv, ex docExample) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI(t, nil, "run", "--no-report=false", "--max-requests", strconv.Itoa(docMaxRequests),
		"--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress")
	if st != exitOK {
		t.Fatalf("%s: the quick start: status %d\n%s%s", ex, st, out, errs)
	}
	var got []string
	for l := range strings.SplitSeq(out, "\n") {
		got = append(got, label(l))
	}
	for i, l := range strings.Split(strings.TrimSpace(ex.text), "\n") {
		if lb := label(l); lb != "" && !slices.Contains(got, lb) {
			t.Errorf("%s: the README shows a row %q; the quick start prints none:\n%s", docExample{file: ex.file, line: ex.line + i}, lb, out)
		}
	}
	// "serves a simulated Llama 2 7B on one A10G …, sends (550 ± 138 input
	// tokens, 150 ± 38 output tokens) from 10 concurrent clients"
	r := readSummary(t, dir).Run
	if r.Provider != "sim" || r.Sim == nil || r.Sim.Profile != "llama2-7b-a10g" || r.Concurrency != 10 ||
		r.MeanInputTokens != 550 || r.StddevInputTokens != 138 || r.MeanOutputTokens != 150 || r.StddevOutputTokens != 38 {
		t.Errorf("%s: the quick start ran %+v", ex, r)
	}
	for _, want := range []string{"closed loop, concurrency 10, api chat, stream", "stop: max_requests", "errors       none"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: the quick start does not print %q:\n%s", ex, want, out)
		}
	}
}

// label is a summary row's name: the text before its first run of two
// spaces.
func label(l string) string {
	l = strings.TrimSpace(l)
	if i := strings.Index(l, "  "); i >= 0 {
		l = l[:i]
	}
	return l
}

// checkExperimentPlan checks that `llmload run -f experiment.yaml
// --dry-run` begins as docs/experiments.md shows.
func checkExperimentPlan(t *testing.T, d *docsEnv, ex docExample) {
	path := filepath.Join(t.TempDir(), "experiment.yaml")
	if err := os.WriteFile(path, []byte(d.files["experiment.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	st, out, errs := runCLI(t, nil, "run", "-f", path, "--dry-run")
	if st != exitOK {
		t.Fatalf("%s: status %d\n%s", ex, st, errs)
	}
	out = strings.ReplaceAll(out, path, "experiment.yaml")
	want := strings.TrimSuffix(ex.text, "...\n")
	if !strings.HasPrefix(out, want) {
		t.Errorf("%s: the plan begins\n%s\nbut the document shows\n%s", ex, out[:min(len(out), len(want)+200)], want)
	}
}

// checkSLOErrors gives each documented bad --slo or --threshold and checks
// the message.
func checkSLOErrors(t *testing.T, d *docsEnv, ex docExample) {
	re := regexp.MustCompile(`^(slo|threshold) "([^"]+)": `)
	for i, l := range strings.Split(strings.TrimSpace(ex.text), "\n") {
		m := re.FindStringSubmatch(l)
		at := docExample{file: ex.file, line: ex.line + i}
		if m == nil {
			t.Errorf("%s: %q is not a --slo or --threshold error", at, l)
			continue
		}
		st, _, errs := runCLI(t, nil, "run", "--"+m[1], m[2], "--dry-run")
		if st != exitUsage || !strings.Contains(errs, l) {
			t.Errorf("%s: --%s %q: status %d, want 2 and\n%s\ngot\n%s", at, m[1], m[2], st, l, errs)
		}
	}
}

// checkThresholdOutput runs thresholds that pass, fail and lack data, and
// checks each documented line's form against what llmload prints.
func checkThresholdOutput(t *testing.T, d *docsEnv, ex docExample) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI(t, nil, "run", "--max-requests", "2", "--sim-time-scale", ftoa(docTimeScale), "--stream=false",
		"--threshold", "ttft_p95<500ms", "--threshold", "error_rate<1%", "--threshold", "tpot_p95<80ms",
		"--results-dir", dir, "--no-progress")
	if st != exitThresholds {
		t.Fatalf("%s: status %d, want 3\n%s%s", ex, st, out, errs)
	}
	num := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
	for i, l := range strings.Split(strings.TrimSpace(ex.text), "\n") {
		// The form, not the numbers nor which passed.
		parts := num.Split(l, -1)
		for i, p := range parts {
			parts[i] = strings.NewReplacer(`✓ PASS`, `(✓ PASS|✗ FAIL)`, `✗ FAIL`, `(✓ PASS|✗ FAIL)`).Replace(regexp.QuoteMeta(p))
		}
		pat := strings.Join(parts, `[0-9]+(\.[0-9]+)?`)
		if !regexp.MustCompile("(?m)^" + pat + "$").MatchString(out) {
			t.Errorf("%s: llmload prints no line like %q:\n%s", docExample{file: ex.file, line: ex.line + i}, l, out)
		}
	}
}

// checkSynopsis checks that every flag of a command's synopsis is one of
// the command's flags.
func checkSynopsis(t *testing.T, d *docsEnv, ex docExample) {
	f := strings.Fields(ex.text)
	st, out, errs := runCLI(t, nil, f[1], "-h")
	if st != exitOK {
		t.Fatalf("%s: llmload %s -h: status %d\n%s", ex, f[1], st, errs)
	}
	for _, w := range f[2:] {
		if strings.HasPrefix(w, "--") && !strings.Contains(out, "\n  -"+w[2:]+" ") && !strings.Contains(out, "\n  -"+w[2:]+"\n") {
			t.Errorf("%s: llmload %s has no flag %s:\n%s", ex, f[1], w, out)
		}
	}
}

// checkDefaultResultsDir checks the README's word that the quick start
// writes results/<time>-<model>-c10/: the one run made without
// --results-dir, in a scratch working directory.
func checkDefaultResultsDir(t *testing.T, all []docExample) {
	i := slices.IndexFunc(all, func(ex docExample) bool {
		return ex.file == "README.md" && ex.lang == "sh" && strings.HasPrefix(ex.text, "go run ./cmd/llmload run ")
	})
	if i < 0 {
		t.Fatal("README.md: no quick start (go run ./cmd/llmload run …)")
	}
	ex := all[i]
	t.Chdir(t.TempDir())
	st, out, errs := runCLI(t, nil, "run", "--max-requests", "2", "--sim-time-scale", ftoa(docTimeScale), "--no-progress")
	m := regexp.MustCompile(`\nResults: (results/\d{8}-\d{6}-meta-llama-Llama-2-7b-chat-hf-c10)\n`).FindStringSubmatch(out)
	if st != exitOK || m == nil {
		t.Fatalf("%s: the quick start does not write results/<time>-<model>-c10/: status %d\n%s%s", ex, st, out, errs)
	}
	if _, err := os.Stat(filepath.Join(m[1], "summary.json")); err != nil {
		t.Errorf("%s: %v", ex, err)
	}
}

// checkResults checks a run directory, or a sweep's, as
// docs/run-directory.md lays them out, and that no request failed: the
// simulator serves every documented example.
func checkResults(t *testing.T, ex docExample, c shellCmd, dir string, want []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if os.IsNotExist(err) {
		checkRunDir(t, ex, c, dir)
		return
	}
	var ss analysis.SweepSummary
	if err == nil {
		err = json.Unmarshal(b, &ss)
	}
	if err != nil || len(ss.Rows) == 0 {
		t.Errorf("%s: %s\nsweep.json: %v, %d rows", ex, c.text, err, len(ss.Rows))
		return
	}
	var got []string
	for _, r := range ss.Rows {
		got = append(got, r.Dir)
	}
	match := func(w, g string) bool {
		p, wild := strings.CutSuffix(w, "…")
		return g == w || wild && strings.HasPrefix(g, p)
	}
	if ss.StopReason == "" && !slices.EqualFunc(want, got, match) {
		t.Errorf("%s: %s\n%s: levels %q, want %q", ex, c.text, dir, got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sweep.csv")); err != nil {
		t.Errorf("%s: %s\n%v", ex, c.text, err)
	}
	for _, r := range ss.Rows {
		checkRunDir(t, ex, c, filepath.Join(dir, r.Dir))
	}
}

func checkRunDir(t *testing.T, ex docExample, c shellCmd, dir string) {
	t.Helper()
	for _, pat := range []string{rundir.ConfigFile, rundir.RecordsFile, rundir.TimelineFile, rundir.SummaryFile,
		"*_summary.json", "*_individual_responses.json"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) != 1 {
			t.Errorf("%s: %s\n%s: %d files %s, want 1", ex, c.text, dir, len(m), pat)
		}
	}
	if e, err := config.LoadExperiment(filepath.Join(dir, rundir.ConfigFile)); err == nil && len(e.Base.PromptSets) > 1 {
		recs, err := record.ReadFile(filepath.Join(dir, rundir.RecordsFile))
		for _, ps := range e.Base.PromptSets {
			if err == nil && !slices.ContainsFunc(recs, func(r record.Record) bool { return r.PromptSet == ps.Name }) {
				t.Errorf("%s: %s\n%s: no request came from prompt set %q: raise docMixRequests", ex, c.text, dir, ps.Name)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		return
	}
	var s struct {
		Requests struct{ Total, Succeeded, Failed int }
		Errors   map[string]int `json:"errors_by_kind"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Errorf("%s: %s\n%v", ex, c.text, err)
		return
	}
	if s.Requests.Total == 0 || s.Requests.Failed > 0 {
		recs, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
		first, _, _ := bytes.Cut(recs[bytes.Index(recs, []byte(`"error_kind"`))+1:], []byte("\n"))
		t.Errorf("%s: %s\n%s: %d of %d requests failed (%v): …%s", ex, c.text, dir, s.Requests.Failed, s.Requests.Total, s.Errors, first)
	}
}

// wantLevels is the level directories a sweep writes, as
// docs/run-directory.md names them; nil for a single run.
func wantLevels(cfg *config.Config, e *config.Experiment) []string {
	var dirs []string
	switch {
	case e != nil && hasMatrix(e):
		cases, _ := e.ExpandWithoutKeys()
		for _, cs := range cases {
			dirs = append(dirs, cs.Dir)
		}
	case cfg.Sweep == config.SweepAuto:
		dirs = []string{"sync", "throughput-c" + strconv.Itoa(docAutoCeiling)}
		for range docSweepLevels {
			dirs = append(dirs, "r…")
		}
	case cfg.Mode == load.ModeRate && len(cfg.Rate) > 1:
		for _, r := range cfg.Rate {
			dirs = append(dirs, "r"+ftoa(r))
		}
	case (cfg.Mode == load.ModeBatchSequential || cfg.Mode == load.ModeBatchInterval) && len(cfg.BatchSize) > 1:
		for _, b := range cfg.BatchSize {
			dirs = append(dirs, "b"+strconv.Itoa(b))
		}
	case len(cfg.Concurrency) > 1:
		for _, c := range cfg.Concurrency {
			dirs = append(dirs, "c"+strconv.Itoa(c))
		}
	}
	return dirs
}

// checkLayout checks a drawing of a run directory (or of a sweep's)
// against one llmload writes: every file drawn is there, and a run
// directory holds no file the drawing leaves out.
func checkLayout(t *testing.T, d *docsEnv, ex docExample) {
	nameRE := regexp.MustCompile(`^[\w<>.-]+/?$`)
	top, rest, _ := strings.Cut(strings.TrimSpace(ex.text), "\n")
	var names []string
	for l := range strings.SplitSeq(rest, "\n") {
		for _, w := range strings.Fields(l) {
			if !nameRE.MatchString(w) || !strings.ContainsAny(w, "./") {
				break
			}
			names = append(names, w)
		}
	}
	if top != "results/<name>/" || len(names) == 0 {
		t.Fatalf("%s: not a drawing of results/<name>/: %q", ex, names)
	}
	sweep := slices.Contains(names, "sweep.json")
	args := []string{"run", "--max-requests", "2", "--sim-time-scale", ftoa(docTimeScale), "--no-progress"}
	if sweep {
		var levels []string
		for _, n := range names {
			if c, ok := strings.CutSuffix(strings.TrimPrefix(n, "c"), "/"); ok && strings.HasPrefix(n, "c") {
				levels = append(levels, c)
			}
		}
		args = append(args, "--concurrency", strings.Join(levels, ","))
	}
	dir := filepath.Join(t.TempDir(), "run")
	if st, out, errs := runCLI(t, nil, append(args, "--no-report=false", "--results-dir", dir)...); st != exitOK {
		t.Fatalf("%s: llmload %s: status %d\n%s%s", ex, strings.Join(args, " "), st, out, errs)
	}
	var pats []string
	for _, n := range names {
		pat := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(strings.TrimSuffix(n, "/"), "*")
		pats = append(pats, pat)
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) != 1 {
			t.Errorf("%s: %s drawn, but %d such files in %s", ex, n, len(m), dir)
		}
	}
	if sweep {
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !slices.ContainsFunc(pats, func(p string) bool { ok, _ := filepath.Match(p, e.Name()); return ok }) {
			t.Errorf("%s: a run directory holds %s, which the drawing leaves out", ex, e.Name())
		}
	}
}

// checkProfileFile loads a documented simulator profile file and predicts
// from it with llmload sim --profile-file … --predict.
func checkProfileFile(t *testing.T, _ *docsEnv, ex docExample) {
	path := filepath.Join(t.TempDir(), "profile.yaml")
	if err := os.WriteFile(path, []byte(ex.text), 0o644); err != nil {
		t.Fatal(err)
	}
	st, out, errs := runCLI(t, nil, "sim", "--profile-file", path, "--predict", "--predict-concurrency", "1,8")
	if st != exitOK || !strings.Contains(out, "output tok/s") {
		t.Errorf("%s: llmload sim --profile-file: status %d\n%s%s", ex, st, out, errs)
	}
}

// checkDatasetDryRun checks workload.md's sample of the dataset line
// against what the --dry-run it follows prints.
func checkDatasetDryRun(t *testing.T, _ *docsEnv, ex docExample) {
	// The docs give the dataset's path from the module root; the test
	// runs in cmd/llmload (and in parallel: no Chdir).
	path := filepath.Join("..", "..", "examples", "datasets", "chat-sample.jsonl")
	st, out, errs := runCLI(t, nil, "run", "--dry-run", "--dataset", path, "--dataset-max-input-tokens", "500",
		"--dataset-sample", "sequential", "--dataset-output-lengths", "fixed", "--mean-output-tokens", "128")
	want := strings.Replace(ex.text, "dataset:    examples/datasets/chat-sample.jsonl:", "dataset:    "+path+":", 1)
	want = strings.Replace(want, "dataset:    "+path+":", "dataset:"+strings.Repeat(" ", 11-len("dataset:"))+" "+path+":", 1)
	if st != exitOK || !strings.Contains(out, want) {
		t.Errorf("%s: the sample is not the line --dry-run prints (status %d, %s):\n%s", ex, st, errs, out)
	}
}

// checkTurnTable checks metrics.md's sample of the per-turn table: its
// sessions line and column header are what a session run prints.
func checkTurnTable(t *testing.T, _ *docsEnv, ex docExample) {
	dir := filepath.Join(t.TempDir(), "sessions")
	st, out, errs := runCLI(t, nil, "run", "--turns", "2", "--concurrency", "2", "--max-requests", "4", "--mean-input-tokens", "50",
		"--mean-output-tokens", "8", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress", "--no-report")
	if st != exitOK {
		t.Fatalf("%s: status %d\n%s%s", ex, st, out, errs)
	}
	lines := strings.Split(ex.text, "\n")
	sessions := regexp.MustCompile(`(?m)^sessions     \d+, \d+ completed every turn; turns per session mean [\d.]+, max \d+(; a completed session took p50 [\d.]+ s)?$`)
	if !sessions.MatchString(lines[0]) || !sessions.MatchString(out) {
		t.Errorf("%s: the sessions line does not match the run's:\n%s", ex, out)
	}
	if !strings.Contains(out, "\n"+lines[1]+"\n") {
		t.Errorf("%s: the table header %q is not the run's:\n%s", ex, lines[1], out)
	}
	row := regexp.MustCompile(`(?m)^1 +\d+ +\d+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.-]+$`)
	if !row.MatchString(lines[2]) || !row.MatchString(out) {
		t.Errorf("%s: the first turn's row does not match the run's:\n%s", ex, out)
	}
}
