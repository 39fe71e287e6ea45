// Package bench runs one benchmark end to end, the way `llmload run` does:
// from an effective configuration to a complete run directory (config.yaml,
// records.jsonl, timeline.jsonl, summary.json, LLMPerf JSON). It never
// prints; callers watch progress through Hooks.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/ratelimit"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

// ErrInvalid marks errors caused by the configuration or input files (the
// CLI's exit status 2), as opposed to failures while running.
var ErrInvalid = errors.New("invalid configuration")

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// Hooks let a caller watch a run. Every field is optional.
type Hooks struct {
	// Started is called once the endpoint is ready and before the first
	// request, with a description of the target and the runner and live
	// statistics to poll for progress.
	Started func(target string, r *load.Runner, live *stats.Live)
	// Finished is called after the last request ended, before the
	// summary is computed.
	Finished func(load.Result)
	// Version is written to summary.json's run.version.
	Version string
}

// Outcome is what one run produced.
type Outcome struct {
	Dir     string
	Config  *config.Config
	Result  load.Result
	Records []record.Record
	Summary *stats.Summary
}

// Run performs the run cfg describes and writes its run directory.
// cfg must hold exactly one load level (one concurrency or one rate).
func Run(ctx context.Context, cfg *config.Config, hooks Hooks) (*Outcome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, invalid(err)
	}
	resolveLengths(cfg)
	resolvePromptSeed(cfg)
	if len(cfg.Concurrency) > 1 || len(cfg.Rate) > 1 {
		return nil, invalid(errors.New("bench.Run takes one load level; use Sweep for several"))
	}
	tok, err := workload.NewTokenizer(cfg.Tokenizer)
	if err != nil {
		return nil, invalid(err)
	}
	src, err := Source(cfg, tok)
	if err != nil {
		return nil, invalid(err)
	}
	plan := Plan(cfg)
	if err := plan.Validate(); err != nil {
		return nil, invalid(err)
	}
	// Parse SLOs and thresholds before sending anything.
	if _, err := analysis.ParseSLOs(cfg.SLOs); err != nil {
		return nil, invalid(err)
	}
	if _, err := analysis.ParseThresholds(cfg.Thresholds); err != nil {
		return nil, invalid(err)
	}

	ep, err := openEndpoint(ctx, cfg, plan)
	if err != nil {
		return nil, err
	}
	defer ep.close()

	if err := rundir.Create(cfg.ResultsDir); err != nil {
		return nil, invalid(err)
	}
	if err := rundir.WriteConfig(cfg.ResultsDir, cfg); err != nil {
		return nil, err
	}
	recPath := filepath.Join(cfg.ResultsDir, rundir.RecordsFile)
	w, err := record.Create(recPath)
	if err != nil {
		return nil, err
	}
	tw, err := record.Create(filepath.Join(cfg.ResultsDir, rundir.TimelineFile))
	if err != nil {
		w.Close()
		return nil, err
	}

	live := &stats.Live{}
	// Each writer's error is kept by the one goroutine that calls it.
	var recErr, sampleErr error
	runner := &load.Runner{
		Provider:  ep.provider,
		Source:    src,
		Tokenizer: tok,
		Template:  Template(cfg),
		Plan:      plan,
		Limiter:   Limiter(cfg),
		Sink: func(r *record.Record) {
			if err := w.Write(r); err != nil && recErr == nil {
				recErr = err
			}
			live.Add(r)
		},
		OnSample: func(s record.Sample) {
			if err := tw.WriteJSON(&s); err != nil && sampleErr == nil {
				sampleErr = err
			}
		},
	}
	if hooks.Started != nil {
		hooks.Started(ep.target, runner, live)
	}
	res, err := runner.Run(ctx)
	writeErr := errors.Join(recErr, sampleErr, w.Close(), tw.Close())
	if hooks.Finished != nil {
		hooks.Finished(res)
	}
	if err != nil {
		return nil, err
	}
	if writeErr != nil {
		return nil, fmt.Errorf("writing the run directory: %w", writeErr)
	}

	// The summary is computed from the file, not from memory: the run
	// directory is the truth, and this proves it holds everything.
	recs, err := record.ReadFile(recPath)
	if err != nil {
		return nil, fmt.Errorf("reading back %s: %w", recPath, err)
	}
	sum, err := Summarize(recs, runInfo(cfg, plan, res, ep.target, hooks.Version), cfg)
	if err != nil {
		return nil, invalid(err)
	}
	if err := report.WriteSummaryJSON(filepath.Join(cfg.ResultsDir, rundir.SummaryFile), sum); err != nil {
		return nil, err
	}
	if err := report.WriteLLMPerf(cfg.ResultsDir, recs, sum); err != nil {
		return nil, err
	}
	return &Outcome{Dir: cfg.ResultsDir, Config: cfg, Result: res, Records: recs, Summary: sum}, nil
}

