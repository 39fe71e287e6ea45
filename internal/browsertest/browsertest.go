// Package browsertest opens llmload's HTML pages (report.html,
// compare.html) from disk in a headless Chromium with networking
// disabled, and tells what a reader would see: the rendered size of every
// chart, the console's errors, any request that left the page, and a
// screenshot. Tests and tools/screenshot use it; the library never imports
// it, so chromedp stays out of llmload's import graph.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// EnvExecPath names a Chromium binary to use instead of the first of
// chromium, chromium-browser, google-chrome found on PATH.
const EnvExecPath = "LLMLOAD_CHROMIUM"

// ExecPath finds a Chromium binary; "" when none is installed.
func ExecPath() string {
	if p := os.Getenv(EnvExecPath); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium with networking disabled. It is safe to
// open pages from several goroutines: each opens a tab of its own.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Start starts Chromium (execPath) headless, without its sandbox (a
// container runs it as root) and /dev/shm (small in containers), with
// every host name unresolvable, and a window of width × height pixels.
func Start(ctx context.Context, execPath string, width, height int) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// Start the browser now, so a missing library fails here.
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	return &Browser{ctx: bctx, cancel: func() { bcancel(); acancel() }}, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

// Size is the rendered size of one chart, CSS pixels.
type Size struct {
	Name          string
	Width, Height float64
}

// Page is what a page showed.
type Page struct {
	// Charts are the chart elements (each <svg> or <img> in a <figure>,
	// and every svg.chart), in document order.
	Charts []Size
	// Figures counts the <figure> elements.
	Figures int
	// Errors are the console's error messages, uncaught exceptions and
	// error entries of the browser log.
	Errors []string
	// Requests are the URLs the page asked for beyond file:, data:,
	// about: and blob: ones: a self-contained page has none.
	Requests []string
	// Screenshot is a PNG of the viewport, scrolled to the top.
	Screenshot []byte
}

// Open loads the HTML file at path (file://) in a new tab, offline, waits
// until it is laid out, and reports what it showed.
func (b *Browser) Open(ctx context.Context, path string) (*Page, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	var (
		mu sync.Mutex
		pg Page
	)
	tab, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil && !local(e.Request.URL) {
			mu.Lock()
			pg.Requests = append(pg.Requests, e.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	// Create the tab, then take it offline before it loads anything.
	offline := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		return err
	})
	if err := chromedp.Do(tab, offline); err != nil {
		return nil, fmt.Errorf("offline: %w", err)
	}
	cctx, ccancel := context.WithCancel(tab)
	messages := chromedp.Console(cctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				pg.Errors = append(pg.Errors, m.String())
				mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(tab, chromedp.Navigate("file://"+filepath.ToSlash(abs))); err != nil {
		ccancel()
		return nil, fmt.Errorf("opening %s: %w", abs, err)
	}
	const js = `(() => {
  const els = new Set([...document.querySelectorAll('figure svg, figure img, svg.chart, img.chart')]);
  return {figures: document.querySelectorAll('figure').length,
    charts: [...els].map(e => { const r = e.getBoundingClientRect();
      return {name: (e.closest('figure') || {}).id || e.tagName, w: r.width, h: r.height}; })};
})()`
	type chartJS struct {
		Name string  `json:"name"`
		W    float64 `json:"w"`
		H    float64 `json:"h"`
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[struct {
		Figures int       `json:"figures"`
		Charts  []chartJS `json:"charts"`
	}](js))
	if err != nil {
		ccancel()
		return nil, fmt.Errorf("measuring the charts: %w", err)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	// Late console messages (a script that fails after load) still count.
	time.Sleep(200 * time.Millisecond)
	ccancel()
	<-done
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	pg.Figures = got.Figures
	for _, c := range got.Charts {
		pg.Charts = append(pg.Charts, Size{c.Name, c.W, c.H})
	}
	pg.Screenshot = shot
	return &pg, nil
}

func local(u string) bool {
	for _, p := range []string{"file:", "data:", "about:", "blob:", "chrome:", "devtools:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// Colours counts the distinct colours of a PNG, up to max (a blank page
// has one or two; a page of charts hundreds).
func Colours(data []byte, max int) (int, image.Rectangle, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, image.Rectangle{}, err
	}
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= max {
				return len(seen), b, nil
			}
		}
	}
	return len(seen), b, nil
}

// Check returns what is wrong with a page: no chart, a chart of zero
// size, console errors, network requests, a blank screenshot.
func (p *Page) Check() error {
	var errs []error
	if len(p.Charts) == 0 || p.Figures == 0 {
		errs = append(errs, fmt.Errorf("no chart on the page (%d figures)", p.Figures))
	}
	for _, c := range p.Charts {
		if !(c.Width > 0 && c.Height > 0) {
			errs = append(errs, fmt.Errorf("chart %s rendered %gx%g", c.Name, c.Width, c.Height))
		}
	}
	for _, e := range p.Errors {
		errs = append(errs, fmt.Errorf("console: %s", e))
	}
	for _, u := range p.Requests {
		errs = append(errs, fmt.Errorf("network request: %s", u))
	}
	n, _, err := Colours(p.Screenshot, 64)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("screenshot: %w", err))
	case n < 16:
		errs = append(errs, fmt.Errorf("the screenshot looks blank: %d colours", n))
	}
	return errors.Join(errs...)
}
