package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// matrixFile is the docs/experiments.md example in small: 2 endpoints × 2
// prompt mixes × 3 concurrency levels.
const matrixFile = `
name: compare
results_dir: results/compare
headers: {X-Team: ml}
api_key_env: BASE_KEY
max_requests: 200
matrix:
  endpoints:
    - name: vllm
      base_url: http://10.0.0.5:8000/v1
      model: meta-llama/Llama-2-7b-chat-hf
      api_key_env: VLLM_KEY
      headers: {X-Route: a}
    - name: a10g-sim
      provider: sim
      sim: {profile: llama2-7b-a10g, time_scale: 0.1}
  prompt_sets:
    - {name: chat, weight: 1, mean_input_tokens: 550, stddev_input_tokens: 150}
    - - {name: chat, weight: 80, mean_input_tokens: 550, stddev_input_tokens: 150}
      - {name: docs, weight: 20, mean_input_tokens: 6000, mean_output_tokens: 400}
  concurrency: [1, 8, 32]
`

// env returns a Getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestExpandMatrix(t *testing.T) {
	e := load(t, matrixFile)
	e.Getenv = env(map[string]string{"VLLM_KEY": "sk-vllm", "BASE_KEY": "sk-base"})
	cases, err := e.Expand()
	if err != nil {
		t.Fatal(err)
	}
	var names, dirs []string
	for _, c := range cases {
		names = append(names, c.Name)
		dirs = append(dirs, c.Dir)
	}
	wantNames := []string{
		"endpoint=vllm,prompts=chat,c=1", "endpoint=vllm,prompts=chat,c=8", "endpoint=vllm,prompts=chat,c=32",
		"endpoint=vllm,prompts=chat+docs,c=1", "endpoint=vllm,prompts=chat+docs,c=8", "endpoint=vllm,prompts=chat+docs,c=32",
		"endpoint=a10g-sim,prompts=chat,c=1", "endpoint=a10g-sim,prompts=chat,c=8", "endpoint=a10g-sim,prompts=chat,c=32",
		"endpoint=a10g-sim,prompts=chat+docs,c=1", "endpoint=a10g-sim,prompts=chat+docs,c=8", "endpoint=a10g-sim,prompts=chat+docs,c=32",
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("names:\n%q\nwant\n%q", names, wantNames)
	}
	if dirs[4] != "endpoint-vllm_prompts-chat+docs_c-8" {
		t.Errorf("dir = %q", dirs[4])
	}
	for k, c := range cases {
		cfg := c.Config
		if len(cfg.Concurrency) != 1 {
			t.Errorf("%s: concurrency %v", c.Name, cfg.Concurrency)
		}
		if cfg.ResultsDir != filepath.Join("results/compare", c.Dir) {
			t.Errorf("%s: results dir %q", c.Name, cfg.ResultsDir)
		}
		if wantGroup := c.Name[:strings.LastIndex(c.Name, ",")]; c.Group != wantGroup {
			t.Errorf("%s: group %q", c.Name, c.Group)
		}
		if cfg.MaxRequests != 200 || cfg.Name != "compare" || cfg.Headers["X-Team"] != "ml" {
			t.Errorf("%s: base settings lost: %+v", c.Name, cfg)
		}
		if cfg.MeanInputTokens != 0 || len(cfg.PromptSets) != 1+k%6/3 {
			t.Errorf("%s: workload %d input tokens, %d sets", c.Name, cfg.MeanInputTokens, len(cfg.PromptSets))
		}
		switch c.Endpoint {
		case "vllm":
			if cfg.Provider != ProviderOpenAI || cfg.BaseURL != "http://10.0.0.5:8000/v1" || cfg.APIKey != "sk-vllm" ||
				cfg.Model != "meta-llama/Llama-2-7b-chat-hf" || cfg.Headers["X-Route"] != "a" {
				t.Errorf("%s: endpoint not applied: %+v", c.Name, cfg)
			}
		case "a10g-sim":
			// A moved endpoint without its own api_key_env gets no key.
			if cfg.Provider != ProviderSim || cfg.BaseURL != "" || cfg.APIKey != "" || cfg.Sim.TimeScale != 0.1 ||
				cfg.Sim.MaxConcurrentRequests != 128 || cfg.Headers["X-Route"] != "" {
				t.Errorf("%s: endpoint not applied: %+v", c.Name, cfg)
			}
		default:
			t.Errorf("%s: endpoint %q", c.Name, c.Endpoint)
		}
		if err := cfg.ValidateShape(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	// Cases share no maps.
	cases[0].Config.Headers["X-Team"] = "changed"
	if cases[1].Config.Headers["X-Team"] != "ml" || e.Base.Headers["X-Team"] != "ml" {
		t.Error("cases share their headers")
	}

	// A missing key is an error naming the variable, never a value.
	e.Getenv = env(map[string]string{"BASE_KEY": "sk-base"})
	if _, err := e.Expand(); err == nil || err.Error() != `experiment.yaml: matrix endpoint "vllm": api_key_env names VLLM_KEY, which is not set` {
		t.Errorf("err = %v", err)
	}
	// The plan needs no keys, and shows where they come from.
	plan := e.Plan()
	for _, want := range []string{
		"experiment experiment.yaml: 12 cases = 2 endpoints × 2 prompt mixes × 3 load levels",
		"case 5/12: endpoint=vllm,prompts=chat+docs,c=8",
		"directory:  endpoint-vllm_prompts-chat+docs_c-8",
		"API key from $VLLM_KEY",
		"docs        20.0%  synthetic prompts of 6000 input tokens, max_tokens 400",
		"closed loop: 32 concurrent requests",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "sk-") {
		t.Error("the plan shows a key")
	}
}

func TestExpandLevels(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // case names
	}{
		{"defaults: one case", "", []string{"c=10"}},
		{"the base concurrency list sweeps", "concurrency: [1, 2, 4]\n", []string{"c=1", "c=2", "c=4"}},
		{"matrix concurrency replaces the base", "concurrency: 3\nmatrix: {concurrency: [5, 6]}\n", []string{"c=5", "c=6"}},
		{"rates", "mode: rate\nrate: [0.5, 2]\n", []string{"r=0.5", "r=2"}},
		{"matrix rates", "mode: rate\nmatrix: {rate: [1, 3]}\n", []string{"r=1", "r=3"}},
		{"sweep auto", "sweep: auto\n", []string{"rate=auto"}},
		{"batches", "mode: batch-sequential\nbatch_size: 8\n", []string{"batch=8"}},
		{"endpoints only", "matrix:\n  endpoints: [{name: a, model: x}, {name: b, model: y}]\n",
			[]string{"endpoint=a,c=10", "endpoint=b,c=10"}},
		{"same sets, other weights", "matrix:\n  prompt_sets:\n    - [{name: a, weight: 1, prompt: x}, {name: b, weight: 1, prompt: y}]\n    - [{name: a, weight: 3, prompt: x}, {name: b, weight: 1, prompt: y}]\n",
			[]string{"prompts=a1+b1,c=10", "prompts=a3+b1,c=10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases, err := load(t, tt.content).Expand()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range cases {
				names = append(names, c.Name)
				if err := c.Config.ValidateShape(); err != nil {
					t.Errorf("%s: %v", c.Name, err)
				}
				if c.Config.Mode == ModeRate && len(c.Config.Rate) > 1 || len(c.Config.Concurrency) != 1 {
					t.Errorf("%s: %v %v", c.Name, c.Config.Concurrency, c.Config.Rate)
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("cases %q, want %q", names, tt.want)
			}
		})
	}
}

