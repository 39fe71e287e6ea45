package record

import (
	"bytes"
	"encoding/json"
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/quick"

	"github.com/llmload/llmload/llm"
)

func TestWriterRoundTripAndConcurrency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			r := &Record{SchemaVersion: SchemaVersion, ID: int64(i), SentS: 1.5, TTFTS: 0.25, E2ES: 2,
				ChunkTimesS: []float64{0.25, 0.5}, OutputTokens: 2, TokenSource: SourceServer}
			if i%10 == 0 {
				r.ErrorKind, r.Error = llm.KindTimeout, "timeout"
			}
			if err := w.Write(r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 50 {
		t.Fatalf("%d records, want 50", len(recs))
	}
	seen := map[int64]bool{}
	for _, r := range recs {
		seen[r.ID] = true
		if !reflect.DeepEqual(r.ChunkTimesS, []float64{0.25, 0.5}) || r.OK() != (r.ID%10 != 0) {
			t.Errorf("record %d did not round-trip: %+v", r.ID, r)
		}
	}
	if len(seen) != 50 {
		t.Errorf("ids lost: %d distinct", len(seen))
	}
}

func TestReadSkipsLineCutShortByACrash(t *testing.T) {
	in := `{"schema_version":1,"id":0,"e2e_s":1}` + "\n" + `{"schema_version":1,"id":1,"e2e` // no newline: cut short
	recs, err := Read(strings.NewReader(in))
	if err != nil || len(recs) != 1 {
		t.Errorf("got %d records, %v; want 1 and no error", len(recs), err)
	}
}

func TestReadRejectsBadLinesAndNewerSchema(t *testing.T) {
	if _, err := Read(strings.NewReader("{\"id\":0}\nnot json\n{}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
	if _, err := Read(strings.NewReader("{\"schema_version\":99}\n")); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("err = %v, want a newer-schema error", err)
	}
}

func TestCreateAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	for i := range 2 {
		w, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(&Record{SchemaVersion: 1, ID: int64(i)})
		w.Close()
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
}

// TestReadDecodesAsEncodingJSON: Read's decoder gives the same record as
// encoding/json for records with every field set to random values
// (testing/quick), long and short floats and strings with HTML, escapes
// and invalid UTF-8 included.
func TestReadDecodesAsEncodingJSON(t *testing.T) {
	rng := randv2.New(randv2.NewPCG(1, 2))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // as Writer encodes
	var lines [][]byte
	for i := range 300 {
		v, ok := quick.Value(reflect.TypeFor[Record](), rand.New(rand.NewSource(int64(i))))
		if !ok {
			t.Fatal("quick.Value")
		}
		r := v.Interface().(Record)
		r.SchemaVersion = SchemaVersion
		r.Error += "<a href=\"x\">&\u2028\xff\\"
		r.ChunkTimesS = append(r.ChunkTimesS, 1e-7, 1e21, 5e-324, rng.Float64()*1e-5, rng.NormFloat64()*1e30)
		buf.Reset()
		if err := enc.Encode(&r); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.Clone(buf.Bytes()))
	}
	got, err := Read(bytes.NewReader(bytes.Join(lines, nil)))
	if err != nil || len(got) != len(lines) {
		t.Fatalf("%d records, %v; want %d", len(got), err, len(lines))
	}
	for i, line := range lines {
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

// BenchmarkRead is the CPU of reading records back, as the summary of a
// run does: records of 128 chunk times each, with Read (segmentio's
// decoder) and with encoding/json's, per record.
func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range 1000 {
		r := Record{SchemaVersion: SchemaVersion, ID: int64(i), Worker: i % 100, SentS: float64(i) * 0.01, TTFTS: 0.2001234567,
			E2ES: 2.74123456789, InputTokens: 550, OutputTokens: 128, TokenSource: SourceServer, Stream: true,
			FinishReason: "length", ResponseID: "chatcmpl-1", ReceiveStamps: true}
		for k := range 128 {
			r.ChunkTimesS = append(r.ChunkTimesS, 0.2001234567+float64(k)*0.0200123456789)
		}
		enc.Encode(&r)
	}
	data := buf.Bytes()
	for _, d := range []string{"segmentio", "encoding/json"} {
		b.Run("decoder="+d, func(b *testing.B) {
			for b.Loop() {
				if d == "segmentio" {
					if recs, err := Read(bytes.NewReader(data)); err != nil || len(recs) != 1000 {
						b.Fatal(len(recs), err)
					}
					continue
				}
				for line := range bytes.Lines(data) {
					var r Record
					if err := json.Unmarshal(line, &r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
		})
	}
}
