package load

import (
	"context"
	"testing"
	"time"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/sim"
	"github.com/llmload/llmload/stats"
)

// TestEmbeddingsAgainstSimulator runs embeddings requests of 3 inputs
// against the simulator: each record counts its inputs and the server's
// tokens, has no TTFT or chunks, and took at least the simulator's
// compute-bound prefill time; the summary reports inputs/s and no
// output metrics.
func TestEmbeddingsAgainstSimulator(t *testing.T) {
	const scale = 0.01
	p, err := sim.LookupProfile(sim.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.New(sim.Options{Profile: p, TimeScale: scale, TraceCapacity: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r, c := newRunner(t, srv, Plan{Concurrency: 2, MaxRequests: 6, Timeout: 30 * time.Second})
	r.Template = Template{Model: srv.ModelName(), API: llm.APIEmbeddings, Stream: true, EmbeddingBatch: 3}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var pass float64 // Σ of every request's device time: the window's floor
	for _, rec := range c.recs {
		if !rec.OK() {
			t.Fatalf("request %d failed: %s", rec.ID, rec.Error)
		}
		if rec.Inputs != 3 || rec.Stream || rec.TTFTS != 0 || len(rec.ChunkTimesS) != 0 || rec.OutputTokens != 0 {
			t.Errorf("record %+v", rec)
		}
		if rec.TokenSource != "server" || rec.InputTokens != rec.InputTokensLocal || rec.InputTokens < 3 {
			t.Errorf("input tokens: server %d, local %d (%s)", rec.InputTokens, rec.InputTokensLocal, rec.TokenSource)
		}
		d := scale * p.PrefillTime(rec.InputTokens, rec.Inputs).Seconds()
		pass += d
		if rec.E2ES < d {
			t.Errorf("e2e %.4f s is shorter than the prefill of %d tokens, %.4f s", rec.E2ES, rec.InputTokens, d)
		}
	}
	s := stats.Summarize(c.recs, stats.RunInfo{})
	if s.WindowS < pass {
		t.Errorf("window %.4f s, shorter than the passes one after another, %.4f s", s.WindowS, pass)
	}
	if want := 18 / s.WindowS; !nearly(s.Throughput.InputsPerS, want) {
		t.Errorf("inputs/s %v, want %v", s.Throughput.InputsPerS, want)
	}
	m := s.Metrics
	if m.TTFT.Count != 0 || m.ITL.Count != 0 || m.TPOT.Count != 0 || m.OutputTokens.Count != 0 || m.RequestOutputThroughput.Count != 0 || m.InputTokens.Count != 6 {
		t.Errorf("metrics %+v", m)
	}
}

func nearly(a, b float64) bool { return a-b < 1e-9*b && b-a < 1e-9*b }
