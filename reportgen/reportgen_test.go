package reportgen

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/record"
	"github.com/llmload/llmload/rundir"
	"github.com/llmload/llmload/stats"
	"github.com/llmload/llmload/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

var fixed = Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

// checkPNG decodes a PNG and checks it is a full-size chart, not blank.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 600 {
		t.Errorf("%s: %v, want 960×600", path, b)
	}
	if n := distinctColors(img); n < 50 {
		t.Errorf("%s: %d distinct colours: blank?", path, n)
	}
}

func distinctColors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// checkSVG parses an SVG and checks it draws paths and text.
func checkSVG(t *testing.T, r io.Reader, name string) {
	t.Helper()
	dec := xml.NewDecoder(r)
	count := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			count[se.Name.Local]++
		}
	}
	if count["svg"] != 1 || count["path"] < 5 || count["text"] < 4 {
		t.Errorf("%s: elements %v, want an svg with paths and text", name, count)
	}
}

// checkSelfContained fails on anything in a page that would make a
// browser fetch: scripts or styles by URL, images, fonts, frames.
func checkSelfContained(t *testing.T, html []byte) {
	t.Helper()
	for _, re := range []string{`<script[^>]+src=`, `<link\b`, `<img\b`, `<iframe\b`, `url\(`, `@import`, `src="http`, `href="//`} {
		if loc := regexp.MustCompile(`(?i)` + re).FindIndex(html); loc != nil {
			t.Errorf("report.html fetches something: %q at %d: %s", re, loc[0], html[max(0, loc[0]-40):min(len(html), loc[1]+60)])
		}
	}
	if len(html) > 5<<20 {
		t.Errorf("report.html is %d bytes, over 5 MB", len(html))
	}
}

// Every figure of a closed-loop run is written as PNG and SVG, the page
// inlines them with the summary's exact numbers, SLO lines and warnings.
func TestBuildRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	sum := writeSynth(t, dir, synth{n: 600, concurrency: 8, meanOut: 40, errEvery: 50, slos: []string{"ttft<=200ms", "e2e<=2s"}, seed: 1})
	res, err := Build(dir, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindRun || len(res.Recomputed) != 0 {
		t.Errorf("result %+v", res)
	}
	for _, name := range []string{"ttft_hist", "e2e_hist", "tpot_hist", "itl_hist", "output_speed_hist", "input_tokens_hist",
		"output_tokens_hist", "latency_box", "in_flight", "throughput", "errors"} {
		checkPNG(t, filepath.Join(dir, PlotsDir, name+".png"))
		f, err := os.Open(filepath.Join(dir, PlotsDir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		checkSVG(t, f, name+".svg")
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, "schedule_lag.png")); err == nil {
		t.Error("a closed-loop run has a schedule-lag chart")
	}
	html, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, html)
	golden(t, "run.html.golden", htmlSkeleton(html, dir))
	page := string(html)
	for _, want := range []string{
		"<svg", "Time to first token", "SLO ttft&lt;=200ms", "Goodput and SLOs", "Errors by kind",
		"throttled", "meta-llama/Llama-3.1-8B-Instruct", "temperature: 0.7", // config.yaml
		"Server-reported timings beside the client", "E2E − server latency_s: 4 ms",
		trim(1000 * sum.Metrics.TTFT.P99), trim(sum.Throughput.OutputTokensPerS),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 11 {
		t.Errorf("report.html inlines %d charts, want 11", n)
	}
	// The CSV row holds the summary's exact numbers.
	rows := readCSV(t, filepath.Join(dir, CSVFile))
	if len(rows) != 2 || rows[1][col(t, rows[0], "ttft_p99_s")] != ftoa(sum.Metrics.TTFT.P99) ||
		rows[1][col(t, rows[0], "error_rate")] != ftoa(sum.ErrorRate) || rows[1][col(t, rows[0], "temperature")] != "0.7" {
		t.Errorf("summary.csv:\n%v", rows)
	}
}

// An open-loop run gets its schedule-lag chart; warning fields of
// summary.json, known or not, are shown first.
func TestBuildRateRunShowsLagAndWarnings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rate")
	writeSynth(t, dir, synth{n: 300, rate: 20, meanOut: 20, seed: 2, noTimeline: true, sets: true})
	// A warning a later version may add: shown without being known.
	p := filepath.Join(dir, rundir.SummaryFile)
	b, _ := os.ReadFile(p)
	b = bytes.Replace(b, []byte(`"schema_version": 1,`), []byte(`"schema_version": 1, "cache_warning": "prefix cache hit rate 97%: latencies flatter than production", "schedule_lag_warning": "p99 schedule lag 12 ms > 5 ms",`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir, fixed); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, PlotsDir, "schedule_lag.png"))
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	page := string(html)
	w := strings.Index(page, `id="warnings"`)
	for _, want := range []string{"prefix cache hit rate 97%", "p99 schedule lag 12 ms", "Schedule lag (open loop)", "rebuilt from records.jsonl",
		"By prompt set</h2>", `<td class="l">chat</td>`, `<td class="l">code</td>`} {
		i := strings.Index(page, want)
		if i < 0 {
			t.Errorf("report.html lacks %q", want)
		}
		if strings.Contains(want, "%") && (w < 0 || i < w || i > strings.Index(page, `id="summary"`)) {
			t.Errorf("%q is not in the warnings box before the summary", want)
		}
	}
}

