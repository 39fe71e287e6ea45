package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/reportgen"
)

// EnvRequire, set (CI sets it), makes a missing Chromium a failure
// instead of a skip.
const EnvRequire = "LLMLOAD_BROWSER_TEST"

// browser starts Chromium, or skips the test when none is installed (and
// fails when EnvRequire says it must run).
func browser(t *testing.T) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path := ExecPath()
	if path == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s is set but no Chromium is installed (apt-get install chromium, or set %s)", EnvRequire, EnvExecPath)
		}
		t.Skipf("no Chromium installed (chromium, chromium-browser or google-chrome on PATH, or %s): the browser test does not run", EnvExecPath)
	}
	b, err := Start(context.Background(), path, 1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// simCfg is a small, fast run of the simulator into dir.
func simCfg(t *testing.T, dir string, input int, levels ...int) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Sim.TimeScale = 0.02
	cfg.MaxRequests = 6
	cfg.MeanInputTokens, cfg.MeanOutputTokens, cfg.StddevOutputTokens = input, 30, 0
	cfg.Concurrency = levels
	cfg.ResultsDir = dir
	if err := bench.Resolve(&cfg, func(string) string { return "" }, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// The three pages people look at — a run's report.html, a sweep's
// report.html and compare.html — open from disk in Chromium with
// networking disabled: every chart is drawn at a non-zero size, the
// console shows no error, nothing is fetched, and a screenshot is not
// blank.
func TestPagesRenderOffline(t *testing.T) {
	b := browser(t)
	root := t.TempDir()
	ctx := context.Background()
	run := filepath.Join(root, "run")
	if _, err := bench.Run(ctx, simCfg(t, run, 550, 3), bench.Hooks{}); err != nil {
		t.Fatal(err)
	}
	small, large := filepath.Join(root, "small"), filepath.Join(root, "large")
	// The small sweep is priced, so its page has every planning section
	// filled: knee, cost (token and instance) and the break-even.
	priced := simCfg(t, small, 100, 1, 4)
	priced.PriceModel, priced.PricePerHour = "claude-3.5-sonnet", 1.212
	if _, err := bench.Sweep(ctx, priced, bench.SweepHooks{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Sweep(ctx, simCfg(t, large, 2000, 1, 4), bench.SweepHooks{}); err != nil {
		t.Fatal(err)
	}
	cmp := filepath.Join(root, "cmp")
	if _, err := reportgen.BuildCompare([]string{small, large}, cmp, reportgen.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{
		filepath.Join(run, reportgen.HTMLFile),
		filepath.Join(small, reportgen.HTMLFile),
		filepath.Join(cmp, reportgen.CompareHTMLFile),
	} {
		octx, cancel := context.WithTimeout(ctx, 60*time.Second)
		p, err := b.Open(octx, page)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		if err := p.Check(); err != nil {
			t.Errorf("%s:\n%v", page, err)
		}
		n, _, _ := Colours(p.Screenshot, 1000)
		t.Logf("%s: %d charts in %d figures, screenshot %d bytes, %d+ colours", page, len(p.Charts), p.Figures, len(p.Screenshot), n)
		if dir := os.Getenv("LLMLOAD_SCREENSHOTS"); dir != "" {
			os.WriteFile(filepath.Join(dir, filepath.Base(filepath.Dir(page))+".png"), p.Screenshot, 0o644)
		}
	}
}

// The listeners work: a page that logs an error, throws, and fetches from
// the network is caught, and its remote image never loads (offline).
func TestOpenSeesErrorsAndRequests(t *testing.T) {
	b := browser(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	html := `<!DOCTYPE html><html><body><figure id="fig-x"><img src="https://example.com/x.png" width="0" height="0"></figure>
<script>console.error("broken chart"); throw new Error("boom");</script></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.Open(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Check()
	for _, want := range []string{"broken chart", "boom", "https://example.com/x.png", "rendered 0x0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q not found: %v", want, err)
		}
	}
}

// Check catches what it is for: a chart of zero size, a console error, a
// request that left the page, a blank screenshot.
func TestCheckFindsProblems(t *testing.T) {
	p := &Page{Figures: 1, Charts: []Size{{"fig-a", 0, 10}}, Errors: []string{"error: x"}, Requests: []string{"https://cdn.example/x.js"}}
	err := p.Check()
	if err == nil {
		t.Fatal("no problem found")
	}
	for _, want := range []string{"fig-a rendered 0x10", "console: error: x", "network request: https://cdn.example/x.js", "screenshot"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
}
