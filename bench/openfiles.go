package bench

import (
	"fmt"

	"github.com/llmload/llmload/config"
	"github.com/llmload/llmload/load"
)

// fdHeadroom is the file descriptors a run needs besides its streams:
// stdio, the run directory's files, the simulator's listener, the
// runtime's poller, DNS, a few idle connections and dials in progress.
const fdHeadroom = 64

// OpenFiles is the check of a run's need for file descriptors against the
// process's open-file limit (RLIMIT_NOFILE).
type OpenFiles struct {
	// Streams is the peak number of requests in flight the plan allows;
	// 0 when it is not bounded (rate mode without a max concurrency).
	Streams int
	// Need is the file descriptors those streams take, with headroom:
	// one per stream, two when the simulator runs in this process (its
	// server side of each connection counts too).
	Need int
	// Limit is the soft limit after raising it to the hard limit where
	// allowed (Go already does so at startup on Linux); 0 when unknown or
	// unlimited.
	Limit int
	// Warning is set when the need cannot be known: an open loop without
	// --max-concurrency may hold any number of streams.
	Warning string
}

// Fits reports whether the run fits the limit (or the limit is unknown).
func (o OpenFiles) Fits() bool { return o.Limit == 0 || o.Need <= o.Limit }

// String describes the check in one line, for --dry-run.
func (o OpenFiles) String() string {
	lim := "no limit known"
	if o.Limit > 0 {
		lim = fmt.Sprintf("limit %d", o.Limit)
	}
	if o.Streams == 0 {
		return fmt.Sprintf("open files: unbounded streams (rate mode without --max-concurrency), %s", lim)
	}
	return fmt.Sprintf("open files: %d streams need about %d, %s", o.Streams, o.Need, lim)
}

// CheckOpenFiles computes what cfg's first load level needs in file
// descriptors and compares it with the open-file limit, raising the soft
// limit to the hard one first when that helps. It returns an ErrInvalid
// error when the run cannot fit: at that concurrency every stream beyond
// the limit would fail at once with a connection error.
func CheckOpenFiles(cfg *config.Config) (OpenFiles, error) {
	streams := PeakStreams(Plan(cfg))
	o := openFilesNeed(streams, cfg.Provider == config.ProviderSim)
	o.Limit = raiseOpenFileLimit(o.Need)
	if streams == 0 {
		o.Warning = fmt.Sprintf("rate mode without --max-concurrency: streams in flight are not bounded, and past the open-file limit (%d) requests fail with connection errors; set --max-concurrency", o.Limit)
	}
	if !o.Fits() {
		return o, invalid(fmt.Errorf("%d concurrent streams need about %d open files, but the open-file limit is %d (ulimit -n); lower the load or raise the limit",
			o.Streams, o.Need, o.Limit))
	}
	return o, nil
}

func openFilesNeed(streams int, inProcessSim bool) OpenFiles {
	per := 1
	if inProcessSim {
		per = 2
	}
	return OpenFiles{Streams: streams, Need: streams*per + fdHeadroom}
}

// PeakStreams is the most requests a plan may have in flight: the
// concurrency (closed loop), the batch size (batch modes), the max
// concurrency (rate mode), and never more than the requests planned; 0
// when it is not bounded.
func PeakStreams(p load.Plan) int {
	n := p.Concurrency
	switch p.Mode {
	case load.ModeRate:
		n = p.MaxConcurrency
	case load.ModeBatchSequential, load.ModeBatchInterval:
		n = p.BatchSize
	}
	if p.MaxRequests > 0 && (n == 0 || n > p.Warmup+p.MaxRequests) {
		n = p.Warmup + p.MaxRequests
	}
	return n
}
