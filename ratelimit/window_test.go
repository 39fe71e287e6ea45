package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestTakeRequestsPerWindow(t *testing.T) {
	w := New(3, 0, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := w.Take(t0.Add(time.Duration(i)*time.Second), 10); !ok {
			t.Fatalf("request %d refused under quota", i)
		}
	}
	ok, wait := w.Take(t0.Add(3*time.Second), 10)
	if ok || wait != 57*time.Second {
		t.Errorf("4th: ok=%v wait=%v; want refused for 57 s (until the first leaves the minute)", ok, wait)
	}
	if ok, _ := w.Take(t0.Add(61*time.Second), 10); !ok {
		t.Error("refused after the window moved on")
	}
}

func TestTakeTokensPerWindow(t *testing.T) {
	w := New(0, 1000, 6*time.Second)
	t0 := time.Unix(1000, 0)
	w.Take(t0, 600)
	if ok, _ := w.Take(t0.Add(time.Second), 300); !ok {
		t.Fatal("refused at 900/1000")
	}
	if ok, wait := w.Take(t0.Add(2*time.Second), 200); ok || wait != 4*time.Second {
		t.Errorf("third: ok=%v wait=%v; want refused for 4 s", ok, wait)
	}
	if ok, _ := New(0, 100, time.Minute).Take(t0, 5000); !ok {
		t.Error("an oversized request must pass on an empty window")
	}
	var none *Window
	if ok, _ := none.Take(t0, 1); !ok {
		t.Error("nil window refused")
	}
}

// TestWaitNeverExceedsQuotaInAnyWindow drives many goroutines through Wait
// and checks the admissions against the quota over every sliding window.
func TestWaitNeverExceedsQuotaInAnyWindow(t *testing.T) {
	const rpm, window = 5, 200 * time.Millisecond
	w := New(rpm, 0, window)
	var mu sync.Mutex
	var admitted []time.Time
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := w.Wait(context.Background(), 1); err != nil {
				t.Error(err)
			}
			mu.Lock()
			admitted = append(admitted, time.Now())
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, a := range admitted {
		n := 0
		for _, b := range admitted {
			if !b.Before(a) && b.Sub(a) < window-5*time.Millisecond {
				n++
			}
		}
		if n > rpm {
			t.Fatalf("%d admissions within %s of admission %d; quota is %d", n, window, i, rpm)
		}
	}
	spent := New(1, 0, time.Hour)
	spent.Take(time.Now(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := spent.Wait(ctx, 1); err == nil {
		t.Error("Wait with a spent quota and a canceled context returned no error")
	}
}
