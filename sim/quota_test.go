package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOpenAIQuotaAnswers429WithRetryAfter(t *testing.T) {
	s, err := New(Options{TimeScale: 0.01, RPM: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewServer(s)
	defer hs.Close()
	body := `{"model":"` + s.ModelName() + `","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	var codes []int
	for range 3 {
		resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "rate_limit_exceeded") {
				t.Errorf("429 without Retry-After or rate-limit type: %v %s", resp.Header, b)
			}
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("status codes %v, want 200 200 429 under RPM 2", codes)
	}
}
