package reportgen

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReport100k builds the report of a synthetic closed-loop run of
// 100,000 requests with ~100 content chunks each (records.jsonl ≈ 130 MB,
// 10 M ITL gaps), from the directory alone, as `llmload report` does. The
// budget is 10 s per build and a report.html under 5 MB; the benchmark
// reports the page's size as html_bytes.
func BenchmarkReport100k(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "run100k")
	writeSynth(b, dir, synth{n: 100_000, concurrency: 64, meanOut: 100, errEvery: 500, slos: []string{"ttft<=200ms"}, seed: 42})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Build(dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fi, err := os.Stat(filepath.Join(dir, HTMLFile))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size()), "html_bytes")
	if fi.Size() > 5<<20 {
		b.Errorf("report.html is %d bytes, over 5 MB", fi.Size())
	}
}
