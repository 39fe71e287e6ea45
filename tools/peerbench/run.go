//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmload/llmload/stats"
)

// peer is one load generator under test.
type peer struct {
	name string
	// args returns the command line for c concurrent streams and total
	// requests against base (the server's root URL); dir is a scratch
	// directory for the peer's output files.
	args func(base string, c, total int, dir string) []string
	// env is added to the peer's environment.
	env []string
}

// measurement is one run of one peer at one level.
type measurement struct {
	peer        string
	c, requests int
	st          gtStats       // the server's view of the run
	wall        time.Duration // process start to exit
	cpu         time.Duration // user + sys of the whole process
	maxRSS      int64         // KiB, getrusage: the whole process, after-run summaries included
	samples     []rssSample   // every 50 ms while it ran
	exitErr     error
}

// rssSample is the peer's resident set size (KiB) and CPU time (clock
// ticks), and the server's streams in flight and tokens written so far,
// at one instant.
type rssSample struct{ rss, inFlight, ticks, tokens int64 }

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// streamingUS is the CPU per token while tokens were streaming: from the
// first sample after the first token to the last sample before the last,
// so start-up and the work after the run (summaries, reports) are left
// out. 0 when fewer than two samples fall inside.
func (m measurement) streamingUS() float64 {
	first, last := -1, -1
	final := m.st.Tokens
	for i, s := range m.samples {
		if s.tokens > 0 && first < 0 {
			first = i
		}
		if s.tokens < final {
			last = i
		}
	}
	if first < 0 || last <= first {
		return 0
	}
	a, b := m.samples[first], m.samples[last]
	if b.tokens == a.tokens {
		return 0
	}
	return float64(time.Duration(b.ticks-a.ticks)*clockTick/time.Microsecond) / float64(b.tokens-a.tokens)
}

// peakInFlight returns the largest RSS sampled while the server had at
// least 90% of the most streams it ever had in flight during the run, and
// the streams in flight at that sample.
func (m measurement) peakInFlight() (rss, streams int64) {
	most := int64(0)
	for _, s := range m.samples {
		most = max(most, s.inFlight)
	}
	for _, s := range m.samples {
		if s.inFlight*10 >= most*9 && s.rss > rss {
			rss, streams = s.rss, s.inFlight
		}
	}
	return rss, streams
}

// kibPerStream is the peer's memory per in-flight stream: RSS at the
// in-flight peak less the baseline's (one stream), over the streams then
// in flight.
func kibPerStream(m, base measurement) float64 {
	rss, n := m.peakInFlight()
	b, _ := base.peakInFlight()
	if n <= 1 || rss == 0 {
		return 0
	}
	return float64(rss-b) / float64(n)
}

