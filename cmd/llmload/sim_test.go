package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the command's goroutine
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimCommandServesAndStops runs `llmload sim` on a free loopback port,
// asks it for its models, then stops it as Ctrl-C would.
func TestSimCommandServesAndStops(t *testing.T) {
	var stderr syncBuffer
	c := &cli{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- c.main(ctx, []string{"sim", "--listen", "127.0.0.1:0", "--profile", "llama2-7b-4xa10g", "--time-scale", "0.1"})
	}()
	addr := regexp.MustCompile(`serving (http://\S+/v1)`)
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("sim never said where it serves:\n%s", stderr.String())
	}
	resp, err := http.Get(base + "/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if err != nil || len(models.Data) != 1 || models.Data[0].ID == "" {
		t.Errorf("models: %v %+v", err, models)
	}
	cancel()
	select {
	case st := <-done:
		if st != exitOK {
			t.Errorf("status %d", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
}

func TestSimCommandBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--profile", "nope"},
		{"sim", "--profile", "lama-2-7b@4xa10g"},
		{"sim", "--profile", "llama-2-7b@8xa10g:tp3"},
		{"sim", "--profile", "llama-3.1-405b@1xa10g"},
		{"sim", "--profile", "llama-2-7b@4xa10g", "--predict", "--predict-concurrency", "1,x"},
		{"sim", "--profile-file", "/nonexistent/p.yaml"},
		{"sim", "--time-scale", "-1"},
		{"sim", "--bogus"},
	} {
		st, _, stderr := runCLI(t, nil, args...)
		if st != exitUsage {
			t.Errorf("%v: status %d, stderr %s", args, st, stderr)
		}
		if args[1] != "--bogus" && strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: want a short error, got %s", args, stderr)
		}
	}
}

// TestSimPredict: --predict prints the profile's curve on the virtual
// clock, one row per level, and serves nothing.
func TestSimPredict(t *testing.T) {
	st, stdout, stderr := runCLI(t, nil, "sim", "--profile", "llama-2-13b@4xa10g", "--predict", "--predict-concurrency", "1,16,64")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, stderr)
	}
	rows := regexp.MustCompile(`(?m)^\s+(1|16|64)\s+(\d+)\s`).FindAllStringSubmatch(stdout, -1)
	if len(rows) != 3 {
		t.Fatalf("want 3 rows:\n%s", stdout)
	}
	prev := 0
	for _, r := range rows {
		n, _ := strconv.Atoi(r[2])
		if n <= prev {
			t.Errorf("throughput not rising: %s", stdout)
		}
		prev = n
	}
	if !strings.Contains(stdout, "Llama 2 13B") {
		t.Errorf("no profile description:\n%s", stdout)
	}
}
