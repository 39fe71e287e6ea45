package main

// TestDocsExamples runs the examples of README.md and docs/*.md as a new
// user would, against the simulator on 127.0.0.1, and checks that each
// does what the documentation says. The examples are found by parsing the
// Markdown at test time, so a new example is covered the day it is
// written; a block the test cannot handle fails it unless docAllowList
// says why it need not run.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docExample is one example of the documentation: a fenced block, or a
// command quoted inline in prose.
type docExample struct {
	file string // relative to the module root, e.g. docs/workload.md
	line int    // line of the block's first content line (inline: of the command)
	lang string // the fence's info string; "inline" for a quoted command
	text string // the block's content, its fence's indentation removed
}

func (e docExample) String() string { return fmt.Sprintf("%s:%d", e.file, e.line) }

// docFiles are the Markdown files whose examples must run.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	recipes, err := filepath.Glob("../../docs/recipes/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, recipes...)
	return append([]string{"../../README.md"}, files...)
}

var (
	fenceRE = regexp.MustCompile("^(\\s*)(```+)\\s*(\\S*)\\s*$")
	// inlineRE finds a command quoted in prose; it may wrap a line.
	inlineRE = regexp.MustCompile("`((?:llmload\\s+(?:run|sim)|go\\s+(?:test|build|run))\\b[^`]*)`")
)

// parseDocExamples returns the fenced blocks of one Markdown file and the
// llmload and go commands its prose quotes, in order.
func parseDocExamples(name, doc string) ([]docExample, error) {
	var out []docExample
	lines := strings.Split(doc, "\n")
	prose := make([]string, len(lines)) // the file with fenced lines blanked
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			prose[i] = lines[i]
			continue
		}
		indent, fence, lang := m[1], m[2], m[3]
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == fence {
				break
			}
			body = append(body, strings.TrimPrefix(lines[j], indent))
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: fenced block never closed", name, i+1)
		}
		out = append(out, docExample{file: name, line: i + 2, lang: lang, text: strings.Join(body, "\n") + "\n"})
		i = j
	}
	text := strings.Join(prose, "\n")
	for _, m := range inlineRE.FindAllStringSubmatchIndex(text, -1) {
		cmd := strings.Join(strings.Fields(text[m[2]:m[3]]), " ")
		out = append(out, docExample{file: name, line: strings.Count(text[:m[0]], "\n") + 1, lang: "inline", text: cmd})
	}
	slices.SortStableFunc(out, func(a, b docExample) int { return a.line - b.line })
	return out, nil
}

// allowed is an example the test does not run, and why; check, when set,
// checks it in another way.
type allowed struct {
	file, first string // the file and how the block's first line begins
	why         string
	check       func(t *testing.T, d *docsEnv, ex docExample)
}