func runCmd(argv []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	llmloadBin := fs.String("llmload", "", "llmload binary")
	heyBin := fs.String("hey", "", "hey binary (go install github.com/rakyll/hey@latest); empty: skip")
	levelsFlag := fs.String("levels", "100,1000,10000", "concurrent streams per level, comma-separated")
	rounds := fs.Int("rounds", 2, "requests per stream at each level (closed loop)")
	ttft := fs.Duration("ttft", 200*time.Millisecond, "server: time to first token")
	gap := fs.Duration("gap", 20*time.Millisecond, "server: time between tokens")
	n := fs.Int("tokens", 128, "server: tokens per response")
	repeat := fs.Int("repeat", 1, "measure every peer this many times per level, alternating the order")
	other := fs.String("llmload2", "", "NAME=BIN: also measure another llmload build (e.g. the previous commit) under NAME")
	gogc := fs.String("gogc", "", "also measure llmload with this GOGC (e.g. 50)")
	keep := fs.String("dir", "", "scratch directory (default: a temporary one, removed)")
	fs.Parse(argv)

	var levels []int
	for _, f := range strings.Split(*levelsFlag, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("bad level %q", f)
		}
		levels = append(levels, c)
	}
	var peers []peer
	if *llmloadBin != "" {
		bin := *llmloadBin
		peers = append(peers, peer{name: "llmload", args: func(base string, c, total int, dir string) []string {
			return []string{bin, "run", "--base-url", base + "/v1", "--model", "gt", "--concurrency", itoa(c),
				"--max-requests", itoa(total), "--mean-input-tokens", "16", "--stddev-input-tokens", "0",
				"--mean-output-tokens", itoa(*n), "--stddev-output-tokens", "0", "--timeout", "120s",
				"--no-progress", "--results-dir", filepath.Join(dir, "run")}
		}})
	}
	if name, bin, ok := strings.Cut(*other, "="); ok && len(peers) > 0 {
		// Another llmload build, measured the same way: before/after.
		args := func(base string, c, total int, dir string) []string {
			a := peers[0].args(base, c, total, dir)
			return append([]string{bin}, a[1:]...)
		}
		peers = append(peers, peer{name: name, args: args})
	}
	if *gogc != "" && *llmloadBin != "" {
		// The same llmload with another GC target: memory against CPU.
		peers = append(peers, peer{name: "llmload GOGC=" + *gogc, args: peers[0].args, env: []string{"GOGC=" + *gogc}})
	}
	if *heyBin != "" {
		bin := *heyBin
		body := `{"model":"gt","messages":[{"role":"user","content":"hello hello hello hello hello hello hello hello"}],"max_tokens":` + itoa(*n) + `,"stream":true}`
		peers = append(peers, peer{name: "hey", args: func(base string, c, total int, dir string) []string {
			return []string{bin, "-n", itoa(total), "-c", itoa(c), "-t", "120", "-m", "POST", "-T", "application/json",
				"-d", body, base + "/v1/chat/completions"}
		}})
	}
	if len(peers) == 0 {
		return errors.New("no peer to measure: give -llmload and/or -hey")
	}
	scratch := *keep
	if scratch == "" {
		d, err := os.MkdirTemp("", "peerbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		scratch = d
	}

	// The server is its own process, so it has its own open-file limit
	// and its CPU is not charged to any peer.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "serve", "-ttft", ttft.String(), "-gap", gap.String(), "-tokens", itoa(*n))
	srv.Stderr = os.Stderr
	out, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("ground-truth server: %w", err)
	}
	base := strings.TrimSpace(line)
	fmt.Fprintf(os.Stderr, "ground-truth server %s: TTFT %s, then %s between tokens, %d tokens\n", base, ttft, gap, *n)

	var all []measurement
	// Baselines: every peer with one stream and one request.
	baseline := map[string]measurement{}
	for _, p := range peers {
		m, err := measure(p, base, 1, 1, scratch)
		if err != nil {
			return err
		}
		baseline[p.name] = m
		all = append(all, m)
	}
	for _, c := range levels {
		for r := range *repeat {
			order := peers
			if r%2 == 1 {
				order = []peer{}
				for i := len(peers) - 1; i >= 0; i-- {
					order = append(order, peers[i])
				}
			}
			for _, p := range order {
				m, err := measure(p, base, c, c**rounds, scratch)
				if err != nil {
					return err
				}
				all = append(all, m)
			}
		}
	}
	report(os.Stdout, all, baseline, *ttft, *gap, *n, *rounds)
	return nil
}

