// Package selfcheck measures llmload's own measurement error on this
// machine. It serves a ground-truth streaming endpoint in process (Server:
// an exact TTFT, then an exact gap between tokens, recording when it wrote
// each one), runs `llmload run`'s own path against it (bench.Run with the
// OpenAI provider, the runner, records.jsonl, the health monitor) at each
// concurrency level, and compares every timestamp the client took with
// the instant the server wrote the chunk. Both sides read the same
// monotonic clock, so the difference is what llmload adds: loopback
// delivery, scheduling, parsing, and any starvation of the process.
//
// docs/performance.md explains the numbers and lists this machine's.
package selfcheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/llmload/llmload/bench"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/health"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/stats"
)

// DefaultLevels returns the concurrency levels checked when
// Options.Levels is empty: 1, 100 and 1000, which finish in well under a
// minute on a 2-core machine.
func DefaultLevels() []int { return []int{1, 100, 1000} }

// Defaults of Options: the timing of the issue that asked for this check
// (TTFT 200 ms, then 20 ms between tokens, 128 tokens), 3 s of sending
// per level, and a 1 ms error bound at p99.
const (
	DefaultDuration = 3 * time.Second
	DefaultTTFT     = 200 * time.Millisecond
	DefaultITL      = 20 * time.Millisecond
	DefaultTokens   = 128
	DefaultMaxError = time.Millisecond
)

// Options configure Run. Zero fields take the defaults above.
type Options struct {
	// Levels are the concurrencies to check, run in increasing order.
	Levels []int
	// Duration is how long each level keeps sending new requests (closed
	// loop); requests in flight then finish.
	Duration time.Duration
	// TTFT, ITL and Tokens are the server's exact timing.
	TTFT, ITL time.Duration
	Tokens    int
	// Phases is PhasesTogether (the default: every stream emits its
	// tokens at the same instants, as in one decode step of a
	// continuous-batching server) or PhasesSpread (each response's
	// schedule shifted by its own phase in [0, ITL): Server.Spread).
	Phases string
	// MaxError is the bound on the p99 error of TTFT, ITL and E2E within
	// which a level counts as sustained.
	MaxError time.Duration
	// Dir holds the levels' run directories while they run; "" means a
	// temporary directory. They are removed afterwards.
	Dir string
	// Started and Done, when set, are called before and after each level
	// (Done also for a skipped one).
	Started func(concurrency int)
	Done    func(Level)
}

// Values of Options.Phases.
const (
	PhasesTogether = "together"
	PhasesSpread   = "spread"
)

// CheckPhases returns an error unless p is a value of Options.Phases.
func CheckPhases(p string) error {
	if p != PhasesTogether && p != PhasesSpread {
		return fmt.Errorf("phases %q: want %q or %q", p, PhasesTogether, PhasesSpread)
	}
	return nil
}

func (o *Options) fill() {
	o.Phases = cmp.Or(o.Phases, PhasesTogether)
	if len(o.Levels) == 0 {
		o.Levels = DefaultLevels()
	}
	o.Duration = cmp.Or(o.Duration, DefaultDuration)
	o.TTFT = cmp.Or(o.TTFT, DefaultTTFT)
	o.ITL = cmp.Or(o.ITL, DefaultITL)
	o.Tokens = cmp.Or(o.Tokens, DefaultTokens)
	o.MaxError = cmp.Or(o.MaxError, DefaultMaxError)
}

// Result is a self-check: the machine, the timing, one row per level, and
// the verdict. Times are seconds unless named otherwise.
type Result struct {
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// OpenFileLimit is the process's soft limit on open files (0: unknown).
	OpenFileLimit uint64 `json:"open_file_limit"`

	TTFTS  float64 `json:"ttft_s"`
	ITLS   float64 `json:"itl_s"`
	Tokens int     `json:"tokens"`
	// Phases is Options.Phases: "together" or "spread" (each response's
	// first token then comes up to ITLS later than TTFTS).
	Phases    string  `json:"phases"`
	DurationS float64 `json:"duration_s"`
	MaxErrorS float64 `json:"max_error_s"`

	Levels []Level `json:"levels"`
	// MaxSustained is the highest concurrency at which this level and
	// every lower one ran without failures and with p99 errors of TTFT,
	// ITL and E2E within MaxErrorS; 0 when even the lowest did not.
	MaxSustained int `json:"max_sustained_concurrency"`
}

// Errors describes the absolute differences |measured − true| of one
// metric, seconds.
type Errors struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_s"`
	P99   float64 `json:"p99_s"`
	Max   float64 `json:"max_s"`
}

