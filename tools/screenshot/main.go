// Command screenshot saves a PNG of an llmload page (report.html,
// compare.html) as Chromium shows it offline, after the checks of the
// browser test: the docs' screenshots are made with it.
//
//	go run ./tools/screenshot -o docs/img/quickstart-report.png results/run/report.html
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/llmload/llmload/internal/browsertest"
)

func main() {
	out := flag.String("o", "screenshot.png", "PNG file to write")
	width := flag.Int("width", 1280, "window width, pixels")
	height := flag.Int("height", 900, "window height, pixels")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: screenshot [-o out.png] [-width W] [-height H] PAGE.html")
		os.Exit(2)
	}
	if err := shoot(flag.Arg(0), *out, *width, *height); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
}

func shoot(page, out string, w, h int) error {
	path := browsertest.ExecPath()
	if path == "" {
		return fmt.Errorf("no Chromium installed (or set %s)", browsertest.EnvExecPath)
	}
	b, err := browsertest.Start(context.Background(), path, w, h)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.Open(ctx, page)
	if err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	return os.WriteFile(out, p.Screenshot, 0o644)
}
