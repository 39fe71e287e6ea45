package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQuotaRequestsPerMinute(t *testing.T) {
	q := newQuota(3, 0, 1)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := q.take(t0.Add(time.Duration(i)*time.Second), 10); !ok {
			t.Fatalf("request %d refused under quota", i)
		}
	}
	ok, wait := q.take(t0.Add(3*time.Second), 10)
	if ok || wait != 57*time.Second {
		t.Errorf("4th request: ok=%v wait=%v; want refused for 57s (until the first leaves the minute)", ok, wait)
	}
	if ok, _ := q.take(t0.Add(61*time.Second), 10); !ok {
		t.Error("refused after the window moved on")
	}
}

func TestQuotaTokensPerMinuteScaled(t *testing.T) {
	q := newQuota(0, 1000, 0.1) // a simulated minute lasts 6 s
	t0 := time.Unix(1000, 0)
	if ok, _ := q.take(t0, 600); !ok {
		t.Fatal("first refused")
	}
	if ok, _ := q.take(t0.Add(time.Second), 300); !ok {
		t.Fatal("second refused at 900/1000")
	}
	ok, wait := q.take(t0.Add(2*time.Second), 200)
	if ok || wait != 4*time.Second {
		t.Errorf("third: ok=%v wait=%v; want refused for 4s", ok, wait)
	}
	// A single request larger than the whole quota is let through when the
	// window is empty, as it could otherwise never run.
	if ok, _ := newQuota(0, 100, 1).take(t0, 5000); !ok {
		t.Error("oversized request refused on an empty window")
	}
	var none *quota
	if ok, _ := none.take(t0, 1); !ok {
		t.Error("nil quota refused")
	}
}

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