// Level is what one concurrency level measured.
type Level struct {
	Concurrency int `json:"concurrency"`
	// Skipped says why the level did not run (the open-file limit); the
	// other fields are then zero.
	Skipped string `json:"skipped,omitempty"`
	// Requests counts requests compared with the server's record; Failed
	// counts failed ones; Unmatched successful ones whose chunks could not
	// be paired with the server's writes.
	Requests  int `json:"requests"`
	Failed    int `json:"failed"`
	Unmatched int `json:"unmatched"`
	// Tokens counts content chunks received (one token each).
	Tokens int `json:"tokens"`
	// TTFT, ITL and E2E are the errors of each metric against the truth:
	// the server's first write, its gaps between writes, its [DONE]. A
	// write's instant is known to lie between the server's clock readings
	// just before and just after it (Trace.Starts, Writes); an error is
	// how far llmload's value lies outside what those allow, 0 within.
	TTFT Errors `json:"ttft_error"`
	ITL  Errors `json:"itl_error"`
	E2E  Errors `json:"e2e_error"`
	// MeasuredTTFTP50S and MeasuredITLP50S are what llmload reported
	// (summary.json's p50s), to set beside the server's exact timing.
	MeasuredTTFTP50S float64 `json:"measured_ttft_p50_s"`
	MeasuredITLP50S  float64 `json:"measured_itl_p50_s"`
	// ServerLateP99S is the p99 of how late the in-process server wrote
	// chunks after they were due: when it is large the whole process was
	// starved (the truth is still the write time).
	ServerLateP99S float64 `json:"server_late_p99_s"`
	// CPUPerTokenUS is the process's CPU time over the level divided by
	// the tokens received, µs. It includes the in-process server's share,
	// so it is an upper bound on the client's.
	CPUPerTokenUS float64 `json:"cpu_per_token_us"`
	// MemoryPerStreamKiB is the growth of live heap plus goroutine stacks
	// from before the level to its middle (after a GC, every stream in
	// flight), divided by the concurrency, KiB. It includes the in-process
	// server's side of each stream.
	MemoryPerStreamKiB float64 `json:"memory_per_stream_kib"`
	// ClientLimited is the health monitor's verdict on the level, and
	// Health its evidence (summary.json's client_health).
	ClientLimited bool               `json:"client_limited"`
	Health        *health.Assessment `json:"client_health,omitempty"`
	// WithinBound is set when the level had no failure, every request
	// paired with the server's, and p99 errors within the bound.
	WithinBound bool `json:"within_bound"`
}

// Run runs the self-check. It returns the levels that completed when ctx
// ends.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.fill()
	if opts.TTFT < 0 || opts.ITL < 0 || opts.Tokens < 2 || opts.Duration < 0 {
		return nil, errors.New("selfcheck: timing must be positive and tokens at least 2")
	}
	if err := CheckPhases(opts.Phases); err != nil {
		return nil, fmt.Errorf("selfcheck: %w", err)
	}
	levels := slices.Clone(opts.Levels)
	slices.Sort(levels)
	levels = slices.Compact(levels)
	if levels[0] < 1 {
		return nil, fmt.Errorf("selfcheck: concurrency %d is not positive", levels[0])
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "llmload-selfcheck-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	res := &Result{
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OpenFileLimit: openFileLimit(),
		TTFTS: opts.TTFT.Seconds(), ITLS: opts.ITL.Seconds(), Tokens: opts.Tokens, Phases: opts.Phases,
		DurationS: opts.Duration.Seconds(), MaxErrorS: opts.MaxError.Seconds(),
	}
	sustained := true
	for _, c := range levels {
		if ctx.Err() != nil {
			break
		}
		if opts.Started != nil {
			opts.Started(c)
		}
		lvl, err := runLevel(ctx, &opts, c, filepath.Join(dir, fmt.Sprintf("c%d", c)))
		if err != nil {
			return res, fmt.Errorf("selfcheck: concurrency %d: %w", c, err)
		}
		res.Levels = append(res.Levels, lvl)
		sustained = sustained && lvl.WithinBound
		if sustained {
			res.MaxSustained = c
		}
		if opts.Done != nil {
			opts.Done(lvl)
		}
		os.RemoveAll(filepath.Join(dir, fmt.Sprintf("c%d", c)))
	}
	return res, nil
}

// filesPerStream: every stream holds llmload's socket and the in-process
// server's; filesSlack covers the rest (listener, run files, runtime).
const (
	filesPerStream = 2
	filesSlack     = 64
)

