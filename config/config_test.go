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