// A run of multi-turn sessions shows its per-turn table.
func TestBuildSessionRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	writeSynth(t, dir, synth{n: 60, concurrency: 4, meanOut: 10, seed: 3, noTimeline: true, turns: 3})
	if _, err := Build(dir, fixed); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	page := string(html)
	for _, want := range []string{`<a href="#turns">Turns</a>`, "By turn of the multi-turn sessions</h2>",
		"20 sessions, 20 of them sent every turn successfully", "<tr><td>3</td><td>20</td><td>20</td>", "<td>1000</td></tr>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// A run that crashed before writing summary.json is summarized from its
// records, and the report says so.
func TestBuildCrashedRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crashed")
	sum := writeSynth(t, dir, synth{n: 120, concurrency: 4, meanOut: 10, seed: 3, noSummary: true, noTimeline: true, slos: []string{"ttft<=200ms"}})
	res, err := Build(dir, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recomputed) != 1 {
		t.Errorf("Recomputed = %v", res.Recomputed)
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if !strings.Contains(string(html), "has no summary.json") {
		t.Error("the report does not say the summary was recomputed")
	}
	rows := readCSV(t, filepath.Join(dir, CSVFile))
	for name, want := range map[string]float64{"e2e_p90_s": sum.Metrics.E2E.P90, "output_tokens_per_s": sum.Throughput.OutputTokensPerS,
		"goodput_share": sum.Goodput.Share, "level": 4} {
		if got := rows[1][col(t, rows[0], name)]; got != ftoa(want) {
			t.Errorf("%s = %s, want %s", name, got, ftoa(want))
		}
	}
	if got := rows[1][col(t, rows[0], "model")]; got != "meta-llama/Llama-3.1-8B-Instruct" {
		t.Errorf("model from config.yaml = %q", got)
	}
}

// A matrix sweep: the sweep's charts, one section per group with its own
// charts, links to every level's report, one summary row per level.
func TestBuildSweepWithGroups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	ss := writeSynthSweep(t, dir, []string{"endpoint=a", "endpoint=b"}, []int{1, 8}, 60)
	res, err := Build(dir, Options{Levels: true, Now: fixed.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindSweep {
		t.Errorf("kind %v", res.Kind)
	}
	for _, name := range []string{"sweep_output_speed", "sweep_ttft", "sweep_throughput", "sweep_error_rate", "sweep_latency_throughput",
		"sweep_endpoint-a_ttft", "sweep_endpoint-b_latency_throughput"} {
		checkPNG(t, filepath.Join(dir, PlotsDir, name+".png"))
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	checkSelfContained(t, html)
	golden(t, "sweep.html.golden", htmlSkeleton(html, dir))
	if lvl, _ := os.ReadFile(filepath.Join(dir, ss.Rows[0].Dir, HTMLFile)); !strings.Contains(string(lvl), `href="../report.html"`) {
		t.Error("a level's report does not link back to its sweep's")
	}
	page := string(html)
	for _, r := range ss.Rows {
		link := `href="` + r.Dir + `/report.html"`
		if !strings.Contains(page, link) {
			t.Errorf("no link %s", link)
		}
		if _, err := os.Stat(filepath.Join(dir, r.Dir, HTMLFile)); err != nil {
			t.Errorf("level report: %v", err)
		}
	}
	for _, want := range []string{`id="group-endpoint-a"`, `id="group-endpoint-b"`, "Latency against throughput"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// A level that lost its files is reported as such; the rest still is.
	if err := os.RemoveAll(filepath.Join(dir, ss.Rows[0].Dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir, Options{Levels: true, Now: fixed.Now}); err != nil {
		t.Fatalf("a sweep with a missing level: %v", err)
	}
	html, _ = os.ReadFile(filepath.Join(dir, HTMLFile))
	if !strings.Contains(string(html), "its report could not be built") {
		t.Error("the missing level is not reported")
	}
	if rows := readCSV(t, filepath.Join(dir, CSVFile)); len(rows) != len(ss.Rows) || rows[1][col(t, rows[0], "prompts")] != "endpoint=a" {
		t.Errorf("summary.csv: %v", rows)
	}
}

// A directory that is neither a run nor a sweep is refused, saying why.
func TestBuildNotRunDir(t *testing.T) {
	_, err := Build(t.TempDir(), Options{})
	if !errors.Is(err, ErrNotRunDir) || !strings.Contains(err.Error(), "records.jsonl") {
		t.Errorf("err = %v", err)
	}
}

// summary.md and summary.csv of fixed summaries match the golden files.
func TestSummaryGolden(t *testing.T) {
	share := 0.875
	rows := []Row{
		rowOf("c1", fixtureSummary(1, 0.12, 95.5), nil),
		rowOf("c8", fixtureSummary(8, 0.31, 61.25), nil),
	}
	rows[1].GoodputShare = &share
	rows[1].Temperature = "0"
	var md, cb bytes.Buffer
	if err := SummaryMarkdown(&md, "llmload sweep fixture", rows); err != nil {
		t.Fatal(err)
	}
	if err := SummaryCSV(&cb, rows); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md.golden", md.Bytes())
	golden(t, "summary.csv.golden", cb.Bytes())
}

func fixtureSummary(c int, ttft, speed float64) *stats.Summary {
	d := func(m float64) stats.Dist {
		return stats.Dist{Count: 10, Mean: m * 1.1, Median: m, Min: m / 2, Max: m * 3, P25: m * 0.8, P50: m, P75: m * 1.2, P90: m * 1.5, P95: m * 1.8, P99: m * 2.5}
	}
	return &stats.Summary{
		Run:         stats.RunInfo{Name: "fixture", Provider: "openai", Model: "llama|3", BaseURL: "http://h:8000/v1", Mode: "concurrency", Concurrency: c, MeanInputTokens: 550, MeanOutputTokens: 150},
		Requests:    stats.Requests{Total: 10, Succeeded: 9, Failed: 1},
		ErrorRate:   0.1,
		Throughput:  stats.Throughput{OutputTokensPerS: 1234.5678, RequestsPerS: 3.25},
		Metrics:     stats.Metrics{TTFT: d(ttft), E2E: d(2.5), OutputSpeed: d(speed), InputTokens: d(550), OutputTokens: d(150)},
		Concurrency: stats.Concurrency{Mean: float64(c) * 0.95, Max: c},
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func col(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %s in %v", name, header)
	return -1
}

// The fast chunk-time path decodes exactly what encoding/json does, and
// falls back to it on anything else.
func TestDecodeRecordMatchesEncodingJSON(t *testing.T) {
	for _, line := range []string{
		`{"schema_version":1,"id":3,"sent_s":1.5,"e2e_s":2,"chunk_times_s":[0.1,0.25, 1e-3 ,-0,12345.678901234567],"stream":true}`,
		`{"schema_version":1,"id":4,"chunk_times_s":[]}`,
		`{"schema_version":1,"id":5,"chunk_times_s":null}`,
		`{"schema_version":1,"id":6}`,
		`{"schema_version":1,"id":7,"chunk_times_s":[ 0.5 ]}`,
	} {
		var want, got record.Record
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeRecord([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", line, got, want)
		}
	}
	var r record.Record
	if err := decodeRecord([]byte(`{"chunk_times_s":["x"]}`), &r); err == nil {
		t.Error("a string among chunk times decoded")
	}
}

var (
	svgElem   = regexp.MustCompile(`(?s)<svg .*?</svg>`)
	styleElem = regexp.MustCompile(`(?s)<style>.*?</style>`)
)

// htmlSkeleton is a page for a golden file: every inline chart and the
// stylesheet replaced by a marker (the charts are checked as images; their
// bytes follow gonum/plot's version), the temporary directory by DIR.
func htmlSkeleton(html []byte, dir string) []byte {
	b := svgElem.ReplaceAll(html, []byte("<svg>…</svg>"))
	b = styleElem.ReplaceAll(b, []byte("<style>…</style>"))
	return bytes.ReplaceAll(b, []byte(dir), []byte("DIR"))
}

// Runs with little data still get a whole report.
func TestBuildEdgeRuns(t *testing.T) {
	tests := []struct {
		name string
		s    synth
		want string // on the page
	}{
		// Every request failed: empty histograms say so.
		{"all failed", synth{n: 20, concurrency: 2, meanOut: 5, errEvery: 1, seed: 1}, "No request succeeded."},
		// One request: one value per histogram.
		{"one request", synth{n: 1, concurrency: 1, meanOut: 2, seed: 1}, "Time to first token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			writeSynth(t, dir, tt.s)
			if _, err := Build(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
			if !strings.Contains(string(html), tt.want) {
				t.Errorf("report.html lacks %q", tt.want)
			}
			checkPNG(t, filepath.Join(dir, PlotsDir, "ttft_hist.png"))
		})
	}
}

// The prompts column names a dataset, shared prefixes and sessions.
func TestPromptsOfDatasetsAndSessions(t *testing.T) {
	s := &stats.Summary{Run: stats.RunInfo{Dataset: &workload.DatasetStats{Path: "/data/sharegpt.json"}, Turns: 4}}
	if got, want := promptsOf(s, nil), "dataset sharegpt.json, sessions of 4 turns"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	s = &stats.Summary{Run: stats.RunInfo{MeanInputTokens: 128, MeanOutputTokens: 64, PrefixTokens: 512, PrefixGroups: 2}}
	if got, want := promptsOf(s, nil), "synthetic 128→64 tokens, 2 shared prefixes of 512 tokens"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
