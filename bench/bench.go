// Package bench runs one benchmark end to end, the way `llmload run` does:
// from an effective configuration to a complete run directory (config.yaml,
// records.jsonl, timeline.jsonl, summary.json, LLMPerf JSON). It never
// prints; callers watch progress through Hooks.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/llmload/llmload/analysis"
	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/health"
	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/bedrock"
	"github.com/llmload/llmload/llm/sagemaker"
	"github.com/llmload/llmload/load"
	"github.com/llmload/llmload/ratelimit"
	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/report"
	"github.com/llmload/llmload/reportgen"
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
	// Sweep and Case label a level of a sweep or experiment: they are
	// written to summary.json's run.sweep and run.case.
	Sweep, Case string
	// NoReport leaves report.html, plots/ and summary.md/csv out of the
	// run directory (`llmload report DIR` writes them later from the
	// files); everything else is written as usual.
	NoReport bool
}

// Outcome is what one run produced.
type Outcome struct {
	Dir     string
	Config  *config.Config
	Result  load.Result
	Records []record.Record
	Summary *stats.Summary
	// Report lists the report files written (report.html, summary.md,
	// summary.csv, plots/); ReportErr is why they could not be. The run
	// itself is complete either way: `llmload report` rebuilds them.
	Report    *reportgen.Result
	ReportErr error
}

// Run performs the run cfg describes and writes its run directory.
// cfg must hold exactly one load level (one concurrency, rate or batch
// size).
// A health monitor (package health) watches the process while the runner
// runs; its verdict is the summary's ClientHealth.
func Run(ctx context.Context, cfg *config.Config, hooks Hooks) (*Outcome, error) {
	out, err := run(ctx, cfg, hooks)
	return out, cfg.Redactor().Error(err)
}

