package main

// How TestDocsExamples runs the docs' commands: in-process through the CLI,
// against simulators on 127.0.0.1 only, made fast and small.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/theory"
)

// What a documented command is made into, to run locally and fast. Only
// what must change changes, and only downwards.
const (
	docTimeScale     = 0.02                   // simulator speed (--sim-time-scale, sim --time-scale)
	docMaxRequests   = 4                      // measured requests per run or level
	docBatches       = 1                      // batches of the batch modes
	docDuration      = 10 * time.Second       // --duration
	docWarmup        = 1                      // warm-up requests
	docRamp          = 200 * time.Millisecond // --ramp
	docBatchInterval = 250 * time.Millisecond // --batch-interval
	docMixRequests   = 12                     // requests per run of a mix of prompt sets: enough to draw from each
	docSweepLevels   = 2                      // rate levels of --sweep auto
	docAutoCeiling   = 16                     // --sweep auto's throughput search: its first step only
)

// docsEnv is what the examples share: a scratch directory and the files
// the docs show (experiment.yaml).
type docsEnv struct {
	files map[string]string // name → content

	mu  sync.Mutex
	ran map[string]string // a real run made local and small → the example that ran it
}

// once reports whether the run key stands for is the first of its kind,
// or else which example made it: the docs show some runs more than once
// (experiment.yaml as a block, as a command, inline), and what the test
// makes of them is one run.
func (d *docsEnv) once(key, where string) (first bool, by string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if by, ok := d.ran[key]; ok {
		return false, by
	}
	if d.ran == nil {
		d.ran = map[string]string{}
	}
	d.ran[key] = where
	return true, ""
}

// block runs the commands of one example in order; an `llmload sim` it
// starts serves the commands after it.
type block struct {
	d     *docsEnv
	ex    docExample
	env   map[string]string
	hosts map[string]string // documented host:port → where its simulator listens
	stops []func()
	// dirs maps a documented --results-dir to where the test's run wrote
	// it, so a later `llmload compare` of the block reads it.
	dirs map[string]string
	// rest is the text of the block's commands, to tell whether a later
	// one reads a run's results directory.
	rest string
}

func (d *docsEnv) runShell(t *testing.T, ex docExample) {
	cmds, err := parseShell(ex.text)
	if err != nil {
		t.Fatalf("%s: %v", ex, err)
	}
	if len(cmds) == 0 {
		t.Fatalf("%s: a shell block with no command", ex)
	}
	b := d.newBlock(t, ex)
	for i, c := range cmds {
		b.rest = ""
		for _, l := range cmds[i+1:] {
			b.rest += l.text + "\n"
		}
		b.exec(t, c)
	}
}

func (d *docsEnv) newBlock(t *testing.T, ex docExample) *block {
	b := &block{d: d, ex: ex, env: map[string]string{}, hosts: map[string]string{}, dirs: map[string]string{}}
	t.Cleanup(func() {
		for _, stop := range slices.Backward(b.stops) {
			stop()
		}
	})
	return b
}

// runInline runs a command quoted in prose.
func (d *docsEnv) runInline(t *testing.T, ex docExample) {
	b := d.newBlock(t, ex)
	if strings.Contains(ex.text, "results/<run>/config.yaml") {
		// Re-running a run directory's config.yaml: make one first.
		dir := filepath.Join(t.TempDir(), "first")
		st, out, errs := runCLI(t, nil, "run", "--max-requests", "2", "--concurrency", "2", "--sim-time-scale", ftoa(docTimeScale),
			"--results-dir", dir, "--no-progress")
		if st != exitOK {
			t.Fatalf("%s: the run to re-run: status %d\n%s%s", ex, st, out, errs)
		}
		ex.text = strings.ReplaceAll(ex.text, "results/<run>", dir)
	}
	c, err := parseCommand(ex.text)
	if err != nil || c == nil {
		t.Fatalf("%s: %q: %v", ex, ex.text, err)
	}
	b.exec(t, *c)
}

// at is where c is written.
func (b *block) at(c shellCmd) docExample {
	return docExample{file: b.ex.file, line: b.ex.line + c.line}
}

