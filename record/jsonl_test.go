package record

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

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