func getStats(base string) (gtStats, error) {
	var st gtStats
	resp, err := http.Get(base + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// measure runs p once at c streams and total requests.
func measure(p peer, base string, c, total int, scratch string) (measurement, error) {
	m := measurement{peer: p.name, c: c, requests: total}
	if r, err := http.Get(base + "/reset"); err == nil {
		r.Body.Close()
	} else {
		return m, err
	}
	dir := filepath.Join(scratch, fmt.Sprintf("%s-c%d-%d", p.name, c, time.Now().UnixNano()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	defer os.RemoveAll(dir)
	args := p.args(base, c, total, dir)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	fmt.Fprintf(os.Stderr, "%s: %d streams, %d requests\n", p.name, c, total)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	statusPath := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	statPath := fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)
loop:
	for {
		select {
		case err := <-done:
			m.exitErr = err
			break loop
		case <-tick.C:
			rss, ticks := vmRSS(statusPath), cpuTicks(statPath)
			if st, err := getStats(base); err == nil && rss > 0 {
				m.samples = append(m.samples, rssSample{rss: rss, inFlight: st.InFlight, ticks: ticks, tokens: st.Tokens})
			}
		}
	}
	m.wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		m.maxRSS = ru.Maxrss
	}
	st, err := getStats(base)
	if err != nil {
		return m, err
	}
	m.st = st
	if m.exitErr != nil {
		fmt.Fprintf(os.Stderr, "%s exited with %v: %s\n", p.name, m.exitErr, lastLines(stderr.String(), 5))
	}
	return m, nil
}

// vmRSS reads a process's resident set size, KiB; 0 when it is gone.
func vmRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if f, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

// cpuTicks reads a process's user + system CPU time, clock ticks.
func cpuTicks(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// report prints the results as Markdown.
func report(w io.Writer, all []measurement, baseline map[string]measurement, ttft, gap time.Duration, n, rounds int) {
	perReq := ttft + time.Duration(n-1)*gap
	fmt.Fprintf(w, "Ground truth: TTFT %s, then %s between tokens, %d tokens per response (%s per request); %d requests per stream; baseline: one stream, one request.\n\n", ttft, gap, n, perReq, rounds)
	fmt.Fprintln(w, "| streams | peer | ok / sent | peak in flight (server) | CPU s | CPU µs/token | marginal CPU µs/token | streaming CPU µs/token | RSS at peak MiB | KiB/stream | max RSS MiB | achieved / ideal tokens/s | server writes late >1 ms |")
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range all {
		b := baseline[m.peer]
		kib, marginal := "—", "—"
		if m.c > 1 {
			kib = fmt.Sprintf("%.1f", kibPerStream(m, b))
			marginal = fmt.Sprintf("%.2f", marginalUS(m, b))
		}
		ideal := float64(m.c) * float64(n) / perReq.Seconds()
		achieved := 0.0
		if m.st.WindowS > 0 {
			achieved = float64(m.st.Tokens) / m.st.WindowS
		}
		status := ""
		if m.exitErr != nil {
			status = " (exit: " + m.exitErr.Error() + ")"
		}
		rss, _ := m.peakInFlight()
		fmt.Fprintf(w, "| %d | %s | %d / %d%s | %d | %.2f | %.2f | %s | %.2f | %.1f | %s | %.1f | %.0f / %.0f = %.3f | %.1f%% |\n",
			m.c, m.peer, m.st.Completed, m.requests, status, m.st.Peak, m.cpu.Seconds(), usPerToken(m), marginal, m.streamingUS(), float64(rss)/1024, kib,
			float64(m.maxRSS)/1024, achieved, ideal, achieved/ideal, 100*float64(m.st.Late)/max(1, float64(m.st.Tokens)))
	}
	// Ratios of llmload to each other peer, level by level (means over repeats).
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| streams | ratio | CPU per token | marginal CPU per token | streaming CPU per token | KiB per stream | achieved tokens/s |")
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	type key struct {
		peer string
		c    int
	}
	type sums struct{ cpu, marginal, streaming, kib, tput, n float64 }
	agg := map[key]*sums{}
	var levels []int
	for _, m := range all {
		if m.c == 1 {
			continue
		}
		k := key{m.peer, m.c}
		if agg[k] == nil {
			agg[k] = &sums{}
			if m.peer == "llmload" {
				levels = append(levels, m.c)
			}
		}
		a := agg[k]
		a.cpu += usPerToken(m)
		a.marginal += marginalUS(m, baseline[m.peer])
		a.streaming += m.streamingUS()
		a.kib += kibPerStream(m, baseline[m.peer])
		if m.st.WindowS > 0 {
			a.tput += float64(m.st.Tokens) / m.st.WindowS
		}
		a.n++
	}
	for _, c := range levels {
		l := agg[key{"llmload", c}]
		for k, o := range agg {
			if k.c != c || k.peer == "llmload" {
				continue
			}
			fmt.Fprintf(w, "| %d | llmload / %s | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× |\n", c, k.peer,
				(l.cpu/l.n)/(o.cpu/o.n), (l.marginal/l.n)/(o.marginal/o.n), (l.streaming/l.n)/(o.streaming/o.n),
				(l.kib/l.n)/(o.kib/o.n), (l.tput/l.n)/(o.tput/o.n))
		}
	}
	pairedReport(w, all)
}

// pairedReport prints, for each level and each other peer, the ratio of
// llmload's streaming CPU per token to the peer's in each repeat: runs
// of the same repeat ran back to back (ABBA order), so they shared the
// machine's state, and their ratio is steadier than either's level. The
// median's 95% confidence interval is distribution-free (order
// statistics of the binomial), so a claim such as "at most 1.0× hey"
// holds when the interval's top is at most 1.
func pairedReport(w io.Writer, all []measurement) {
	type key struct {
		peer string
		c    int
	}
	runs := map[key][]measurement{}
	var levels []int
	var others []string
	for _, m := range all {
		if m.c == 1 {
			continue
		}
		k := key{m.peer, m.c}
		if m.peer == "llmload" && len(runs[k]) == 0 {
			levels = append(levels, m.c)
		}
		if m.peer != "llmload" && !slices.Contains(others, m.peer) {
			others = append(others, m.peer)
		}
		runs[k] = append(runs[k], m)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| streams | ratio | streaming CPU per token, each repeat | median | 95% CI of the median | geometric mean | repeats ≤ 1.00× |")
	fmt.Fprintln(w, "| ---: | --- | --- | ---: | ---: | ---: | ---: |")
	for _, c := range levels {
		mine := runs[key{"llmload", c}]
		for _, o := range others {
			theirs := runs[key{o, c}]
			var ratios []float64
			for i := range min(len(mine), len(theirs)) {
				a, b := mine[i].streamingUS(), theirs[i].streamingUS()
				if a > 0 && b > 0 {
					ratios = append(ratios, a/b)
				}
			}
			if len(ratios) == 0 {
				continue
			}
			each := make([]string, len(ratios))
			logSum, below := 0.0, 0
			for i, r := range ratios {
				each[i] = fmt.Sprintf("%.2f", r)
				logSum += math.Log(r)
				if r <= 1 {
					below++
				}
			}
			sorted := slices.Sorted(slices.Values(ratios))
			ci := "—"
			if lo, hi, ok := medianCI(len(sorted)); ok {
				ci = fmt.Sprintf("%.2f–%.2f", sorted[lo], sorted[hi])
			}
			fmt.Fprintf(w, "| %d | llmload / %s | %s | %.2f× | %s | %.2f× | %d of %d |\n", c, o, strings.Join(each, ", "),
				stats.Describe(ratios).Median, ci, math.Exp(logSum/float64(len(ratios))), below, len(ratios))
		}
	}
}

// medianCI returns the indexes, in n sorted values, of a confidence
// interval of at least 95% for the median: the k-th smallest and the k-th
// largest, for the largest k with P(Binomial(n, ½) < k) ≤ 2.5%. ok is
// false when n is too small for any (n < 6).
func medianCI(n int) (lo, hi int, ok bool) {
	// P(X < k) for X ~ Binomial(n, ½), accumulated term by term.
	k, tail, term := 0, 0.0, math.Pow(0.5, float64(n))
	for j := 0; j < n; j++ {
		if tail+term > 0.025 {
			break
		}
		tail += term
		k = j + 1
		term *= float64(n-j) / float64(j+1)
	}
	if k == 0 {
		return 0, 0, false
	}
	return k - 1, n - k, true
}

// marginalUS is the CPU per token beyond the baseline's fixed cost
// (start-up, one request, writing the results): (CPU − baseline CPU) /
// (tokens − baseline tokens).
func marginalUS(m, base measurement) float64 {
	return float64((m.cpu - base.cpu).Microseconds()) / max(1, float64(m.st.Tokens-base.st.Tokens))
}

func usPerToken(m measurement) float64 {
	return float64(m.cpu.Microseconds()) / max(1, float64(m.st.Tokens))
}