func (b *block) errorf(t *testing.T, c shellCmd, format string, args ...any) {
	t.Helper()
	t.Errorf("%s: %s\n%s", b.at(c), c.text, fmt.Sprintf(format, args...))
}

func (b *block) exec(t *testing.T, c shellCmd) {
	t.Helper()
	args := c.args
	switch {
	case args[0] == "export":
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			b.env[k] = v
		}
	case len(args) >= 3 && args[0] == "go" && args[1] == "run" && args[2] == "./cmd/llmload":
		b.llmload(t, c, args[3:])
	case args[0] == "go":
		checkGoCommand(t, b.at(c), c)
	case args[0] == "llmload":
		b.llmload(t, c, args[1:])
	default:
		b.errorf(t, c, "this test does not know how to run %q", args[0])
	}
}

func (b *block) llmload(t *testing.T, c shellCmd, args []string) {
	t.Helper()
	if len(args) == 0 {
		b.errorf(t, c, "no command")
		return
	}
	env := map[string]string{}
	for k, v := range b.env {
		env[k] = v
	}
	for k, v := range c.env {
		env[k] = v
	}
	if slices.Contains(args[1:], "-h") || slices.Contains(args[1:], "--help") {
		st, out, errs := runCLI(t, env, args...)
		if st != exitOK || !strings.Contains(out, "Usage: llmload "+args[0]) {
			b.errorf(t, c, "status %d, want 0 and the usage\n%s%s", st, out, errs)
		}
		return
	}
	switch args[0] {
	case "run":
		b.run(t, c, env, args[1:])
	case "sim":
		b.sim(t, c, env, args[1:])
	case "selfcheck":
		b.selfcheck(t, c, env, args[1:])
	case "report":
		b.report(t, c, env, args[1:])
	case "compare":
		b.compare(t, c, env, args[1:])
	case "theory":
		b.theory(t, c, env, args[1:])
	case "plan":
		b.plan(t, c, env, args[1:])
	default:
		b.errorf(t, c, "this test does not know llmload %s", args[0])
	}
}

// report runs `llmload report DIR` on a directory made for it: a small run,
// or a small sweep when the documented directory's name says sweep.
func (b *block) report(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	if len(args) == 0 {
		b.errorf(t, c, "llmload report needs a directory")
		return
	}
	documented := args[len(args)-1]
	dir := filepath.Join(t.TempDir(), filepath.Base(documented))
	mk := []string{"run", "--max-requests", "3", "--concurrency", "2", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress"}
	if strings.Contains(documented, "sweep") {
		mk[4] = "1,2"
	}
	if st, out, errs := runCLI(t, nil, mk...); st != exitOK {
		t.Fatalf("%s: making %s to report on: status %d\n%s%s", b.at(c), documented, st, out, errs)
	}
	os.Remove(filepath.Join(dir, "report.html"))
	st, out, errs := runCLI(t, env, append(append([]string{"report"}, args[:len(args)-1]...), dir)...)
	if st != exitOK {
		b.errorf(t, c, "status %d\n%s%s", st, out, errs)
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		b.errorf(t, c, "no report.html rebuilt: %v", err)
	}
}

// compare runs `llmload compare` on the directories earlier commands of
// the block wrote (or, for a directory none wrote, a small run, a small
// sweep when its name says sweep, or a small matrix sweep when it is the
// only input), with --out in a temporary directory.
func (b *block) compare(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "compare")
	cmd := []string{"compare"}
	var inputs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--out" || a == "-out":
			i++
		case strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "-out="):
		case strings.HasPrefix(a, "-"):
			cmd = append(cmd, a)
		default:
			inputs = append(inputs, a)
		}
	}
	for _, documented := range inputs {
		dir, ok := b.dirs[documented]
		if !ok {
			dir = filepath.Join(t.TempDir(), filepath.Base(documented))
			mk := []string{"run", "--max-requests", "3", "--concurrency", "2", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress"}
			switch {
			case len(inputs) == 1:
				// One input: a matrix sweep, whose groups are compared.
				exp := filepath.Join(t.TempDir(), "matrix.yaml")
				yaml := "max_requests: 3\nsim: {time_scale: " + ftoa(docTimeScale) + "}\nmatrix:\n  concurrency: [1, 2]\n" +
					"  prompt_sets:\n    - {name: small, mean_input_tokens: 50}\n    - {name: large, mean_input_tokens: 2000}\n"
				if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				mk = []string{"run", "-f", exp, "--results-dir", dir, "--no-progress"}
			case strings.Contains(documented, "sweep"):
				mk[4] = "1,2"
			}
			if st, out, errs := runCLI(t, nil, mk...); st != exitOK {
				t.Fatalf("%s: making %s to compare: status %d\n%s%s", b.at(c), documented, st, out, errs)
			}
		}
		cmd = append(cmd, dir)
	}
	cmd = append(cmd, "--out", out)
	t.Logf("%s: %s\nruns as: llmload %s", b.at(c), c.text, strings.Join(cmd, " "))
	st, stdout, errs := runCLI(t, env, cmd...)
	if st != exitOK {
		b.errorf(t, c, "status %d\n%s%s", st, stdout, errs)
		return
	}
	for _, f := range []string{"compare.html", "compare.md", "compare.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			b.errorf(t, c, "no %s written: %v", f, err)
		}
	}
}

