package config

import (
	"strings"
	"testing"
	"time"
)

func TestDurationParses(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90", 90 * time.Second, true},         // LLMPerf's bare seconds
		{"1.5", 1500 * time.Millisecond, true}, // fractional seconds
		{"2m", 2 * time.Minute, true},          // Go syntax
		{"1m30s", 90 * time.Second, true},      // compound Go syntax
		{"", 0, true},                          // empty is zero
		{"-1", 0, false},                       // negative seconds
		{"-5s", 0, false},                      // negative duration
		{"soon", 0, false},                     // not a duration
	}
	for _, c := range cases {
		var d Duration
		err := d.UnmarshalText([]byte(c.in))
		if (err == nil) != c.ok || c.ok && d.D() != c.want {
			t.Errorf("%q: got %v, %v; want %v ok=%v", c.in, d.D(), err, c.want, c.ok)
		}
	}
	b, _ := Duration(90 * time.Second).MarshalText()
	if string(b) != "1m30s" {
		t.Errorf("marshal = %s", b)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	c := Config{
		APIKey:  "sk-abc",
		BaseURL: "https://user:pw@gw.example/v1?api-key=qqq&deployment=x",
		Headers: map[string]string{"Authorization": "Bearer zzz", "X-Api-Key": "k1", "X-Team": "ml"},
	}
	r := c.Redacted()
	all := r.APIKey + r.BaseURL + r.Headers["Authorization"] + r.Headers["X-Api-Key"]
	for _, secret := range []string{"sk-abc", "pw", "qqq", "zzz", "k1"} {
		if strings.Contains(all, secret) {
			t.Errorf("redacted config still holds %q: %+v", secret, r)
		}
	}
	if r.Headers["X-Team"] != "ml" || !strings.Contains(r.BaseURL, "deployment=x") {
		t.Errorf("redaction removed non-secrets: %+v", r)
	}
	if c.APIKey != "sk-abc" || c.Headers["Authorization"] != "Bearer zzz" {
		t.Error("Redacted changed the original")
	}
}

func TestParseHeaderNeverEchoesValue(t *testing.T) {
	if k, v, err := ParseHeader(" X-Team :  ml platform "); err != nil || k != "X-Team" || v != "ml platform" {
		t.Errorf("got %q %q %v", k, v, err)
	}
	_, _, err := ParseHeader("Authorization Bearer sk-secret")
	if err == nil || strings.Contains(err.Error(), "sk-secret") {
		t.Errorf("err = %v", err)
	}
}

func TestParseExtraBody(t *testing.T) {
	if m, err := ParseExtraBody(`{"top_p":0.9,"stop":["\n"]}`); err != nil || m["top_p"] != 0.9 {
		t.Errorf("got %v %v", m, err)
	}
	for _, bad := range []string{`[1]`, `null`, `{`, `3`} {
		if _, err := ParseExtraBody(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Config{Provider: ProviderOpenAI, API: "chat", Concurrency: IntList{0}, MaxRequests: 0, Timeout: 0, ResultsDir: "x"}
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"--base-url", "--model", "--concurrency", "--max-requests", "--timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	ok := Config{Provider: ProviderSim, API: "chat", Concurrency: IntList{1}, MaxRequests: 1, Timeout: Duration(time.Second), ResultsDir: "x", Sim: SimConfig{TimeScale: 1}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestParsePromptSet: --prompt-set takes the keys of prompt_sets entries,
// and names the flag and the problem when a value is wrong.
func TestParsePromptSet(t *testing.T) {
	ps, err := ParsePromptSet("name=chat, weight=80,mean_input_tokens=550,stddev_input_tokens=150,mean_output_tokens=150,system_prompt=Be brief.")
	if err != nil {
		t.Fatal(err)
	}
	want := PromptSet{Name: "chat", Weight: 80, MeanInputTokens: 550, StddevInputTokens: 150, MeanOutputTokens: 150, SystemPrompt: "Be brief."}
	if rag, err := ParsePromptSet("name=rag,mean_input_tokens=64,prefix_tokens=512,prefix_groups=3"); err != nil || rag.PrefixTokens != 512 || rag.PrefixGroups != 3 {
		t.Errorf("prefix keys: %+v, %v", rag, err)
	}
	if ps != want {
		t.Errorf("got %+v, want %+v", ps, want)
	}
	for _, c := range []struct{ in, want string }{
		{"weight=1", "needs name="},
		{"name=a,colour=red", `"colour" is not a prompt set key`},
		{"name=a,weight=lots", `weight="lots" is not a number`},
		{"name=a,mean_input_tokens=1.5", `mean_input_tokens="1.5" is not a whole number`},
		{"name=a,name=b", "name is given twice"},
		{"name=a,prompt", "want key=value pairs"},
	} {
		if _, err := ParsePromptSet(c.in); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--prompt-set") {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// TestSessionAndDatasetProblems: settings that would be ignored or cannot
// combine are refused, each naming its flag.
func TestSessionAndDatasetProblems(t *testing.T) {
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.PrefixGroups = 2 }, "--prefix-groups needs --prefix-tokens"},
		{func(c *Config) { c.PrefixTokens, c.Prompt = 10, "x" }, "--prefix-tokens works with synthetic prompts"},
		{func(c *Config) { c.ThinkTime = Duration(time.Second) }, "--think-time needs --turns of 2 or more"},
		{func(c *Config) { c.Turns, c.PromptFile = 3, "p.jsonl" }, "--turns works with synthetic prompts or --dataset"},
		{func(c *Config) { c.Turns, c.Mode, c.BatchSize = 3, ModeBatchSequential, IntList{2} }, "--turns needs --mode concurrency"},
		{func(c *Config) { c.Turns, c.Retries = 3, 2 }, "--turns does not combine with --retries"},
		{func(c *Config) { c.Turns, c.ThinkTimeDist = 3, "exponential" }, "--think-time-dist exponential needs --think-time"},
		{func(c *Config) { c.Turns, c.ThinkTime, c.ThinkTimeDist = 3, Duration(time.Second), "gamma" }, `--think-time-dist "gamma" is not known`},
		{func(c *Config) { c.Turns, c.PrefixTokens = 3, 8 }, "--turns does not combine with --prefix-tokens"},
		{func(c *Config) { c.DatasetSample = "random" }, "--dataset-sample needs --dataset"},
		{func(c *Config) { c.Dataset, c.DatasetFormat = "d.json", "xml" }, `--dataset-format "xml" is not known`},
		{func(c *Config) { c.Dataset, c.DatasetSample, c.DatasetReplace = "d.json", "sequential", true }, "--dataset-replace applies to --dataset-sample random only"},
		{func(c *Config) { c.Dataset, c.DatasetOutputLengths, c.MeanOutputTokens = "d.json", "fixed", 0 }, "--dataset-output-lengths fixed needs --mean-output-tokens"},
		{func(c *Config) { c.Dataset, c.DatasetMinInputTokens, c.DatasetMaxInputTokens = "d.json", 10, 5 }, "--dataset-min-input-tokens (10) is above --dataset-max-input-tokens (5)"},
		{func(c *Config) { c.Dataset, c.Prompt = "d.json", "x" }, "--dataset cannot be used with --prompt"},
	} {
		cfg := Defaults()
		cfg.Provider, cfg.ResultsDir = ProviderSim, "r"
		c.change(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
