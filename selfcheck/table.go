package selfcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Table writes a self-check for people: the machine and the timing, one
// line per level (errors in ms as p50/p99/max, measured p50s, CPU per
// token, memory per stream, the health verdict), and the verdict.
func Table(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("selfcheck: nil result")
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "machine  %s %s/%s, %d CPUs, GOMAXPROCS %d, open-file limit %d\n",
		r.GoVersion, r.OS, r.Arch, r.NumCPU, r.GOMAXPROCS, r.OpenFileLimit)
	phases := "every stream's tokens at the same instants"
	if r.Phases == PhasesSpread {
		phases = "each response's schedule shifted by its own phase in [0, " + g(1000*r.ITLS) + " ms)"
	}
	fmt.Fprintf(bw, "truth    in-process server: TTFT %s ms, then %s ms between tokens, %d tokens, %s; each level sends for %s s\n\n",
		g(1000*r.TTFTS), g(1000*r.ITLS), r.Tokens, phases, g(r.DurationS))
	const f = "%11s %6s %20s %20s %20s %9s %8s %9s %8s %8s %8s  %s\n"
	fmt.Fprintf(bw, f, "concurrency", "reqs", "TTFT error ms", "ITL error ms", "E2E error ms", "TTFT p50", "ITL p50", "srv late", "CPU/tok", "memory", "health", "within "+g(1000*r.MaxErrorS)+" ms")
	fmt.Fprintf(bw, f, "", "", "p50/p99/max", "p50/p99/max", "p50/p99/max", "ms", "ms", "p99 ms", "µs", "KiB/str", "", "at p99")
	for _, l := range r.Levels {
		if l.Skipped != "" {
			fmt.Fprintf(bw, "%11d skipped: %s\n", l.Concurrency, l.Skipped)
			continue
		}
		hl := "ok"
		if l.ClientLimited {
			hl = "LIMITED"
		}
		ok := "yes"
		if !l.WithinBound {
			ok = "NO"
			var why []string
			if l.Failed > 0 {
				why = append(why, fmt.Sprintf("%d failed", l.Failed))
			}
			if l.Unmatched > 0 {
				why = append(why, fmt.Sprintf("%d unpaired", l.Unmatched))
			}
			if len(why) > 0 {
				ok += " (" + strings.Join(why, ", ") + ")"
			}
		}
		fmt.Fprintf(bw, f, strconv.Itoa(l.Concurrency), strconv.Itoa(l.Requests), errs(l.TTFT), errs(l.ITL), errs(l.E2E),
			ms(l.MeasuredTTFTP50S), ms(l.MeasuredITLP50S), ms(l.ServerLateP99S), fmt.Sprintf("%.1f", l.CPUPerTokenUS), fmt.Sprintf("%.1f", l.MemoryPerStreamKiB), hl, ok)
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "%11s error: how far llmload's timestamp is from the server's write (known to lie between its clock readings just before\n", "")
	fmt.Fprintf(bw, "%11s and after the write); TTFT p50, ITL p50: what llmload reported; srv late: how late the\n", "")
	fmt.Fprintf(bw, "%11s in-process server wrote after the schedule (the truth is its write, late or not); CPU/tok: process CPU (llmload\n", "")
	fmt.Fprintf(bw, "%11s and the server) per token; memory: live heap + stacks per stream, both sides; health: the client-health verdict\n", "")
	if r.MaxSustained > 0 {
		streams := "streams"
		if r.MaxSustained == 1 {
			streams = "stream"
		}
		fmt.Fprintf(bw, "verdict  this machine sustains %d concurrent %s with TTFT, ITL and E2E errors within %s ms at p99 (the highest level checked that passed, every lower one passing)\n",
			r.MaxSustained, streams, g(1000*r.MaxErrorS))
	} else {
		fmt.Fprintf(bw, "verdict  no level stayed within %s ms at p99\n", g(1000*r.MaxErrorS))
	}
	return bw.Flush()
}

func errs(e Errors) string {
	if e.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%s/%s/%s", ms(e.P50), ms(e.P99), ms(e.Max))
}

// ms writes seconds as milliseconds with about three significant digits.
func ms(s float64) string {
	v := 1000 * s
	switch a := max(v, -v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// WriteJSON writes r to path as indented JSON.
func WriteJSON(path string, r *Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