// selfcheck runs `llmload selfcheck` small and fast: two low levels, a
// short level, a short response; --out goes to a temporary file, which
// must then hold JSON. Its verdict depends on the machine, so only its
// exit status and output are checked.
func (b *block) selfcheck(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	f := flagArgs{args: slices.Clone(args), isBool: func(string) bool { return false }}
	f.set("concurrency", "1,4")
	f.set("duration", "300ms")
	f.set("tokens", "8")
	f.set("ttft", "20ms")
	f.set("itl", "5ms")
	out := ""
	if _, ok := f.get("out"); ok {
		out = filepath.Join(t.TempDir(), "selfcheck.json")
		f.set("out", out)
	}
	st, stdout, errs := runCLI(t, env, append([]string{"selfcheck"}, f.args...)...)
	if st != exitOK || !strings.Contains(stdout, "verdict") {
		b.errorf(t, c, "status %d, want 0 and a verdict\n%s%s", st, stdout, errs)
	}
	if out != "" {
		if raw, err := os.ReadFile(out); err != nil || !json.Valid(raw) {
			b.errorf(t, c, "--out wrote no JSON: %v", err)
		}
	}
}

// theory runs `llmload theory`, which needs no endpoint; a --catalog file
// the docs name is the built-in catalog, written to a temporary file.
func (b *block) theory(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	f := flagArgs{args: slices.Clone(args), isBool: func(n string) bool { return n == "list" || n == "print-catalog" }}
	if _, ok := f.get("catalog"); ok {
		path := filepath.Join(t.TempDir(), "catalog.yaml")
		if err := os.WriteFile(path, theory.CatalogYAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		f.set("catalog", path)
	}
	if _, ok := f.get("sweep"); ok {
		// A small sweep made for it.
		dir := filepath.Join(t.TempDir(), "sweep")
		if st, out, errs := runCLI(t, nil, "run", "--max-requests", "3", "--concurrency", "1,2", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress"); st != exitOK {
			t.Fatalf("%s: making a sweep for --sweep: status %d\n%s%s", b.at(c), st, out, errs)
		}
		f.set("sweep", dir)
	}
	st, stdout, errs := runCLI(t, env, append([]string{"theory"}, f.args...)...)
	if st != exitOK || stdout == "" {
		b.errorf(t, c, "status %d, want 0 and output\n%s%s", st, stdout, errs)
	}
}

// plan runs `llmload plan DIR` on a small sweep made for it (a small run
// when the documented directory's name does not say sweep), with --prices
// and --out in a temporary directory.
func (b *block) plan(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	f := flagArgs{args: slices.Clone(args), isBool: func(n string) bool {
		return n == "print-prices" || n == "price-batch" || n == "simulate" || n == "print-instance-prices"
	}}
	if _, ok := f.get("prices"); ok {
		path := filepath.Join(t.TempDir(), "prices.yaml")
		if err := os.WriteFile(path, analysis.PricesYAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		f.set("prices", path)
	}
	if _, ok := f.get("instance-prices"); ok {
		path := filepath.Join(t.TempDir(), "instances.yaml")
		if err := os.WriteFile(path, analysis.InstancesYAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		f.set("instance-prices", path)
	}
	if _, ok := f.get("out"); ok {
		f.set("out", filepath.Join(t.TempDir(), "plan.json"))
	}
	args = f.args
	if !slices.Contains(args, "--print-prices") && !slices.Contains(args, "--simulate") && !slices.Contains(args, "--print-instance-prices") {
		// Every operand is a directory to plan from: make each.
		var at []int
		for j := 0; j < len(args); j++ {
			k, _, eq := strings.Cut(strings.TrimLeft(args[j], "-"), "=")
			switch {
			case !strings.HasPrefix(args[j], "-"):
				at = append(at, j)
			case !eq && !f.isBool(k):
				j++ // the flag's value
			}
		}
		if len(at) == 0 {
			b.errorf(t, c, "llmload plan needs a directory")
			return
		}
		args = slices.Clone(args)
		for _, i := range at {
			documented := args[i]
			dir := filepath.Join(t.TempDir(), filepath.Base(documented))
			mk := []string{"run", "--max-requests", "3", "--concurrency", "2", "--sim-time-scale", ftoa(docTimeScale), "--results-dir", dir, "--no-progress"}
			if strings.Contains(documented, "sweep") {
				mk[4] = "1,2"
			}
			if st, out, errs := runCLI(t, nil, mk...); st != exitOK {
				t.Fatalf("%s: making %s to plan from: status %d\n%s%s", b.at(c), documented, st, out, errs)
			}
			args[i] = dir
		}
	}
	st, stdout, errs := runCLI(t, env, append([]string{"plan"}, args...)...)
	if st != exitOK || stdout == "" {
		b.errorf(t, c, "status %d, want 0 and output\n%s%s", st, stdout, errs)
	}
}

// sim starts `llmload sim` on a free loopback port and serves the
// documented address from it until the example ends.
func (b *block) sim(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	if slices.Contains(args, "--predict") {
		// Prints a curve from the virtual clock and exits; serves nothing.
		st, out, errs := runCLI(t, env, append([]string{"sim"}, args...)...)
		if st != exitOK || !strings.Contains(out, "output tok/s") {
			b.errorf(t, c, "llmload sim --predict: status %d\n%s%s", st, out, errs)
		}
		return
	}
	f := flagArgs{args: slices.Clone(args), isBool: func(n string) bool { return n == "bedrock-quota" || n == "predict" }}
	listen, ok := f.get("listen")
	if !ok {
		listen = "127.0.0.1:8000" // the default
	}
	f.set("listen", "127.0.0.1:0")
	if s, ok := f.get("time-scale"); !ok || atof(s) > docTimeScale {
		f.set("time-scale", ftoa(docTimeScale))
	}
	var stderr syncBuffer
	cl := &cli{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return env[k] }, interrupted: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cl.main(ctx, append([]string{"sim"}, f.args...)) }()
	serving := regexp.MustCompile(`serving http://(\S+)/v1`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m := serving.FindStringSubmatch(stderr.String()); m != nil {
			b.hosts[listen] = m[1]
			break
		}
		select {
		case st := <-done:
			cancel()
			b.errorf(t, c, "llmload sim ended with status %d before serving:\n%s", st, stderr.String())
			return
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			b.errorf(t, c, "llmload sim never said where it serves:\n%s", stderr.String())
			return
		}
	}
	b.stops = append(b.stops, func() {
		cancel()
		select {
		case st := <-done:
			if st != exitOK || !strings.Contains(stderr.String(), "llmload sim: stopped") {
				b.errorf(t, c, "llmload sim stopped with status %d:\n%s", st, stderr.String())
			}
		case <-time.After(10 * time.Second):
			b.errorf(t, c, "llmload sim did not stop")
		}
	})
}

// startSim serves a simulator on 127.0.0.1 for one example, serving model
// (the profile's when empty), and returns its URL.
func startSim(t *testing.T, model string) string {
	t.Helper()
	s, err := sim.New(sim.Options{TimeScale: docTimeScale, ModelName: model, InvocationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		hs.Close()
	})
	return hs.URL
}

func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// local returns u pointed at a simulator: the block's, for an address an
// `llmload sim` of the example serves, or a new one.
func (b *block) local(t *testing.T, u *url.URL, model string) string {
	if a, ok := b.hosts[u.Host]; ok {
		return "http://" + a + u.EscapedPath()
	}
	return startSim(t, model) + u.EscapedPath()
}

var urlRE = regexp.MustCompile(`https?://[^\s"'/,}]+`)

// run runs `llmload run` as documented, made local and fast, and checks
// its outcome.
func (b *block) run(t *testing.T, c shellCmd, env map[string]string, args []string) {
	t.Helper()
	f := flagArgs{args: slices.Clone(args)}
	var cfg config.Config
	var rf runFlags
	parse := func(base config.Config) error {
		cfg = base
		fs := bindRunFlags(&cfg, &rf)
		f.isBool = func(n string) bool {
			fl := fs.Lookup(n)
			if fl == nil {
				return n == "h" || n == "help"
			}
			bf, ok := fl.Value.(interface{ IsBoolFlag() bool })
			return ok && bf.IsBoolFlag()
		}
		fs.SetOutput(&bytes.Buffer{})
		return fs.Parse(f.args)
	}
	if err := parse(config.Defaults()); err != nil {
		b.errorf(t, c, "the flags do not parse: %v", err)
		return
	}
	var exp *config.Experiment
	fileName, fromFile := f.get("f")
	if fromFile {
		text, ok := b.d.files[fileName]
		path := fileName
		switch {
		case !ok && !filepath.IsAbs(fileName):
			b.errorf(t, c, "the command runs %s, which no example of the docs shows", fileName)
			return
		case ok:
			if !rf.dryRun {
				text = b.localYAML(t, text)
			}
			path = filepath.Join(t.TempDir(), fileName)
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f.set("f", path)
		e, err := config.LoadExperiment(path)
		if err != nil {
			b.errorf(t, c, "the file does not load: %v", err)
			return
		}
		exp = e
		if msg := fileNotLocal(e, rf.dryRun); msg != "" {
			t.Fatalf("%s: %s\nrefusing to run %s: %s", b.at(c), c.text, fileName, msg)
		}
		if err := parse(e.Base); err != nil {
			b.errorf(t, c, "the flags do not parse: %v", err)
			return
		}
		for _, ep := range e.Matrix.Endpoints {
			if ep.APIKeyEnv != "" && !rf.dryRun {
				env[ep.APIKeyEnv] = "sk-docs-example-key"
			}
		}
	}

	// The docs name the datasets the repository ships by their path from
	// its root; the test runs in cmd/llmload.
	if ds, ok := f.get("dataset"); ok && !filepath.IsAbs(ds) {
		f.set("dataset", filepath.Join("..", "..", ds))
	}

	// Point every endpoint at a simulator on 127.0.0.1.
	usesSim := false
	switch {
	case cfg.Provider == config.ProviderBedrock || cfg.Provider == config.ProviderSageMaker:
		u := &url.URL{}
		if cfg.Providers.EndpointURL != "" {
			var err error
			if u, err = url.Parse(cfg.Providers.EndpointURL); err != nil || !isLoopback(u.Host) {
				b.errorf(t, c, "--endpoint-url %q is not on 127.0.0.1", cfg.Providers.EndpointURL)
				return
			}
		}
		f.set("endpoint-url", b.local(t, u, ""))
	case cfg.BaseURL != "":
		u, err := url.Parse(cfg.BaseURL)
		if err != nil {
			b.errorf(t, c, "--base-url: %v", err)
			return
		}
		if isLoopback(u.Host) {
			f.set("base-url", b.local(t, u, cfg.Model))
			break
		}
		// A real address elsewhere: only its plan, and when the plan
		// would ask the server for its model, a local one answers.
		if !rf.dryRun {
			f.set("dry-run", "true")
			rf.dryRun = true
		}
		if cfg.Model == "" {
			f.set("base-url", startSim(t, "")+u.EscapedPath())
		}
	default:
		usesSim = exp == nil || !hasMatrix(exp) || len(exp.Matrix.Endpoints) == 0 || slices.ContainsFunc(exp.Matrix.Endpoints, func(ep config.Endpoint) bool {
			return ep.Provider == config.ProviderSim
		})
	}

	dir := filepath.Join(t.TempDir(), "results")
	documentedDir, hasDir := f.get("results-dir")
	if hasDir {
		dir = filepath.Join(t.TempDir(), filepath.Base(documentedDir))
		b.dirs[documentedDir] = dir
	}
	if !rf.dryRun {
		if usesSim && cfg.Sim.TimeScale > docTimeScale {
			f.set("sim-time-scale", ftoa(docTimeScale))
		}
		batch := cfg.Mode == load.ModeBatchSequential || cfg.Mode == load.ModeBatchInterval
		if batch && cfg.Batches > 0 {
			f.set("batches", strconv.Itoa(min(cfg.Batches, docBatches)))
		} else if n := docRequests(&cfg, exp, len(rf.promptSets)); cfg.MaxRequests == 0 || cfg.MaxRequests > n {
			f.set("max-requests", strconv.Itoa(n))
		}
		if cfg.Duration.D() > docDuration {
			f.set("duration", docDuration.String())
		}
		if cfg.Warmup > docWarmup {
			f.set("warmup", strconv.Itoa(docWarmup))
		}
		if cfg.Ramp.D() > docRamp {
			f.set("ramp", docRamp.String())
		}
		if cfg.BatchInterval.D() > docBatchInterval {
			f.set("batch-interval", docBatchInterval.String())
		}
		if cfg.Sweep == config.SweepAuto {
			f.set("sweep-levels", strconv.Itoa(docSweepLevels))
			f.set("concurrency", strconv.Itoa(docAutoCeiling))
		}
		f.set("results-dir", dir)
		f.set("no-progress", "true")
	}
	envArgs := slices.Collect(maps.Values(env))
	if msg := notLocal(append(envArgs, f.args...), rf.dryRun, cfg.Model); msg != "" {
		t.Fatalf("%s: %s\nrefusing to run %q: %s", b.at(c), c.text, f.args, msg)
	}

	t.Logf("%s: %s\nruns as: llmload run %s", b.at(c), c.text, strings.Join(f.args, " "))
	// A run whose directory a later command reads (llmload compare) runs
	// even when another example made the same run.
	readLater := hasDir && strings.Contains(b.rest, documentedDir)
	if !rf.dryRun && fromFile && b.d.files[fileName] != "" && !readLater {
		key := slices.Clone(f.args)
		for i, a := range key {
			if strings.HasPrefix(a, "--results-dir=") || strings.HasPrefix(a, "--f=") {
				key[i] = ""
			}
		}
		if first, by := b.d.once(fileName+" "+strings.Join(key, " "), b.at(c).String()); !first {
			t.Logf("the same run as %s's; not run twice", by)
			return
		}
	}
	st, out, errs := runCLI(t, env, append([]string{"run"}, f.args...)...)
	want := []int{exitOK}
	if len(cfg.Thresholds) > 0 || len(rf.thresholds) > 0 {
		want = append(want, exitThresholds) // documented: a failed --threshold exits 3
	}
	if os.Getenv("DOCS_DEBUG") != "" {
		t.Logf("stderr:\n%s", errs)
	}
	if !slices.Contains(want, st) {
		b.errorf(t, c, "ran as %q\nstatus %d, want %v\nstdout:\n%s\nstderr:\n%s", f.args, st, want, out, errs)
		return
	}
	// Secrets never show (docs/providers.md, "Headers and secrets").
	sec := cfg
	if err := applyFlagExtras(&sec, &rf); err != nil {
		b.errorf(t, c, "%v", err)
	}
	sec.APIKey = cmp.Or(sec.APIKey, env["OPENAI_API_KEY"])
	red := sec.Redactor()
	if all := out + errs; red.String(all) != all {
		b.errorf(t, c, "a secret shows in the output:\n%s", all)
	}
	if st == exitThresholds && !strings.Contains(out, "✗ FAIL") {
		b.errorf(t, c, "status 3 without a failed threshold:\n%s", out)
	}
	if rf.dryRun {
		if strings.TrimSpace(out) == "" {
			b.errorf(t, c, "--dry-run printed no plan")
		}
		return
	}
	if !strings.Contains(out, "Results: "+dir) {
		b.errorf(t, c, "stdout does not name the run directory %s:\n%s", dir, out)
	}
	checkResults(t, b.at(c), c, dir, wantLevels(&cfg, exp))
	filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if data, err := os.ReadFile(path); err == nil && red.String(string(data)) != string(data) {
				b.errorf(t, c, "a secret shows in %s", path)
			}
		}
		return nil
	})
}