// Template is the request template of cfg.
func Template(cfg *config.Config) load.Template {
	return load.Template{
		Model:       cfg.Model,
		API:         llm.API(cfg.API),
		Stream:      cfg.Stream,
		IgnoreEOS:   cfg.IgnoreEOS,
		Temperature: cfg.Temperature,
		Extra:       cfg.ExtraBody,
		Headers:     cfg.Headers,
	}
}

// quotaMargin lengthens the client-side quota window a little beyond the
// server's, so requests admitted at a window's edge by the client cannot
// arrive inside the server's previous window (1.2 s on a minute).
const quotaMargin = 1.02

// Limiter is the client-side RPM/TPM limiter of cfg, nil without one.
func Limiter(cfg *config.Config) *ratelimit.Window {
	w := cfg.QuotaWindow.D()
	if w <= 0 {
		w = time.Minute
	}
	return ratelimit.New(cfg.RPM, cfg.TPM, time.Duration(quotaMargin*float64(w)))
}

// Plan is the load plan of cfg (its first load level).
func Plan(cfg *config.Config) load.Plan {
	p := load.Plan{
		Mode:           cfg.Mode,
		BatchSize:      cfg.BatchSize,
		BatchInterval:  cfg.BatchInterval.D(),
		Batches:        cfg.Batches,
		Arrival:        cfg.Arrival,
		Burstiness:     cfg.Burstiness,
		MaxConcurrency: cfg.MaxConcurrency,
		Ramp:           cfg.Ramp.D(),
		Seed:           cfg.Seed,
		Retries:        cfg.Retries,
		MaxRequests:    cfg.MaxRequests,
		Duration:       cfg.Duration.D(),
		Warmup:         cfg.Warmup,
		Timeout:        cfg.Timeout.D(),
	}
	if len(cfg.Concurrency) > 0 {
		p.Concurrency = cfg.Concurrency[0]
	}
	if len(cfg.Rate) > 0 {
		p.Rate = cfg.Rate[0]
	}
	return p
}

// Source builds the prompt source of cfg: one workload, or a weighted mix
// of prompt sets.
func Source(cfg *config.Config, tok *workload.Tokenizer) (workload.Source, error) {
	if sets := cfg.EffectivePromptSets(); len(sets) > 0 {
		ws := make([]workload.Weighted, len(sets))
		for i, s := range sets {
			ws[i] = workload.Weighted{Name: s.Name, Weight: s.Weight, Options: workload.Options{
				MeanInputTokens:    s.MeanInputTokens,
				StddevInputTokens:  s.StddevInputTokens,
				MeanOutputTokens:   s.MeanOutputTokens,
				StddevOutputTokens: s.StddevOutputTokens,
				Prompt:             s.Prompt,
				PromptFile:         s.PromptFile,
				SystemPrompt:       s.SystemPrompt,
				Seed:               cfg.Seed,
				PromptSeed:         cfg.PromptSeed,
				Tokenizer:          tok,
			}}
		}
		return workload.NewMix(ws, cfg.Seed, tok, cfg.SystemPrompt)
	}
	return workload.NewSource(workload.Options{
		MeanInputTokens:    cfg.MeanInputTokens,
		StddevInputTokens:  cfg.StddevInputTokens,
		MeanOutputTokens:   cfg.MeanOutputTokens,
		StddevOutputTokens: cfg.StddevOutputTokens,
		Prompt:             cfg.Prompt,
		PromptFile:         cfg.PromptFile,
		SystemPrompt:       cfg.SystemPrompt,
		Seed:               cfg.Seed,
		PromptSeed:         cfg.PromptSeed,
		Tokenizer:          tok,
	})
}

// Summarize computes the summary of a run's records, with goodput under
// cfg's SLOs when it has any.
func Summarize(recs []record.Record, run stats.RunInfo, cfg *config.Config) (*stats.Summary, error) {
	slos, err := analysis.ParseSLOs(cfg.SLOs)
	if err != nil {
		return nil, err
	}
	s := stats.Summarize(recs, run)
	if len(slos) > 0 {
		g := analysis.Goodput(recs, slos, s.WindowS)
		s.Goodput = &g
	}
	return s, nil
}

