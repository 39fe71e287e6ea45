package bench

import (
	"strings"
	"testing"

	"github.com/llmload/llmload/config"
)

func TestResolve(t *testing.T) {
	env := map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_API_KEY": "sk-env"}
	none := func(string) string { return "" }
	cases := []struct {
		name   string
		getenv func(string) string
		set    map[string]bool
		change func(*config.Config)
		check  func(*config.Config) string // "" when right
	}{
		{"no endpoint: the simulator, its model, exact lengths", none, nil, nil, func(c *config.Config) string {
			if c.Provider != config.ProviderSim || c.Model == "" || !c.IgnoreEOS || c.BaseURL != "" {
				return "want provider sim with the profile's model and ignore_eos"
			}
			return ""
		}},
		{"OPENAI_BASE_URL: openai with the env key", func(k string) string { return env[k] }, nil,
			func(c *config.Config) { c.Model = "m" }, func(c *config.Config) string {
				if c.Provider != config.ProviderOpenAI || c.APIKey != "sk-env" || c.IgnoreEOS {
					return "want openai, the env key, no ignore_eos"
				}
				return ""
			}},
		{"bedrock never takes the OpenAI key or URL", func(k string) string { return env[k] }, nil,
			func(c *config.Config) { c.Provider, c.Model = config.ProviderBedrock, "meta.llama3" }, func(c *config.Config) string {
				if c.APIKey != "" || c.BaseURL != "" {
					return "bedrock inherited OpenAI settings"
				}
				return ""
			}},
		{"a fixed prompt drops the default input lengths", none, nil,
			func(c *config.Config) { c.Prompt = "hi" }, func(c *config.Config) string {
				if c.MeanInputTokens != 0 || c.StddevInputTokens != 0 {
					return "input lengths kept"
				}
				return ""
			}},
		{"--rate alone means the open loop", none, nil,
			func(c *config.Config) { c.Rate = config.FloatList{2} }, func(c *config.Config) string {
				if c.Mode != "rate" || !strings.HasSuffix(c.Name, "-r2") {
					return "want mode rate, name ending -r2"
				}
				return ""
			}},
		{"batches decide the count unless max requests was chosen", none, nil,
			func(c *config.Config) { c.Mode, c.BatchSize, c.Batches = "batch-sequential", config.IntList{4}, 3 }, func(c *config.Config) string {
				if c.MaxRequests != 0 {
					return "max requests would cut the batches short"
				}
				return ""
			}},
		{"auto sweep searches throughput up to 512", none, nil,
			func(c *config.Config) { c.Sweep = config.SweepAuto }, func(c *config.Config) string {
				if c.Mode != "rate" || c.Concurrency[0] != 512 {
					return "want mode rate and a throughput search up to 512"
				}
				return ""
			}},
	}
	for _, tc := range cases {
		c := config.Defaults()
		if tc.change != nil {
			tc.change(&c)
		}
		isSet := func(k string) bool { return tc.set[k] }
		if err := Resolve(&c, tc.getenv, isSet); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if msg := tc.check(&c); msg != "" {
			t.Errorf("%s: %s: %+v", tc.name, msg, c)
		}
		if c.ResultsDir == "" || c.Name == "" {
			t.Errorf("%s: no name or results dir", tc.name)
		}
	}
	c := config.Defaults()
	c.Provider, c.BaseURL = config.ProviderSim, "http://x/v1"
	if err := Resolve(&c, none, func(k string) bool { return k == "base_url" }); err == nil {
		t.Error("--base-url with --provider sim accepted")
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"meta-llama/Llama-2-7b-chat-hf": "meta-llama-Llama-2-7b-chat-hf",
		"arn:aws:bedrock:us-east-1::x":  "arn-aws-bedrock-us-east-1-x",
		"///":                           "model",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