// docRequests is how many measured requests a run makes: enough to draw
// from every prompt set of a mix.
func docRequests(cfg *config.Config, e *config.Experiment, flagSets int) int {
	if len(cfg.PromptSets) > 1 || flagSets > 1 || e != nil && slices.ContainsFunc(e.Matrix.PromptSets, func(m []config.PromptSet) bool { return len(m) > 1 }) {
		return docMixRequests
	}
	return docMaxRequests
}

// notLocal says why args would send a request beyond 127.0.0.1, or "".
func notLocal(args []string, dryRun bool, model string) string {
	for _, a := range args {
		for _, m := range urlRE.FindAllString(a, -1) {
			u, err := url.Parse(m)
			if err != nil || isLoopback(u.Host) {
				continue
			}
			if !dryRun {
				return m + " is not on 127.0.0.1"
			}
			if model == "" {
				return m + ": --dry-run would ask it for its model"
			}
		}
	}
	return ""
}

// localYAML points every endpoint of an experiment file at a simulator on
// 127.0.0.1 (the models the file names are the simulator's).
func (b *block) localYAML(t *testing.T, text string) string {
	sims := map[string]string{}
	return urlRE.ReplaceAllStringFunc(text, func(m string) string {
		u, err := url.Parse(m)
		if err != nil {
			return m
		}
		if _, ok := sims[u.Host]; !ok {
			sims[u.Host] = strings.TrimSuffix(b.local(t, &url.URL{Host: u.Host}, ""), "/")
		}
		return sims[u.Host]
	})
}

