package bench

import (
	"errors"
	"strings"
	"testing"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
)

func TestPeakStreamsAndNeed(t *testing.T) {
	for _, c := range []struct {
		name string
		plan load.Plan
		sim  bool
		want int // streams
		need int
	}{
		// closed loop: one stream per worker, one fd each
		{"closed", load.Plan{Concurrency: 500, Duration: 1}, false, 500, 500 + fdHeadroom},
		// the in-process simulator holds the server side of each stream too
		{"closed sim", load.Plan{Concurrency: 500, Duration: 1}, true, 500, 1000 + fdHeadroom},
		// no more streams than requests planned
		{"few requests", load.Plan{Concurrency: 20000, MaxRequests: 10, Warmup: 2}, false, 12, 12 + fdHeadroom},
		// batches: the batch size
		{"batch", load.Plan{Mode: load.ModeBatchSequential, BatchSize: 64, Batches: 3}, false, 64, 64 + fdHeadroom},
		// rate with a cap: the cap
		{"rate capped", load.Plan{Mode: load.ModeRate, Rate: 10, MaxConcurrency: 300, Duration: 1}, false, 300, 300 + fdHeadroom},
		// rate without a cap: unbounded
		{"rate uncapped", load.Plan{Mode: load.ModeRate, Rate: 10, Duration: 1}, false, 0, fdHeadroom},
	} {
		got := PeakStreams(c.plan)
		o := openFilesNeed(got, c.sim)
		if got != c.want || o.Need != c.need {
			t.Errorf("%s: streams %d need %d, want %d, %d", c.name, got, o.Need, c.want, c.need)
		}
	}
}

// More streams than the open-file limit allows: one clear ErrInvalid
// error before anything is sent (the CLI's exit 2).
func TestCheckOpenFilesRefusesBeyondTheLimit(t *testing.T) {
	cfg := config.Defaults()
	cfg.Provider = config.ProviderSim
	cfg.Concurrency = config.IntList{1}
	cfg.MaxRequests = 1
	o, err := CheckOpenFiles(&cfg)
	if err != nil {
		t.Fatalf("concurrency 1: %v", err)
	}
	if o.Limit == 0 {
		t.Skip("no open-file limit here")
	}
	cfg.Concurrency = config.IntList{o.Limit}
	cfg.MaxRequests = 0
	cfg.Duration = config.Duration(1e9)
	o, err = CheckOpenFiles(&cfg)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "open-file limit") || o.Fits() {
		t.Fatalf("concurrency %d at limit %d: %v (need %d)", o.Streams, o.Limit, err, o.Need)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
	cfg.Mode, cfg.Rate, cfg.MaxConcurrency = load.ModeRate, config.FloatList{5}, 0
	if o, err := CheckOpenFiles(&cfg); err != nil || o.Warning == "" {
		t.Errorf("uncapped rate: %v, warning %q", err, o.Warning)
	}
}
