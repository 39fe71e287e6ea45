package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
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

Examples:
  llmload sim --listen 127.0.0.1:8000 --profile llama2-7b-a10g
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
	fs.StringVar(&profile, "profile", sim.DefaultProfile, "model × accelerator profile: "+strings.Join(sim.ProfileNames(), ", "))
	fs.StringVar(&model, "model", "", "model id(s) the OpenAI and Ollama routes serve, comma-separated, e.g. llama3.2,gpt-4o (default: the profile's model); Bedrock and SageMaker routes take any id")
	fs.Float64Var(&scale, "time-scale", 1, "speed: 1 = real time, 0.1 = every delay ×0.1")
	fs.IntVar(&maxReqs, "max-concurrent-requests", 128, "running + queued requests beyond this fail at once with 429 overloaded (TGI's MAX_CONCURRENT_REQUESTS); -1: unlimited")
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
	p, err := sim.LookupProfile(profile)
	if err != nil {
		return c.usageErr("sim", err)
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