// fileNotLocal says why running e (made local by localYAML unless dryRun)
// would send a request beyond 127.0.0.1, or "": a --dry-run asks a server
// for its model when an endpoint names none, and an AWS endpoint without
// an endpoint URL is AWS's.
func fileNotLocal(e *config.Experiment, dryRun bool) string {
	eps := []config.Endpoint{{Provider: e.Base.Provider, BaseURL: e.Base.BaseURL, Model: e.Base.Model}}
	if len(e.Matrix.Endpoints) > 0 {
		eps = e.Matrix.Endpoints
	}
	for _, ep := range eps {
		switch p := cmp.Or(ep.Provider, e.Base.Provider); p {
		case config.ProviderBedrock, config.ProviderSageMaker:
			u, err := url.Parse(cmp.Or(ep.Options["endpoint_url"], e.Base.Providers.EndpointURL))
			if !dryRun && (err != nil || !isLoopback(u.Host)) {
				return "provider " + p + " without an endpoint_url on 127.0.0.1"
			}
		default:
			u, err := url.Parse(cmp.Or(ep.BaseURL, e.Base.BaseURL))
			if err == nil && u.Host != "" && !isLoopback(u.Host) && (!dryRun || cmp.Or(ep.Model, e.Base.Model) == "") {
				return u.Host + " is not on 127.0.0.1, and a --dry-run would ask it for its model"
			}
		}
	}
	return ""
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