func TestCaseDirsUniqueAndSafe(t *testing.T) {
	e := load(t, "matrix:\n  endpoints: [{name: 'a b', model: x}, {name: 'a/b', model: y}, {name: '../..', model: z}]\n")
	cases, err := e.Expand()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Dir] || strings.ContainsAny(c.Dir, "/\\ ") || strings.Contains(c.Dir, "..") || c.Dir == "" {
			t.Errorf("dir %q (case %s)", c.Dir, c.Name)
		}
		seen[c.Dir] = true
	}
}

func TestValidateShape(t *testing.T) {
	base := func(f func(*Config)) Config {
		c := Defaults()
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"defaults", Defaults(), ""},
		{"zero config (mode, arrival, burstiness unset)", Config{Concurrency: IntList{1}}, ""},
		{"rate", base(func(c *Config) { c.Mode, c.Rate, c.MaxConcurrency = ModeRate, FloatList{2}, 16 }), ""},
		{"gamma", base(func(c *Config) { c.Mode, c.Rate, c.Arrival, c.Burstiness = ModeRate, FloatList{2}, ArrivalGamma, 0.5 }), ""},
		{"batch-sequential by max requests", base(func(c *Config) { c.Mode, c.BatchSize = ModeBatchSequential, IntList{4} }), ""},
		{"batch-interval", base(func(c *Config) {
			c.Mode, c.BatchSize, c.BatchInterval, c.Batches = ModeBatchInterval, IntList{4}, Duration(time.Second), 3
		}), ""},
		{"unknown mode", base(func(c *Config) { c.Mode = "bursty" }),
			`--mode "bursty" is not one of concurrency, batch-sequential, batch-interval, rate`},
		{"rate without rates", base(func(c *Config) { c.Mode = ModeRate }),
			"--rate needs a value with --mode rate (requests per second), or use --sweep auto"},
		{"bad rates and arrival", base(func(c *Config) { c.Mode, c.Rate, c.Arrival = ModeRate, FloatList{1, -2}, "bursty" }),
			"--rate must be a positive number of requests per second, got -2\n--arrival \"bursty\" is not one of constant, poisson, gamma"},
		{"gamma needs burstiness", base(func(c *Config) { c.Mode, c.Rate, c.Arrival, c.Burstiness = ModeRate, FloatList{1}, ArrivalGamma, 0 }),
			"--burstiness must be positive with --arrival gamma (1 is Poisson; below 1 is burstier)"},
		{"rate in mode concurrency", base(func(c *Config) { c.Rate = FloatList{3} }), "--rate needs --mode rate (mode is concurrency)"},
		{"concurrency sweep in mode rate", base(func(c *Config) { c.Mode, c.Rate, c.Concurrency = ModeRate, FloatList{1}, IntList{1, 2} }),
			"--concurrency has several values (1,2), a sweep, which needs --mode concurrency"},
		{"batch settings in mode concurrency", base(func(c *Config) { c.BatchSize, c.Ramp = IntList{4}, Duration(time.Second) }),
			"--batch-size applies only to --mode batch-sequential or batch-interval"},
		{"batch-interval needs its numbers", base(func(c *Config) { c.Mode = ModeBatchInterval }),
			"--batch-size must be at least 1 with --mode batch-interval\n--batch-interval must be positive with --mode batch-interval\n--batches must be at least 1 with --mode batch-interval (how many batches to start)"},
		{"batch-sequential never ends", base(func(c *Config) { c.Mode, c.BatchSize, c.MaxRequests = ModeBatchSequential, IntList{2}, 0 }),
			"--batches must be at least 1 with --mode batch-sequential, unless --max-requests is set"},
		{"ramp in batches", base(func(c *Config) {
			c.Mode, c.BatchSize, c.Batches, c.Ramp = ModeBatchSequential, IntList{2}, 2, Duration(time.Second)
		}),
			"--ramp applies only to --mode concurrency or rate"},
		{"max concurrency in closed loop", base(func(c *Config) { c.MaxConcurrency = 3 }),
			"--max-concurrency applies only to --mode rate; in mode concurrency, --concurrency is the cap"},
		{"sweep auto in closed loop", base(func(c *Config) { c.Sweep = SweepAuto }),
			"--sweep auto measures rates: it needs --mode rate (or leave --mode unset; got concurrency)"},
		{"sweep auto with rates", base(func(c *Config) { c.Mode, c.Sweep, c.Rate = ModeRate, SweepAuto, FloatList{1} }),
			"--rate cannot be used with --sweep auto, which chooses the rates"},
		{"unknown sweep", base(func(c *Config) { c.Sweep = "linear" }),
			`--sweep "linear" is not known: leave it empty (give several --concurrency or --rate values for a sweep) or use auto`},
		{"stop on error rate 1", base(func(c *Config) { c.StopOnErrorRate = 1 }),
			"--stop-on-error-rate must be at least 0 and below 1 (a fraction: 0.1 is 10%), got 1"},
		{"empty SLO and threshold", base(func(c *Config) { c.SLOs, c.Thresholds = []string{"ttft<=1s", " "}, []string{""} }),
			"--slo 2 is empty; write an objective such as ttft<=500ms\n--threshold 1 is empty; write a check such as ttft_p95<500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.ValidateShape()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("ValidateShape() = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("ValidateShape() = %v\nwant %s", err, tt.want)
			}
		})
	}
	// Validate includes the shape checks.
	c := Defaults()
	c.Provider, c.ResultsDir, c.Mode = ProviderSim, "x", "bursty"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `--mode "bursty"`) {
		t.Errorf("Validate() = %v", err)
	}
}