func run(ctx context.Context, cfg *config.Config, hooks Hooks) (*Outcome, error) {
	resolveLengths(cfg)
	resolvePromptSeed(cfg)
	if len(cfg.Concurrency) > 1 || len(cfg.Rate) > 1 || len(cfg.BatchSize) > 1 {
		return nil, invalid(errors.New("bench.Run takes one load level; use Sweep for several"))
	}
	pre, err := check(cfg)
	if err != nil {
		return nil, err
	}
	tok, src, plan := pre.tok, pre.src, pre.plan

	// Past the open-file limit every extra stream fails at once: refuse.
	if _, err := CheckOpenFiles(cfg); err != nil {
		return nil, err
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

	// Error text enters a record here: scrub the run's secrets from what
	// a server said before it reaches the disk or a console.
	red := cfg.Redactor()
	live := &stats.Live{}
	// Each writer's error is kept by the one goroutine that calls it.
	var recErr, sampleErr error
	runner := &load.Runner{
		Provider:         ep.provider,
		Source:           src,
		Tokenizer:        tok,
		Template:         Template(cfg),
		Plan:             plan,
		Limiter:          Limiter(cfg),
		Sessions:         pre.sessions,
		ThinkTime:        cfg.ThinkTime.D(),
		ThinkExponential: cfg.ThinkTimeDist == config.ThinkExponential,
		Sink: func(r *record.Record) {
			scrubRecord(red, r)
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
	// The client watches its own health while it measures (package
	// health): a starved client stamps chunks late.
	mon := health.Start()
	res, err := runner.Run(ctx)
	healthReport := mon.Stop()
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
	ep.noteSimLateness()
	info := runInfo(cfg, plan, res, ep, hooks.Version)
	info.Sweep, info.Case = hooks.Sweep, hooks.Case
	if ds, ok := pre.src.(*workload.Dataset); ok {
		st := ds.Stats()
		info.Dataset = &st
	}
	sum, err := Summarize(recs, info, cfg)
	if err != nil {
		return nil, invalid(err)
	}
	sum.ClientHealth = AssessHealth(healthReport, sum, plan)
	sum.Cost = runCost(cfg, pre, sum, recs)
	if si := sum.Run.Sim; sum.Cost != nil && si != nil && si.TimeScale != 1 && si.TimeScale > 0 {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("the simulator ran at time scale %g: the instance cost per 1M output tokens and the cost per user-hour follow its sped-up throughput and latency, not the modelled hardware's (costs per request and per 1M tokens by the token do not depend on time)", si.TimeScale))
	}
	if err := report.WriteSummaryJSON(filepath.Join(cfg.ResultsDir, rundir.SummaryFile), sum); err != nil {
		return nil, err
	}
	if err := report.WriteLLMPerf(cfg.ResultsDir, recs, sum); err != nil {
		return nil, err
	}
	out := &Outcome{Dir: cfg.ResultsDir, Config: cfg, Result: res, Records: recs, Summary: sum}
	if !hooks.NoReport {
		out.Report, out.ReportErr = reportgen.BuildRun(cfg.ResultsDir, recs, sum, reportgen.Options{})
	}
	return out, nil
}

// AssessHealth judges what the health monitor saw during a run against
// the run's summary: its ITL (or TTFT) sets the time scale that matters,
// and its schedule lag counts as evidence when nothing but the client
// could have delayed sends (no max-concurrency cap, no client-side rate
// limiter holding requests back).
func AssessHealth(r health.Report, s *stats.Summary, plan load.Plan) *health.Assessment {
	m := s.Metrics
	ref := health.Reference{
		ITLP50S:             m.ITL.P50,
		TTFTP50S:            m.TTFT.P50,
		ScheduleLagP90S:     m.ScheduleLag.P90,
		ScheduleLagIsClient: !(plan.Mode == load.ModeRate && plan.MaxConcurrency > 0) && s.Limiter == nil,
	}
	if st := s.Stamps; st != nil && st.KernelRequests > 0 && st.ReadRequests == 0 {
		ref.KernelStamps, ref.ReadLagP90S, ref.MergedShare = true, st.ReadLagMax.P90, st.MergedShare()
	}
	if m.ITL.Count > 0 {
		// An ITL p50 of 0 is itself a symptom (chunks read in bursts):
		// hold the client to the tightest limit, not to the TTFT's.
		ref.ITLP50S = max(m.ITL.P50, 1e-9)
	}
	a := health.Assess(r, ref)
	return &a
}

// scrubRecord removes secrets from the text a server put into r.
func scrubRecord(red *config.Redactor, r *record.Record) {
	if red == nil {
		return
	}
	r.Error = red.String(r.Error)
	r.ResponseID = red.String(r.ResponseID)
	r.FinishReason = red.String(r.FinishReason)
}

// preflight is what check built on its way: Run uses it as it is.
type preflight struct {
	tok  *workload.Tokenizer
	src  workload.Source
	plan load.Plan
	// price is the token price asked for; nil: none.
	price *analysis.ModelPrice
	// sessions is the run's multi-turn sessions, nil without (--turns).
	sessions workload.SessionSource
}

// check runs every check a run makes before it sends anything: the
// configuration, the tokenizer, the prompt source (prompt files are read),
// the load plan, the SLOs and the thresholds.
func check(cfg *config.Config) (*preflight, error) {
	if err := cfg.Validate(); err != nil {
		return nil, invalid(err)
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
	if _, err := analysis.ParseSLOs(cfg.SLOs); err != nil {
		return nil, invalid(err)
	}
	if _, err := analysis.ParseThresholds(cfg.Thresholds); err != nil {
		return nil, invalid(err)
	}
	price, err := TokenPrice(cfg)
	if err != nil {
		return nil, invalid(err)
	}
	pre := &preflight{tok: tok, src: src, plan: plan, price: price}
	if cfg.Turns > 1 {
		if pre.sessions, err = Sessions(src, cfg.Turns, int64(cfg.Warmup)); err != nil {
			return nil, invalid(err)
		}
	}
	return pre, nil
}

// TokenPrice is the token price cfg asks for (price_model, prices,
// price_input, …); nil, nil when it asks for none.
func TokenPrice(cfg *config.Config) (*analysis.ModelPrice, error) {
	spec := analysis.PriceSpec{Model: cfg.PriceModel, Input: cfg.PriceInput, Output: cfg.PriceOutput,
		CachedInput: cfg.PriceCachedInput, BatchDiscount: cfg.PriceBatchDiscount, Batch: cfg.PriceBatch}
	if cfg.Prices != "" {
		b, err := os.ReadFile(cfg.Prices)
		if err != nil {
			return nil, fmt.Errorf("prices: %w", err)
		}
		spec.Table = b
	}
	p, err := spec.Resolve()
	if err != nil && cfg.Prices != "" {
		err = fmt.Errorf("%s: %w", cfg.Prices, err)
	}
	return p, err
}

// runCost prices a run when cfg gives a price (nil otherwise).
func runCost(cfg *config.Config, pre *preflight, s *stats.Summary, recs []record.Record) *stats.Cost {
	var inst *analysis.InstancePrice
	if cfg.PricePerHour > 0 {
		inst = &analysis.InstancePrice{PerHour: cfg.PricePerHour, Instances: float64(cfg.Instances)}
	}
	return analysis.RunCost(s, recs, pre.tok.Count(cfg.SystemPrompt), pre.price, inst)
}

// Check makes every check `llmload run` makes before sending anything, for
// each load level of cfg, so that --dry-run approves exactly what a run
// accepts. Its errors wrap ErrInvalid.
func Check(cfg *config.Config) error {
	for _, lvl := range levelConfigs(cfg) {
		if _, err := check(lvl); err != nil {
			return err
		}
	}
	return nil
}

// Template is the request template of cfg.
func Template(cfg *config.Config) load.Template {
	return load.Template{
		Model:          cfg.Model,
		API:            llm.API(cfg.API),
		Stream:         cfg.Stream && cfg.API != string(llm.APIEmbeddings),
		EmbeddingBatch: cfg.EmbeddingBatch,
		IgnoreEOS:      cfg.IgnoreEOS,
		Temperature:    cfg.Temperature,
		Extra:          cfg.ExtraBody,
		Headers:        cfg.Headers,
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
		BatchSize:      cfg.BatchSize.First(),
		BatchInterval:  cfg.BatchInterval.D(),
		Batches:        cfg.Batches,
		Arrival:        cfg.Arrival,
		Burstiness:     cfg.Burstiness,
		MaxConcurrency: cfg.MaxConcurrency,
		Ramp:           cfg.Ramp.D(),
		Seed:           cfg.Seed,
		Retries:        cfg.Retries,
		MaxRetryAfter:  cfg.MaxRetryAfter.D(),
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
	if cfg.Dataset != "" {
		return workload.NewDataset(workload.DatasetOptions{
			Path:               cfg.Dataset,
			Format:             cfg.DatasetFormat,
			Sample:             cfg.DatasetSample,
			Replace:            cfg.DatasetReplace,
			OutputLengths:      cfg.DatasetOutputLengths,
			MeanOutputTokens:   cfg.MeanOutputTokens,
			StddevOutputTokens: cfg.StddevOutputTokens,
			MinInputTokens:     cfg.DatasetMinInputTokens,
			MaxInputTokens:     cfg.DatasetMaxInputTokens,
			MinOutputTokens:    cfg.DatasetMinOutputTokens,
			MaxOutputTokens:    cfg.DatasetMaxOutputTokens,
			Seed:               cfg.Seed,
			Tokenizer:          tok,
			SystemPrompt:       cfg.SystemPrompt,
		})
	}
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
				PrefixTokens:       s.PrefixTokens,
				PrefixGroups:       s.PrefixGroups,
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
		PrefixTokens:       cfg.PrefixTokens,
		PrefixGroups:       cfg.PrefixGroups,
	})
}

// Sessions makes the multi-turn sessions of up to turns turns from src:
// a dataset's conversations (workload.Conversations), each cut to turns,
// taken in sampling order after the warmup requests' rows, or sessions of
// synthetic turns.
func Sessions(src workload.Source, turns int, warmup int64) (workload.SessionSource, error) {
	if c, ok := src.(workload.Conversations); ok {
		return c.Sessions(turns, warmup), nil
	}
	return workload.NewSessions(src, turns)
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

func runInfo(cfg *config.Config, plan load.Plan, res load.Result, ep *endpoint, version string) stats.RunInfo {
	mode := plan.Mode
	if mode == "" {
		mode = load.ModeConcurrency
	}
	return stats.RunInfo{
		Name:               cfg.Name,
		Provider:           cfg.Provider,
		Model:              cfg.Model,
		BaseURL:            ep.baseURL,
		API:                APILabel(cfg),
		Stream:             cfg.Stream && cfg.API != string(llm.APIEmbeddings),
		Mode:               mode,
		Concurrency:        ConcurrencyCap(plan),
		MaxRequests:        cfg.MaxRequests,
		WarmupRequests:     cfg.Warmup,
		DurationLimitS:     cfg.Duration.D().Seconds(),
		TimeoutS:           cfg.Timeout.D().Seconds(),
		MeanInputTokens:    cfg.MeanInputTokens,
		StddevInputTokens:  cfg.StddevInputTokens,
		MeanOutputTokens:   cfg.MeanOutputTokens,
		StddevOutputTokens: cfg.StddevOutputTokens,
		Tokenizer:          cfg.Tokenizer,
		PrefixTokens:       prefixTokens(cfg),
		PrefixGroups:       prefixGroups(cfg),
		Turns:              cfg.Turns,
		ThinkTimeS:         cfg.ThinkTime.D().Seconds(),
		ThinkTimeDist:      thinkDist(cfg),
		Version:            version,
		Sim:                ep.sim,
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

// thinkDist names cfg's think-time distribution, "" without sessions.
func thinkDist(cfg *config.Config) string {
	if cfg.Turns <= 1 || cfg.ThinkTime <= 0 {
		return ""
	}
	return cmp.Or(cfg.ThinkTimeDist, config.ThinkConstant)
}

// prefixTokens is the longest shared prefix of cfg or of its prompt sets
// (0 without any).
func prefixTokens(cfg *config.Config) int {
	n := cfg.PrefixTokens
	for _, s := range cfg.PromptSets {
		n = max(n, s.PrefixTokens)
	}
	return n
}

// prefixGroups is the number of distinct shared prefixes of cfg, over
// its prompt sets (0 without any).
func prefixGroups(cfg *config.Config) int {
	n := 0
	if cfg.PrefixTokens > 0 {
		n = max(1, cfg.PrefixGroups)
	}
	for _, s := range cfg.PromptSets {
		if s.PrefixTokens > 0 {
			n += max(1, s.PrefixGroups)
		}
	}
	return n
}

// ConcurrencyCap is the most requests plan lets be in flight at once:
// the workers of the closed loop, the batch size of sequential batches,
// the cap of rate mode; 0 when the shape has none (interval batches may
// overlap when a batch outlives the interval; an uncapped open loop).
func ConcurrencyCap(plan load.Plan) int {
	switch plan.Mode {
	case load.ModeBatchSequential:
		return plan.BatchSize
	case load.ModeBatchInterval:
		return 0
	case load.ModeRate:
		return plan.MaxConcurrency
	}
	return plan.Concurrency
}

// APILabel names the request shape cfg sends, in the provider's own
// terms: chat or completions for OpenAI-compatible endpoints, the native
// API of TGI (generate) and Ollama (chat, generate), the Bedrock
// operation (converse-stream, converse, invoke-stream, invoke) and the
// SageMaker payload format (tgi, messages, template).
func APILabel(cfg *config.Config) string {
	po := cfg.Providers
	switch cfg.Provider {
	case config.ProviderTGI:
		return "generate"
	case config.ProviderOllama:
		return cmp.Or(po.OllamaAPI, "chat")
	case config.ProviderBedrock:
		if po.BedrockAPI != "" {
			return po.BedrockAPI
		}
		if cfg.Stream {
			return bedrock.APIConverseStream
		}
		return bedrock.APIConverse
	case config.ProviderSageMaker:
		return cmp.Or(po.SageMakerFormat, sagemaker.FormatTGI)
	}
	return cfg.API
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
	baseURL  string // the URL requests go to (redacted), for summary.json
	sim      *stats.SimInfo
	simSrv   *sim.Server // the in-process simulator, when provider sim
	stop     func()
}

// noteSimLateness copies into e.sim how far the in-process simulator fell
// behind its own engine when writing tokens (the summary warns when it
// did; see stats.SimLateWarning).
func (e *endpoint) noteSimLateness() {
	if e.simSrv == nil || e.sim == nil {
		return
	}
	st := e.simSrv.Stats()
	e.sim.DeliveredTokens, e.sim.LateTokens, e.sim.LateRequests = st.DeliveredTokens, st.LateTokens, st.LateRequests
	e.sim.MaxLateS = st.MaxLate.Seconds()
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
	ep := &endpoint{target: config.RedactURL(cfg.BaseURL), baseURL: config.RedactURL(cfg.BaseURL)}
	baseURL := cfg.BaseURL
	if cfg.Provider == config.ProviderSim {
		p, err := sim.ResolveProfile(cfg.Sim.Profile, cfg.Sim.ProfileFile)
		if err != nil {
			return nil, invalid(err)
		}
		srv, url, stop, err := startSim(p, cfg)
		if err != nil {
			return nil, fmt.Errorf("starting the simulator: %w", err)
		}
		ep.stop, ep.simSrv = stop, srv
		baseURL = url
		ep.baseURL = url
		ep.sim = &stats.SimInfo{Profile: p.Name, Description: p.Description, TimeScale: cfg.Sim.TimeScale}
		ep.target = fmt.Sprintf("built-in simulator %s (%s) at %s", p.Name, p.Description, url)
		if ts := cfg.Sim.TimeScale; ts != 1 {
			ep.target += fmt.Sprintf(", time scale %g", ts)
		}
	}
	prov, err := newProvider(ctx, cfg, baseURL, maxConns(plan))
	if err != nil {
		ep.close()
		return nil, invalid(err)
	}
	ep.provider = prov
	if cfg.Provider == config.ProviderBedrock || cfg.Provider == config.ProviderSageMaker {
		region := cfg.Providers.Region
		if r, ok := prov.(interface{ Region() string }); ok && r.Region() != "" {
			region = r.Region()
		}
		ep.target = awsTarget(cfg, region)
	}
	if e, ok := prov.(interface{ Endpoint() string }); ok && ep.baseURL == "" {
		// Bedrock and SageMaker: the service endpoint the SDK resolved.
		ep.baseURL = config.RedactURL(e.Endpoint())
	}
	return ep, nil
}

// awsTarget describes an AWS endpoint for people: "bedrock us-east-1",
// "sagemaker endpoint my-llm (us-east-1)", with the endpoint URL when one
// overrides the service's.
func awsTarget(cfg *config.Config, region string) string {
	if region == "" {
		region = "default region"
	}
	t := fmt.Sprintf("bedrock %s", region)
	if cfg.Provider == config.ProviderSageMaker {
		t = fmt.Sprintf("sagemaker endpoint %s (%s)", cfg.Providers.EndpointName, region)
		if ic := cfg.Providers.InferenceComponent; ic != "" {
			t = fmt.Sprintf("sagemaker endpoint %s, component %s (%s)", cfg.Providers.EndpointName, ic, region)
		}
	}
	if u := cfg.Providers.EndpointURL; u != "" {
		t += " at " + config.RedactURL(u)
	}
	return t
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
func startSim(p sim.Profile, cfg *config.Config) (srv *sim.Server, baseURL string, stop func(), err error) {
	srv, err = sim.New(sim.Options{
		Profile:               p,
		TimeScale:             cfg.Sim.TimeScale,
		MaxConcurrentRequests: cfg.Sim.MaxConcurrentRequests,
		ModelName:             cfg.Model,
		Seed:                  cfg.Seed,
		PrefixCacheBlocks:     cfg.Sim.PrefixCacheBlocks,
		ReasoningTokens:       cfg.Sim.ReasoningTokens,
		ReasoningField:        cfg.Sim.ReasoningField,
		// Nothing reads the ground-truth traces during a run, and a ring
		// of them would grow with completed requests (≈3 KiB each).
		TraceCapacity: -1,
	})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, "", nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	sim.CloseAfterResponse(hs, cfg.Sim.CloseAfterResponse.D())
	go hs.Serve(ln)
	return srv, "http://" + ln.Addr().String() + "/v1", func() {
		srv.Close()
		hs.Close()
	}, nil
}
