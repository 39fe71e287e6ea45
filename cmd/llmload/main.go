// Command llmload load-tests LLM inference endpoints. This package is only
// the command line: flags, wiring and printing; the work is done by the
// importable packages beside it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/llmload/llmload/internal/gcpace"
)

// Exit statuses, stable for scripts and CI.
const (
	exitOK          = 0   // the run completed and at least one request succeeded
	exitFailed      = 1   // the run could not start, or no request succeeded
	exitUsage       = 2   // bad flags or input
	exitInterrupted = 130 // interrupted by a signal; what completed was written
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// cli holds all process state, so commands run in-process in tests.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// tty tells whether stderr is a terminal (live progress bar) or not
	// (plain progress lines).
	tty bool
	// interrupted is closed on the first SIGINT/SIGTERM.
	interrupted <-chan struct{}
}

func main() {
	// Streams are mostly goroutine stacks, which make no garbage: the
	// GC's headroom is the live heap alone, unless GOGC says otherwise.
	gcpace.Start(os.Getenv("GOGC"))
	stopProfile := startCPUProfile(os.Getenv(envCPUProfile), os.Stderr)
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		tty:    term.IsTerminal(int(os.Stderr.Fd())),
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	interrupted := make(chan struct{})
	c.interrupted = interrupted
	go func() {
		<-sigs
		close(interrupted)
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "\nllmload: second interrupt, exiting now; records.jsonl holds every request that ended")
		stopProfile()
		os.Exit(exitInterrupted)
	}()
	code := c.main(ctx, os.Args[1:])
	stopProfile()
	os.Exit(code)
}

// envCPUProfile names a file to write a Go CPU profile of the whole
// command to: for llmload's own developers, to see where its CPU goes
// (docs/performance.md, "How it is measured").
const envCPUProfile = "LLMLOAD_CPUPROFILE"

// startCPUProfile starts a CPU profile into path (none when path is
// empty) and returns the function that ends it; a failure is reported on
// stderr and leaves the command to run unprofiled.
func startCPUProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "llmload: %s: %v\n", envCPUProfile, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "llmload: %s: %v\n", envCPUProfile, err)
		return func() {}
	}
	// Once: a second interrupt may stop it while the command returns.
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "llmload: %s: %v\n", envCPUProfile, err)
		}
	})
}

const usage = `llmload load-tests LLM inference endpoints.

Usage:
  llmload run [flags]    benchmark an endpoint (no endpoint: the built-in simulator)
  llmload report DIR     rebuild report.html, summary.md/csv and plots/ of a run or sweep directory
  llmload compare A B …  put runs or sweeps (or a matrix sweep's groups) side by side by level
  llmload sim [flags]    serve a simulated OpenAI-compatible endpoint
  llmload selfcheck      measure llmload's own timing error on this machine
  llmload theory [flags] estimate memory, batch and speed of a model on an accelerator
  llmload plan DIR       users a quota and latency targets allow, the quota N users need, cost
  llmload version        print the version

Run 'llmload <command> -h' for a command's flags.
`

func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return c.run(ctx, args[1:])
	case "sim":
		return c.sim(ctx, args[1:])
	case "selfcheck":
		return c.selfcheck(ctx, args[1:])
	case "report":
		return c.report(args[1:])
	case "compare":
		return c.compare(args[1:])
	case "theory":
		return c.theory(ctx, args[1:])
	case "plan":
		return c.plan(args[1:])
	case "version", "--version", "-version":
		fmt.Fprintln(c.stdout, "llmload", versionString())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "llmload: unknown command %q (commands: run, report, compare, sim, selfcheck, theory, plan, version)\n", args[0])
	return exitUsage
}

// versionString is the build's version: -ldflags, else the module version or
// VCS revision Go recorded.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
