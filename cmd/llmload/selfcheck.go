package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/selfcheck"
)

const selfcheckUsage = `Usage: llmload selfcheck [flags]

Measures llmload's own measurement error on this machine. An in-process
server streams with exact timing (TTFT, then a fixed gap between tokens)
and records when it wrote each token; llmload's run path (OpenAI provider,
runner, records) measures it at each concurrency level, and every client
timestamp is compared with the server's write. Per level: p50/p99/max of
|measured − true| for TTFT, ITL and E2E, CPU per token, memory per stream,
the client-health verdict; then the highest concurrency this machine
sustains within --max-error at p99.

Examples:
  llmload selfcheck                                        # 1,100,1000: about 20 s
  llmload selfcheck --concurrency 1,100,1000,5000,10000    # the full check
  llmload selfcheck --out selfcheck.json
  llmload selfcheck --concurrency 1000 --phases spread     # streams not in step
  llmload selfcheck --concurrency 1000 --itl 40ms          # 1,000 streams at half the token rate

Flags:
`

func (c *cli) selfcheck(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("selfcheck", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), selfcheckUsage)
		fs.PrintDefaults()
	}
	levels := config.IntList(selfcheck.DefaultLevels())
	duration := config.Duration(selfcheck.DefaultDuration)
	ttft := config.Duration(selfcheck.DefaultTTFT)
	itl := config.Duration(selfcheck.DefaultITL)
	maxErr := config.Duration(selfcheck.DefaultMaxError)
	var (
		tokens int
		out    string
		phases string
	)
	fs.Var(&levels, "concurrency", "concurrency levels to check, e.g. 1,100,1000,5000,10000")
	fs.Var(&duration, "duration", "how long each level sends new requests (in-flight ones then finish)")
	fs.Var(&ttft, "ttft", "the server's exact time to first token")
	fs.Var(&itl, "itl", "the server's exact time between tokens")
	fs.IntVar(&tokens, "tokens", selfcheck.DefaultTokens, "tokens per response")
	fs.StringVar(&phases, "phases", selfcheck.PhasesTogether, "when the server's streams emit: together (every stream at the same instants, as one decode step of a batching server: the hard case) or spread (each response's schedule shifted by its own phase within the gap between tokens)")
	fs.Var(&maxErr, "max-error", "error bound at p99 for the sustained-concurrency verdict")
	fs.StringVar(&out, "out", "", "also write the result as JSON to this file")
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	if len(levels) == 0 || tokens < 2 || ttft.D() <= 0 || itl.D() <= 0 || maxErr.D() <= 0 || duration.D() <= 0 {
		return c.usageErr("selfcheck", fmt.Errorf("--concurrency, --duration, --ttft, --itl and --max-error must be positive, --tokens at least 2"))
	}
	if err := selfcheck.CheckPhases(phases); err != nil {
		return c.usageErr("selfcheck", fmt.Errorf("--%w", err))
	}
	for _, n := range levels {
		if n < 1 {
			return c.usageErr("selfcheck", fmt.Errorf("--concurrency %d is not positive", n))
		}
	}
	var began time.Time
	res, err := selfcheck.Run(ctx, selfcheck.Options{
		Levels: levels, Duration: duration.D(), TTFT: ttft.D(), ITL: itl.D(), Tokens: tokens, MaxError: maxErr.D(), Phases: phases,
		Started: func(n int) {
			began = time.Now()
			fmt.Fprintf(c.stderr, "llmload selfcheck: concurrency %d…\n", n)
		},
		Done: func(l selfcheck.Level) {
			switch {
			case l.Skipped != "":
				fmt.Fprintf(c.stderr, "llmload selfcheck: concurrency %d skipped: %s\n", l.Concurrency, l.Skipped)
			default:
				fmt.Fprintf(c.stderr, "llmload selfcheck: concurrency %d: %d requests in %.1f s, p99 errors TTFT %.3f, ITL %.3f, E2E %.3f ms\n",
					l.Concurrency, l.Requests, time.Since(began).Seconds(), 1000*l.TTFT.P99, 1000*l.ITL.P99, 1000*l.E2E.P99)
			}
		},
	})
	if res != nil && len(res.Levels) > 0 {
		if terr := selfcheck.Table(c.stdout, res); terr != nil && err == nil {
			err = terr
		}
		if out != "" {
			if werr := selfcheck.WriteJSON(out, res); werr != nil {
				fmt.Fprintf(c.stderr, "llmload selfcheck: %v\n", werr)
				return exitFailed
			}
			fmt.Fprintf(c.stdout, "\nResults: %s\n", out)
		}
	}
	switch {
	case err != nil:
		fmt.Fprintf(c.stderr, "llmload selfcheck: %s\n", strings.TrimPrefix(err.Error(), "selfcheck: "))
		return exitFailed
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitOK
}
