//go:build linux

// Command peerbench measures what llmload itself costs, side by side with
// peer load generators (hey; others optional), against one loopback
// ground-truth SSE server run as its own process: CPU per streamed token,
// memory per in-flight stream, and achieved against ideal tokens/s, at
// several concurrency levels. docs/performance.md shows its results and
// how to reproduce them.
//
//	peerbench serve [-addr 127.0.0.1:0] [-ttft 200ms] [-gap 20ms] [-tokens 128]
//	peerbench run -llmload BIN -hey BIN [-levels 100,1000,10000] [-rounds 2] ...
//
// It is a tool: nothing in the library imports it. Linux only: it reads
// each peer's CPU and memory from /proc.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peerbench serve|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
		ttft := fs.Duration("ttft", 200*time.Millisecond, "time from request to first token")
		gap := fs.Duration("gap", 20*time.Millisecond, "time between tokens")
		n := fs.Int("tokens", 128, "tokens per response")
		fs.Parse(os.Args[2:])
		err = serve(*addr, *ttft, *gap, *n)
	case "run":
		err = runCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (serve, run)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}