// Thresholds evaluates cfg's thresholds against a summary.
func Thresholds(cfg *config.Config, s *stats.Summary) ([]analysis.ThresholdResult, bool, error) {
	ts, err := analysis.ParseThresholds(cfg.Thresholds)
	if err != nil {
		return nil, false, err
	}
	if len(ts) == 0 {
		return nil, true, nil
	}
	res, ok := analysis.EvaluateAll(ts, s)
	return res, ok, nil
}

func runInfo(cfg *config.Config, plan load.Plan, res load.Result, target, version string) stats.RunInfo {
	mode := plan.Mode
	if mode == "" {
		mode = load.ModeConcurrency
	}
	return stats.RunInfo{
		Name:               cfg.Name,
		Provider:           cfg.Provider,
		Model:              cfg.Model,
		BaseURL:            target,
		API:                cfg.API,
		Stream:             cfg.Stream,
		Mode:               mode,
		Concurrency:        plan.Concurrency,
		MaxRequests:        cfg.MaxRequests,
		WarmupRequests:     cfg.Warmup,
		DurationLimitS:     cfg.Duration.D().Seconds(),
		TimeoutS:           cfg.Timeout.D().Seconds(),
		MeanInputTokens:    cfg.MeanInputTokens,
		StddevInputTokens:  cfg.StddevInputTokens,
		MeanOutputTokens:   cfg.MeanOutputTokens,
		StddevOutputTokens: cfg.StddevOutputTokens,
		Tokenizer:          cfg.Tokenizer,
		Version:            version,
		Rate:               plan.Rate,
		Arrival:            arrivalOf(plan),
		BatchSize:          plan.BatchSize,
		Batches:            plan.Batches,
		BatchIntervalS:     plan.BatchInterval.Seconds(),
		MaxConcurrency:     plan.MaxConcurrency,
		RampS:              plan.Ramp.Seconds(),
		StartedAt:          res.Started,
		EndedAt:            res.Ended,
		StopReason:         res.StopReason,
		Interrupted:        res.Interrupted,
	}
}

// arrivalOf names the arrival process of a rate plan, "" otherwise.
func arrivalOf(p load.Plan) string {
	if p.Mode != load.ModeRate {
		return ""
	}
	if p.Arrival == "" {
		return load.ArrivalPoisson
	}
	return p.Arrival
}

// endpoint is a ready provider, with whatever must be stopped afterwards.
type endpoint struct {
	provider llm.Provider
	target   string // for people: the URL (redacted) or the simulator
	stop     func()
}

func (e *endpoint) close() {
	if e.stop != nil {
		e.stop()
	}
}

// openEndpoint builds cfg's provider; for provider sim it first serves the
// simulator on a loopback port, so a simulated run is measured through the
// same HTTP path as a real one.
func openEndpoint(ctx context.Context, cfg *config.Config, plan load.Plan) (*endpoint, error) {
	ep := &endpoint{target: config.RedactURL(cfg.BaseURL)}
	baseURL := cfg.BaseURL
	if cfg.Provider == config.ProviderSim {
		p, err := sim.LookupProfile(cfg.Sim.Profile)
		if err != nil {
			return nil, invalid(err)
		}
		url, stop, err := startSim(p, cfg)
		if err != nil {
			return nil, fmt.Errorf("starting the simulator: %w", err)
		}
		ep.stop = stop
		baseURL = url
		ep.target = fmt.Sprintf("built-in simulator %s (%s) at %s", p.Name, p.Description, url)
	}
	prov, err := newProvider(ctx, cfg, baseURL, maxConns(plan))
	if err != nil {
		ep.close()
		return nil, invalid(err)
	}
	ep.provider = prov
	return ep, nil
}

// maxConns sizes the HTTP connection pool to the peak requests in flight.
func maxConns(p load.Plan) int {
	switch {
	case p.Mode == load.ModeRate && p.MaxConcurrency > 0:
		return p.MaxConcurrency
	case p.Mode == load.ModeRate:
		return max(64, int(p.Rate*p.Timeout.Seconds()))
	case p.Mode == load.ModeBatchSequential || p.Mode == load.ModeBatchInterval:
		return p.BatchSize * 2
	}
	return p.Concurrency
}

// startSim serves the simulator on a loopback port.
func startSim(p sim.Profile, cfg *config.Config) (baseURL string, stop func(), err error) {
	srv, err := sim.New(sim.Options{
		Profile:               p,
		TimeScale:             cfg.Sim.TimeScale,
		MaxConcurrentRequests: cfg.Sim.MaxConcurrentRequests,
		ModelName:             cfg.Model,
		Seed:                  cfg.Seed,
		PrefixCacheBlocks:     cfg.Sim.PrefixCacheBlocks,
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1", func() {
		srv.Close()
		hs.Close()
	}, nil
}