func runLevel(ctx context.Context, opts *Options, c int, dir string) (Level, error) {
	lvl := Level{Concurrency: c}
	if limit := openFileLimit(); limit > 0 {
		if need := uint64(filesPerStream*c + filesSlack + openFiles()); need > limit {
			lvl.Skipped = fmt.Sprintf("needs about %d open files (%d per stream: llmload's socket and the in-process server's), over this process's limit of %d; raise it (ulimit -n) to run this level",
				need, filesPerStream, limit)
			return lvl, nil
		}
	}
	srv := NewServer(opts.TTFT, opts.ITL, opts.Tokens)
	srv.Spread = opts.Phases == PhasesSpread
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return lvl, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	// Closing the server closes its side of every connection, idle ones
	// included, so no level inherits the last one's sockets.
	defer hs.Close()

	cfg := config.Defaults()
	cfg.Provider = config.ProviderOpenAI
	cfg.BaseURL = "http://" + ln.Addr().String() + "/v1"
	cfg.Model = "selfcheck"
	cfg.Name = fmt.Sprintf("selfcheck-c%d", c)
	cfg.Prompt = "Say ok."
	cfg.MeanOutputTokens, cfg.StddevOutputTokens = opts.Tokens, 0
	cfg.Concurrency = config.IntList{c}
	cfg.MaxRequests = 0
	cfg.Duration = config.Duration(opts.Duration)
	cfg.Timeout = config.Duration(opts.TTFT + time.Duration(opts.Tokens)*opts.ITL + 30*time.Second)
	cfg.ResultsDir = dir
	if err := bench.Resolve(&cfg, func(string) string { return "" }, func(string) bool { return false }); err != nil {
		return lvl, err
	}

	var (
		cpu0, cpu1      float64
		memBase, memMid float64
		probe           sync.WaitGroup
		runDone         = make(chan struct{})
	)
	hooks := bench.Hooks{
		Started: func(string, *load.Runner, *stats.Live) {
			// The endpoint, tokenizer and files are ready: what grows
			// from here is the streams'.
			runtime.GC()
			memBase = liveMemory()
			cpu0 = health.ProcessCPU()
			probe.Go(func() {
				// Halfway through the sending time every stream is in
				// flight: measure what they hold then.
				t := time.NewTimer(max(opts.Duration/2, opts.TTFT+2*opts.ITL))
				defer t.Stop()
				select {
				case <-t.C:
					runtime.GC()
					memMid = liveMemory()
				case <-runDone:
				}
			})
		},
		Finished: func(load.Result) {
			cpu1 = health.ProcessCPU()
			close(runDone)
			probe.Wait()
		},
	}
	out, err := bench.Run(ctx, &cfg, hooks)
	if err != nil {
		return lvl, err
	}
	lvl.compare(out, srv)
	sum := out.Summary
	lvl.MeasuredTTFTP50S = sum.Metrics.TTFT.P50
	lvl.MeasuredITLP50S = sum.Metrics.ITL.P50
	if lvl.Tokens > 0 && cpu0 >= 0 && cpu1 >= cpu0 {
		lvl.CPUPerTokenUS = 1e6 * (cpu1 - cpu0) / float64(lvl.Tokens)
	}
	if memMid > 0 {
		lvl.MemoryPerStreamKiB = max(memMid-memBase, 0) / 1024 / float64(c)
	}
	if h := sum.ClientHealth; h != nil {
		lvl.Health = h
		lvl.ClientLimited = h.ClientLimited
	}
	bound := opts.MaxError.Seconds()
	lvl.WithinBound = lvl.Requests > 0 && lvl.Failed == 0 && lvl.Unmatched == 0 &&
		lvl.TTFT.P99 <= bound && lvl.ITL.P99 <= bound && lvl.E2E.P99 <= bound
	return lvl, nil
}

// compare pairs every successful record of out with the server's trace of
// its response and collects the errors.
func (lvl *Level) compare(out *bench.Outcome, srv *Server) {
	start := out.Result.Started
	rel := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	var ttft, itl, e2e, late []float64
	for i := range out.Records {
		r := &out.Records[i]
		if r.Warmup || r.Retried {
			continue
		}
		lvl.Tokens += len(r.ChunkTimesS)
		if !r.OK() {
			lvl.Failed++
			continue
		}
		tr, ok := srv.Take(r.ResponseID)
		ct := r.ChunkTimesS
		if !ok || tr.End.IsZero() || len(ct) != len(tr.Writes) || len(ct) == 0 {
			lvl.Unmatched++
			continue
		}
		lvl.Requests++
		// The distance from the client's reading of an instant to the
		// server's, which lies between the server's clock readings just
		// before and just after its write: a server goroutine descheduled
		// around its write widens the interval rather than counting
		// against the client.
		ttft = append(ttft, outside(r.SentS+ct[0], rel(tr.Starts[0]), rel(tr.Writes[0])))
		for j := 1; j < len(ct); j++ {
			itl = append(itl, outside(ct[j]-ct[j-1],
				tr.Starts[j].Sub(tr.Writes[j-1]).Seconds(), tr.Writes[j].Sub(tr.Starts[j-1]).Seconds()))
		}
		e2e = append(e2e, outside(r.SentS+r.E2ES, rel(tr.EndStart), rel(tr.End)))
		for j := range tr.Writes {
			late = append(late, tr.Writes[j].Sub(tr.Due[j]).Seconds())
		}
	}
	lvl.TTFT, lvl.ITL, lvl.E2E = describe(ttft), describe(itl), describe(e2e)
	lvl.ServerLateP99S = describe(late).P99
}

// outside is how far x lies outside [lo, hi]: 0 within it.
func outside(x, lo, hi float64) float64 { return max(0, lo-x, x-hi) }

func describe(xs []float64) Errors {
	if len(xs) == 0 {
		return Errors{}
	}
	d := stats.Describe(xs)
	return Errors{Count: d.Count, P50: d.P50, P99: d.P99, Max: d.Max}
}

// liveMemory is the live heap (as of the last GC) plus goroutine stacks,
// bytes.
func liveMemory() float64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	var sum float64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			sum += float64(x.Value.Uint64())
		}
	}
	return sum
}
