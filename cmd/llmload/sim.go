package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/sim"
)

const simUsage = `Usage: llmload sim [flags]

Serves a simulated LLM endpoint backed by a continuous-batching engine that
models a model on an accelerator, speaking every protocol llmload does:
OpenAI-compatible (/v1/chat/completions, /v1/completions, /v1/models),
Bedrock runtime (/model/{id}/converse-stream, …), SageMaker runtime
(/endpoints/{name}/invocations-response-stream, …), TGI (/generate_stream,
/generate) and Ollama (/api/chat, /api/generate). Point llmload, or any
client, at it; AWS clients need --endpoint-url and any credentials.

A profile is a built-in name or any model × accelerator of the theory
catalog: MODEL@NxACCEL (tensor parallel N, one replica), with :tpT to split
the N devices into N/T replicas of TP T and :rR for R such instances.

Examples:
  llmload sim --listen 127.0.0.1:8000 --profile llama2-7b-a10g
  llmload sim --profile llama-2-13b@4xa10g
  llmload sim --profile llama-2-7b@8xa10g:tp2 --predict   # print the predicted curve, serve nothing
  llmload sim --bedrock-quota    # throttle like Bedrock on-demand (800 RPM, 600k TPM)

Flags:
`

func (c *cli) sim(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), simUsage)
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nProfiles:")
		for _, n := range sim.ProfileNames() {
			p, _ := sim.LookupProfile(n)
			fmt.Fprintf(fs.Output(), "  %-22s %s\n", n, p.Description)
		}
	}
	var (
		listen  string
		profile string
		pfile   string
		predict bool
		levels  string
		inTok   int
		outTok  int
		model   string
		scale   float64
		maxReqs int
		seed    uint64
		timeout config.Duration
		rpm     int
		tpm     int
		bedrock bool
		closeKA config.Duration
		prefix  int
		rtoks   int
		rfield  string
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:8000", "address to listen on")
	fs.StringVar(&profile, "profile", sim.DefaultProfile, "model × accelerator profile: MODEL@NxACCEL[:tpT][:rR] from the theory catalog (e.g. llama-2-13b@4xa10g), or "+strings.Join(sim.ProfileNames(), ", "))
	fs.StringVar(&pfile, "profile-file", "", "profile YAML file (a spec plus engine overrides; docs/simulator.md), instead of --profile")
	fs.BoolVar(&predict, "predict", false, "print the profile's predicted closed-loop curve (throughput, TTFT, TPOT per concurrency, on the engine's virtual clock) and exit")
	fs.StringVar(&levels, "predict-concurrency", "1,2,4,8,16,32,64,128", "concurrency levels of --predict, comma-separated")
	fs.IntVar(&inTok, "predict-input-tokens", 256, "prompt tokens per request of --predict")
	fs.IntVar(&outTok, "predict-output-tokens", 256, "output tokens per request of --predict")
	fs.StringVar(&model, "model", "", "model id(s) the OpenAI and Ollama routes serve, comma-separated, e.g. llama3.2,gpt-4o (default: the profile's model); Bedrock and SageMaker routes take any id")
	fs.Float64Var(&scale, "time-scale", 1, "speed: 1 = real time, 0.1 = every delay ×0.1")
	fs.IntVar(&maxReqs, "max-concurrent-requests", 128, "running + queued requests per replica beyond this fail at once with 429 overloaded (TGI's MAX_CONCURRENT_REQUESTS); -1: unlimited")
	fs.Var(&timeout, "invocation-timeout", "fail requests not finished in this long, like SageMaker's 60s (0: none)")
	fs.Uint64Var(&seed, "seed", 1, "seed for natural output lengths")
	fs.IntVar(&rpm, "rpm", 0, "requests-per-minute quota (per simulated minute); beyond it each protocol answers with its own throttling error (0: none)")
	fs.IntVar(&tpm, "tpm", 0, "tokens-per-minute quota, prompt + max_tokens counted at admission (0: none)")
	fs.BoolVar(&bedrock, "bedrock-quota", false, fmt.Sprintf("enforce Bedrock's default on-demand quota: %d requests and %d tokens per minute", sim.BedrockDefaultRPM, sim.BedrockDefaultTPM))
	fs.Var(&closeKA, "close-after-response", "close each keep-alive connection this long after a response, without Connection: close, like llama-server (0: never)")
	fs.IntVar(&prefix, "prefix-cache", 0, "prefix cache of this many 64-byte blocks of prompt text: repeated prompt prefixes skip prefill and are reported as cached tokens (0: none)")
	fs.IntVar(&rtoks, "reasoning-tokens", 0, "answer like a reasoning model: the first N output tokens of each response are reasoning, reported in usage.completion_tokens_details.reasoning_tokens (0: none)")
	fs.StringVar(&rfield, "reasoning-field", sim.ReasoningContent, "how reasoning is sent: reasoning_content (vLLM, DeepSeek), reasoning (newer vLLM, gateways) or think (<think>…</think> in the content)")
	if done, st := c.parseFlags(fs, args); done {
		return st
	}
	p, err := sim.ResolveProfile(profile, pfile)
	if err != nil {
		return c.usageErr("sim", err)
	}
	if predict {
		return c.simPredict(p, levels, inTok, outTok, maxReqs, timeout.D())
	}
	models := []string{""} // "": the profile's model
	if strings.TrimSpace(model) != "" {
		models = nil
		for m := range strings.SplitSeq(model, ",") {
			if m = strings.TrimSpace(m); m != "" {
				models = append(models, m)
			}
		}
	}
	if scale <= 0 {
		return c.usageErr("sim", fmt.Errorf("--time-scale must be positive, got %g", scale))
	}
	if bedrock {
		rpm, tpm = sim.BedrockDefaultRPM, sim.BedrockDefaultTPM
	}
	srv, err := sim.New(sim.Options{
		RPM:                   rpm,
		TPM:                   tpm,
		Profile:               p,
		TimeScale:             scale,
		MaxConcurrentRequests: maxReqs,
		InvocationTimeout:     timeout.D(),
		ModelName:             models[0],
		MoreModels:            models[1:],
		Seed:                  seed,
		PrefixCacheBlocks:     prefix,
		ReasoningTokens:       rtoks,
		ReasoningField:        rfield,
	})
	if err != nil {
		return c.usageErr("sim", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(c.stderr, "llmload sim: %v\n", err)
		return exitFailed
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	sim.CloseAfterResponse(hs, closeKA.D())
	served := fmt.Sprintf("model %q", srv.ModelName())
	if ms := srv.Models(); len(ms) > 1 {
		served = fmt.Sprintf("models %q", ms)
	}
	fmt.Fprintf(c.stderr, "llmload sim: %s (%s), %s (Bedrock and SageMaker routes: any id), serving http://%s/v1 (Ctrl-C to stop)\n", p.Name, p.Description, served, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(c.stderr, "llmload sim: %v\n", err)
			return exitFailed
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close() // ends in-flight streams so Shutdown need not wait for them
		hs.Shutdown(sctx)
		fmt.Fprintln(c.stderr, "llmload sim: stopped")
	}
	return exitOK
}

// simPredict prints p's predicted closed-loop curve.
func (c *cli) simPredict(p sim.Profile, levels string, in, out, maxReqs int, timeout time.Duration) int {
	var ls []int
	for f := range strings.SplitSeq(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return c.usageErr("sim", fmt.Errorf("--predict-concurrency: %q is not a positive integer", f))
		}
		ls = append(ls, n)
	}
	if maxReqs < 0 {
		maxReqs = 0
	}
	rs, err := sim.SimulateSweep(p, ls, sim.Workload{InputTokens: in, OutputTokens: out, MaxConcurrentRequests: maxReqs, Timeout: timeout})
	if err != nil {
		return c.usageErr("sim", err)
	}
	w := c.stdout
	fmt.Fprintf(w, "%s: %s\n", p.Name, p.Description)
	bound := "no bound on concurrent requests"
	if maxReqs > 0 {
		bound = fmt.Sprintf("max %d concurrent requests per replica", maxReqs)
	}
	if timeout > 0 {
		bound += fmt.Sprintf(", requests failed after %s", timeout)
	}
	fmt.Fprintf(w, "predicted closed loop, %d input + %d output tokens, %s (simulated time)\n", in, out, bound)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\toutput tok/s\treq/s\tTTFT p50\tTTFT p99\tTPOT p50\tTPOT p99\tE2E p50\tmax batch\ttimed out\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%.0f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Concurrency, r.OutputTokensPerSecond, r.RequestsPerSecond,
			fmtDur(r.TTFT.P50), fmtDur(r.TTFT.P99), fmtDur(r.TPOT.P50), fmtDur(r.TPOT.P99), fmtDur(r.E2E.P50), r.MaxBatch, r.TimedOut)
	}
	tw.Flush()
	if rs[len(rs)-1].Waited > 0 {
		fmt.Fprintf(w, "note: above %d concurrent requests per replica the server refuses requests as overloaded; the curve assumes clients retry until admitted\n", maxReqs)
	}
	return exitOK
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