// docAllowList holds the blocks that are not examples to run: output
// samples, diagrams and catalogues of messages. An entry that matches no
// block fails the test, so the list stays small and true.
var docAllowList = []allowed{
	{file: "README.md", first: "load         closed loop",
		why: "the quick start's printed summary; its rows are checked against a real run's", check: checkQuickStartOutput},
	{file: "docs/architecture.md", first: "workload ──Prompt(i)──▶",
		why: "a data-flow diagram"},
	{file: "docs/experiments.md", first: "experiment experiment.yaml: 12 cases",
		why: "the plan --dry-run prints; checked against llmload's own", check: checkExperimentPlan},
	{file: "docs/experiments.md", first: "built-in defaults  →",
		why: "a diagram of precedence"},
	{file: "docs/experiments.md", first: "experiment.yaml:3: mode:",
		why: "a catalogue of error messages, each held by config's decoding tests"},
	{file: "docs/run-directory.md", first: "results/<name>/",
		why: "the layout of a run directory and of a sweep's; checked against real ones", check: checkLayout},
	{file: "docs/simulator.md", first: "overhead(s, t) =",
		why: "the engine's step-time formulas"},
	{file: "docs/simulator.md", first: "# profile.yaml:",
		why: "a simulator profile file, not an experiment; loaded and simulated", check: checkProfileFile},
	{file: "docs/simulator.md", first: "llmload sim --listen ADDR",
		why: "a synopsis with placeholders; its flags are checked against llmload sim -h", check: checkSynopsis},
	{file: "docs/slo-and-thresholds.md", first: `slo "ttft<=500"`,
		why: "error messages; each is produced by the flag it names", check: checkSLOErrors},
	{file: "docs/slo-and-thresholds.md", first: "✓ PASS ttft_p95 < 500ms",
		why: "report.Thresholds' output; its line format is checked against a real run's", check: checkThresholdOutput},
	{file: "docs/workload.md", first: `prompt set "docs": --mean-input-tokens`,
		why: "a catalogue of error messages, held by workload's tests"},
	{file: "docs/workload.md", first: "prompt file prompts.jsonl:3:",
		why: "a catalogue of error messages, held by workload's tests"},
	{file: "docs/workload.md", first: "dataset:    examples/datasets/chat-sample.jsonl",
		why: "the dataset line --dry-run prints; checked against the command above it", check: checkDatasetDryRun},
	{file: "docs/workload.md", first: "dataset conversations.json:14:",
		why: "a catalogue of error messages, held by workload's dataset tests"},
	{file: "docs/metrics.md", first: "sessions     12, 8 completed",
		why: "the console's per-turn table; its lines are checked against a real session run's", check: checkTurnTable},
	{file: "docs/reports.md", first: "report.html     one self-contained page",
		why: "the list of files a report writes; reportgen's tests check each is written"},
	{file: "docs/reports.md", first: "compare.html    overlaid curves",
		why: "the list of files llmload compare writes; TestCompareTwoSweeps checks each is written"},
	{file: "docs/planning.md", first: "With a quota of 800 RPM and 240,000 TPM",
		why: "llmload plan's output on TestPlanCommand's hand-built sweep; checked against the command's", check: checkPlanOutput},
	{file: "docs/planning.md", first: "For llama-2-7b under e2e_p95<=20s",
		why: "llmload plan --simulate's output; checked against the command's (the simulation is deterministic)", check: checkRecommendOutput},
	{file: "docs/planning.md", first: "Llama 2 7B in fp16 (2 bytes/value)",
		why: "llmload theory's output; checked against the command's", check: checkTheoryOutput},
	{file: "docs/workload.md", first: "llmload run --tokenizer hf:workload/testdata/",
		why: "its path is the repository's testdata, relative to the module root; run from this package's directory", check: checkHFTokenizerExample},
	{file: "docs/performance.md", first: "tools/peerbench/run.sh",
		why: "the side-by-side benchmark against hey: minutes of load at up to 10,000 streams, run by hand; tools/peerbench builds with the module"},
	{file: "docs/performance.md", first: "machine  go1.26.8",
		why: "llmload selfcheck's output on the project's machine; the command itself runs from the block above it"},
}

func TestDocsExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented example against the simulator")
	}
	// The AWS SDK reads the process environment; the simulator accepts
	// any credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "docs")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "docs-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	d := &docsEnv{files: map[string]string{}}

	var all []docExample
	for _, f := range docFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exs, err := parseDocExamples(strings.TrimPrefix(f, "../../"), string(b))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, exs...)
	}
	// Files the examples name (experiment.yaml) come from the docs' own
	// blocks, whichever file shows them.
	for _, ex := range all {
		if ex.lang == "yaml" {
			d.files[yamlKey(ex)] = ex.text
		}
	}

	// The one run without --results-dir: in a directory of its own, and
	// before the parallel examples, which need the working directory.
	t.Run("README.md: the quick start's results directory", func(t *testing.T) {
		checkDefaultResultsDir(t, all)
	})

	used := make([]bool, len(docAllowList))
	counts := map[string]int{}
	for _, ex := range all {
		var run func(t *testing.T)
		i := slices.IndexFunc(docAllowList, func(a allowed) bool {
			return a.file == ex.file && strings.HasPrefix(ex.text, a.first)
		})
		switch {
		case i >= 0:
			used[i] = true
			if a := docAllowList[i]; a.check != nil {
				run = func(t *testing.T) { a.check(t, d, ex) }
			}
		case ex.lang == "sh" || ex.lang == "bash":
			run = func(t *testing.T) { d.runShell(t, ex) }
		case ex.lang == "inline":
			if f := strings.Fields(ex.text); len(f) == 2 && f[0] == "llmload" {
				continue // `llmload run` names the command, it is no example
			}
			run = func(t *testing.T) { d.runInline(t, ex) }
		case ex.lang == "yaml":
			run = func(t *testing.T) { d.runYAML(t, ex) }
		case ex.lang == "jsonl":
			run = func(t *testing.T) { d.runPromptFile(t, ex) }
		case ex.lang == "go":
			run = func(t *testing.T) { checkGoSnippet(t, ex) }
		case ex.lang == "" && hasCommand(ex.text):
			t.Errorf("%s: an untagged block holds commands; tag it ```sh so they are run", ex)
			continue
		case ex.lang == "":
			t.Errorf("%s: an untagged block this test does not know (begins %q): tag it with its language, or add it to docAllowList saying why it need not run",
				ex, firstLine(ex.text))
			continue
		default:
			t.Errorf("%s: a ```%s block; this test does not know how to run it", ex, ex.lang)
			continue
		}
		if run == nil {
			continue
		}
		counts[ex.file]++
		t.Run(ex.String(), func(t *testing.T) {
			t.Parallel()
			run(t)
		})
	}
	for i, u := range used {
		if !u {
			t.Errorf("docAllowList entry %s %q matches no block: remove it", docAllowList[i].file, docAllowList[i].first)
		}
	}
	t.Logf("examples checked per file: %v", counts)
}

