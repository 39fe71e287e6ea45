package reportgen

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
)

// synth describes a synthetic run directory.
type synth struct {
	n           int     // requests
	concurrency int     // closed loop workers; 0 with rate
	rate        float64 // open loop arrivals/s
	meanOut     int     // output tokens (and content chunks) per request
	errEvery    int     // every errEvery-th request fails (0: none)
	slos        []string
	noSummary   bool // a crashed run: no summary.json
	noTimeline  bool
	seed        uint64
	group       string // run.case
	sets        bool   // alternate prompt sets chat and code
	turns       int    // > 1: requests are turns of sessions of this many turns
}

// writeSynth writes a run directory with n requests whose latencies
// follow simple distributions (lognormal TTFT, exponential decode), as
// bench.Run would lay it out, and returns its summary.
func writeSynth(t testing.TB, dir string, s synth) *stats.Summary {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 7))
	cfg := config.Defaults()
	cfg.Model = "meta-llama/Llama-3.1-8B-Instruct"
	cfg.Provider = "openai"
	cfg.BaseURL = "http://127.0.0.1:8000/v1"
	cfg.MeanOutputTokens = s.meanOut
	cfg.MaxRequests = s.n
	cfg.SLOs = s.slos
	temp := 0.7
	cfg.Temperature = &temp
	mode := "concurrency"
	if s.rate > 0 {
		mode = "rate"
		cfg.Mode, cfg.Rate, cfg.Concurrency = "rate", config.FloatList{s.rate}, nil
	} else {
		cfg.Concurrency = config.IntList{s.concurrency}
	}
	if err := rundir.Create(dir); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteConfig(dir, &cfg); err != nil {
		t.Fatal(err)
	}
	w, err := record.Create(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]record.Record, 0, s.n)
	free := make([]float64, max(1, s.concurrency)) // closed loop: when each worker is free
	next := 0.0
	for i := range s.n {
		r := record.Record{SchemaVersion: 1, ID: int64(i), Stream: true, TokenSource: record.SourceServer,
			InputTokens: 400 + rng.IntN(300), RequestedOutputTokens: s.meanOut}
		if s.sets {
			r.PromptSet = []string{"chat", "code"}[i%2]
		}
		if s.turns > 1 {
			sid := int64(i / s.turns)
			r.SessionID, r.Turn, r.SessionTurns = &sid, i%s.turns+1, s.turns
			cached := 500 * (r.Turn - 1)
			r.InputTokens += cached
			r.CachedInputTokens = &cached
		}
		if s.rate > 0 {
			next += rng.ExpFloat64() / s.rate
			r.ScheduledS, r.Worker, r.TargetLoad = next, -1, s.rate
			r.SentS = next + 0.0005*rng.ExpFloat64()
		} else {
			k := i % len(free)
			r.Worker, r.TargetLoad = k, float64(s.concurrency)
			r.ScheduledS, r.SentS = free[k], free[k]+0.0001
		}
		ttft := 0.15 * math.Exp(0.4*rng.NormFloat64())
		out := max(2, s.meanOut/2+rng.IntN(s.meanOut+1))
		r.OutputTokens = out
		tpot := 0.02 + 0.005*rng.ExpFloat64()
		r.ChunkTimesS = make([]float64, out)
		at := ttft
		for j := range out {
			if j > 0 {
				at += tpot * (0.8 + 0.4*rng.Float64())
				if rng.IntN(200) == 0 {
					at += 0.2 // a prefill stall
				}
			}
			r.ChunkTimesS[j] = at
		}
		r.TTFTS, r.E2ES = ttft, at+0.001
		r.ServerTimingS = map[string]float64{"latency_s": r.E2ES - 0.004}
		if s.errEvery > 0 && i%s.errEvery == s.errEvery-1 {
			kinds := []llm.ErrorKind{llm.KindThrottled, llm.KindTimeout, llm.KindServer}
			r.ErrorKind = kinds[i%len(kinds)]
			r.Error, r.ChunkTimesS, r.TTFTS, r.OutputTokens, r.E2ES = "synthetic failure", nil, 0, 0, 0.05
			r.ServerTimingS = nil
		}
		if s.concurrency > 0 {
			free[r.Worker] = r.SentS + r.E2ES
		}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.noTimeline {
		tw, err := record.Create(filepath.Join(dir, rundir.TimelineFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range stats.Timeline(recs, 0.25) {
			if err := tw.WriteJSON(&record.Sample{SchemaVersion: 1, T: p.T, InFlight: int64(p.InFlight), TargetLoad: recs[0].TargetLoad}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := stats.RunInfo{Name: filepath.Base(dir), Case: s.group, Provider: cfg.Provider, Model: cfg.Model, BaseURL: cfg.BaseURL,
		API: "chat", Stream: true, Mode: mode, Concurrency: s.concurrency, Rate: s.rate, MaxRequests: s.n,
		MeanInputTokens: 550, MeanOutputTokens: s.meanOut, Tokenizer: "cl100k_base", Version: "test",
		StartedAt: start, EndedAt: start.Add(time.Minute), StopReason: "max_requests"}
	if s.rate > 0 {
		info.Arrival = "poisson"
	}
	sum := stats.Summarize(recs, info)
	if slos, err := analysis.ParseSLOs(s.slos); err != nil {
		t.Fatal(err)
	} else if len(slos) > 0 {
		g := analysis.Goodput(recs, slos, sum.WindowS)
		sum.Goodput = &g
	}
	if !s.noSummary {
		if err := report.WriteSummaryJSON(filepath.Join(dir, rundir.SummaryFile), sum); err != nil {
			t.Fatal(err)
		}
	}
	return sum
}

// writeSynthSweep writes a sweep directory: one synthetic level per
// (group, level), and sweep.json.
func writeSynthSweep(t testing.TB, dir string, groupNames []string, levels []int, n int) *analysis.SweepSummary {
	t.Helper()
	ss := &analysis.SweepSummary{SchemaVersion: 1, Name: filepath.Base(dir), Kind: analysis.SweepConcurrency}
	for gi, g := range groupNames {
		for _, c := range levels {
			sub := "c" + strconv.Itoa(c)
			if g != "" {
				sub = slug(g) + "-" + sub
			}
			sum := writeSynth(t, filepath.Join(dir, sub), synth{n: n, concurrency: c, meanOut: 40 + 20*gi, seed: uint64(c + 100*gi), slos: []string{"ttft<=200ms"}, group: g})
			row := analysis.SweepRowOf(float64(c), sub, sum)
			row.Group = g
			ss.Rows = append(ss.Rows, row)
		}
	}
	if err := report.WriteSweepJSON(filepath.Join(dir, SweepFile), ss); err != nil {
		t.Fatal(err)
	}
	return ss
}