func TestPromptSetValidation(t *testing.T) {
	c := Defaults()
	c.Provider, c.ResultsDir = ProviderSim, "x"
	c.PromptSets = []PromptSet{
		{Name: "chat", Weight: 1, MeanInputTokens: 10},
		{Name: "docs", Weight: 1, PromptFile: "d.jsonl", MeanInputTokens: 5},
		{Name: "", Weight: 1, Prompt: "x"},
	}
	want := strings.Join([]string{
		`prompt set "docs": --mean-input-tokens cannot be used with --prompt-file: the file's prompts set the input lengths`,
		`prompt set 3: name must not be empty`,
	}, "\n")
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant %s", err, want)
	}
	// Output lengths are inherited by sets that give none.
	c.PromptSets = []PromptSet{{Name: "a", Weight: 1, MeanInputTokens: 5}, {Name: "b", Weight: 1, MeanInputTokens: 5, MeanOutputTokens: 7}}
	got := c.EffectivePromptSets()
	if got[0].MeanOutputTokens != 150 || got[0].StddevOutputTokens != AutoStddev || got[1].MeanOutputTokens != 7 || got[1].StddevOutputTokens != 0 {
		t.Errorf("EffectivePromptSets() = %+v", got)
	}
}

func TestPlanString(t *testing.T) {
	c := Defaults()
	c.Provider, c.BaseURL, c.APIKey, c.Model = ProviderOpenAI, "https://u:pw@gw.example/v1?api-key=qqq", "sk-secret", "m"
	c.Headers = map[string]string{"Authorization": "Bearer zzz"}
	c.Mode, c.Rate, c.Arrival, c.Burstiness, c.MaxConcurrency = ModeRate, FloatList{1, 2, 4}, ArrivalGamma, 0.5, 32
	c.Duration, c.Warmup, c.StopOnErrorRate = Duration(5*time.Minute), 10, 0.05
	c.SLOs, c.Thresholds, c.ResultsDir = []string{"ttft<=500ms"}, []string{"error_rate<0.01"}, "results/x"
	c.SystemPrompt = "Be terse."
	plan := c.PlanString()
	for _, want := range []string{
		"endpoint:   openai https://u:REDACTED@gw.example/v1?api-key=REDACTED",
		"model:      m; api chat, streaming, ignore_eos false; API key set (not shown)",
		"headers Authorization: REDACTED",
		"workload:   synthetic prompts of 550±138 input tokens, max_tokens 150±38 (tokenizer cl100k_base, seed 1, new prompt texts each run)",
		`system prompt of 9 characters with every request: "Be terse."`,
		"open loop, gamma (burstiness 0.5) arrivals, a sweep of 3 rates, one after another: 1,2,4 requests/s; at most 32 in flight",
		"stop:       after 100 measured requests or 5m0s, whichever comes first, per level; 10 warm-up requests first",
		"a sweep ends at the first level where its error rate exceeds 5%",
		"SLOs:       ttft<=500ms",
		"thresholds: error_rate<0.01",
		"results:    results/x",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	for _, secret := range []string{"sk-secret", "pw@", "qqq", "zzz"} {
		if strings.Contains(plan, secret) {
			t.Errorf("plan shows %q", secret)
		}
	}
}

// The plan says what happens to a failure and how a quota holds requests
// back; without either it says nothing of them.
func TestPlanStringPolicy(t *testing.T) {
	c := Defaults()
	if plan := c.PlanString(); strings.Contains(plan, "policy:") {
		t.Errorf("a plan without retries or quota has a policy:\n%s", plan)
	}
	c.Retries, c.RPM, c.TPM = 3, 800, 600000
	want := "policy:     up to 3 retries per request of a throttled, overloaded, 5xx or connection failure, with backoff; " +
		"a client-side quota of 800 requests and 600000 tokens per minute\n"
	if plan := c.PlanString(); !strings.Contains(plan, want) {
		t.Errorf("plan lacks %q:\n%s", want, plan)
	}
	c.Retries, c.RPM, c.QuotaWindow = 0, 0, Duration(10*time.Second)
	if plan := c.PlanString(); !strings.Contains(plan, "policy:     a client-side quota of 600000 tokens per 10s\n") {
		t.Errorf("plan:\n%s", plan)
	}
}

// The example of docs/experiments.md loads, expands to 12 cases, and its
// plan begins as the document shows.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/experiments.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```")
	// blocks[1] is the command line; blocks[3] the example; blocks[5] its plan.
	example := strings.TrimPrefix(blocks[3], "yaml\n")
	e, err := parseExperiment("experiment.yaml", []byte(example))
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	e.Getenv = env(map[string]string{"VLLM_API_KEY": "sk-x"})
	cases, err := e.Expand()
	if err != nil || len(cases) != 12 {
		t.Fatalf("%d cases, %v", len(cases), err)
	}
	want := strings.TrimSuffix(strings.TrimPrefix(blocks[5], "\n"), "...\n")
	if plan := e.Plan(); !strings.HasPrefix(plan, want) {
		t.Errorf("the plan begins\n%s\nbut the document shows\n%s", plan[:min(len(plan), len(want)+200)], want)
	}
}