// exampleFileName is the file name a YAML block gives itself in its first
// line ("# experiment.yaml: …"), or "".
func exampleFileName(ex docExample) string {
	if ex.lang != "yaml" {
		return ""
	}
	m := regexp.MustCompile(`^#\s*([\w.-]+\.ya?ml):`).FindStringSubmatch(ex.text)
	if m == nil {
		return ""
	}
	return m[1]
}

// hasCommand tells whether a block has a line that is a command.
func hasCommand(text string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "llmload run") || strings.HasPrefix(l, "llmload sim") || strings.HasPrefix(l, "go run ") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// docOtherFlags are flags the docs name that belong to other programs.
var docOtherFlags = map[string]string{
	"port":                         "llama-server's, in the README's llama.cpp example",
	"enable-prompt-tokens-details": "vLLM's, in providers.md's prompt cache table",
}

// TestDocsFlags checks that every --flag the docs name is a flag of
// `llmload run`, `sim`, `selfcheck`, `report`, `compare`, `theory` or `plan`.
func TestDocsFlags(t *testing.T) {
	known := map[string]bool{}
	for _, cmd := range []string{"run", "sim", "selfcheck", "report", "compare", "theory", "plan"} {
		st, out, _ := runCLI(t, nil, cmd, "-h")
		if st != exitOK {
			t.Fatalf("llmload %s -h: status %d", cmd, st)
		}
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(out, -1) {
			known[m[1]] = true
		}
	}
	flagRE := regexp.MustCompile(`(^|[^\w-])--([a-z][a-z0-9-]*)`)
	for _, f := range docFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			for _, m := range flagRE.FindAllStringSubmatch(l, -1) {
				if !known[m[2]] && docOtherFlags[m[2]] == "" {
					t.Errorf("%s:%d: --%s is no flag of any llmload command", strings.TrimPrefix(f, "../../"), i+1, m[2])
				}
			}
		}
	}
}

// checkRecommendOutput checks that planning.md's sample is what `llmload
// plan --simulate` prints for its first example.
func checkRecommendOutput(t *testing.T, _ *docsEnv, ex docExample) {
	st, out, errs := runCLI(t, nil, "plan", "--simulate", "--model", "llama-2-7b", "--deployments", "1xa10g,4xa10g,8xa10g,8xa100", "--split", "8xa10g", "--max-latency", "e2e_p95<=20s")
	if st != exitOK || out != ex.text {
		t.Errorf("%s: the sample is not llmload plan --simulate's output (status %d, %s):\n%s", ex, st, errs, out)
	}
}

// checkTheoryOutput checks that planning.md's sample is what `llmload
// theory` prints for CALIBRATION.md's worked example.
func checkTheoryOutput(t *testing.T, _ *docsEnv, ex docExample) {
	st, out, errs := runCLI(t, nil, "theory", "--model", "llama-2-7b", "--accelerator", "a10g", "--count", "1", "--context", "4096", "--dtype", "fp16")
	if st != exitOK || out != ex.text {
		t.Errorf("%s: the sample is not llmload theory's output (status %d, %s):\n%s", ex, st, errs, out)
	}
}
