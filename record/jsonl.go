package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	fastjson "github.com/segmentio/encoding/json"
)

// Writer appends records (or other JSON lines) to a JSONL file, one write(2) per record, so a
// crash or Ctrl-C loses nothing that completed. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	buf  bytes.Buffer
	enc  *json.Encoder
	line []byte // Write's buffer
}

// Create opens path for appending records, creating it if needed.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f}
	w.enc = json.NewEncoder(&w.buf)
	return w, nil
}

// Write appends one record as a JSON line, encoded by AppendJSON.
func (w *Writer) Write(r *Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	line, err := AppendJSON(w.line[:0], r)
	if err != nil {
		return err
	}
	w.line = append(line, '\n')
	_, err = w.f.Write(w.line)
	return err
}

// WriteJSON appends any value as a JSON line (timeline samples use it).
func (w *Writer) WriteJSON(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Reset()
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	_, err := w.f.Write(w.buf.Bytes())
	return err
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := errors.Join(w.f.Sync(), w.f.Close())
	w.f = nil
	return err
}

// Read decodes every record of a JSONL stream. A final line without its
// newline (a write cut short by a crash) is skipped, not an error; any
// other bad line is, with its line number.
//
// Lines are decoded with segmentio's decoder: the same records as
// encoding/json's (TestReadDecodesAsEncodingJSON) in ≈ 0.4× the CPU
// (BenchmarkRead); decoding was most of the CPU of a run's summary after
// the run. Records are written by AppendJSON, byte for byte what
// encoding/json writes.
func Read(r io.Reader) ([]Record, error) {
	var out []Record
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && err == nil || len(b) > 0 && err == io.EOF && fastjson.Valid(b) {
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				var rec Record
				if jerr := fastjson.Unmarshal(b, &rec); jerr != nil {
					return out, fmt.Errorf("records line %d: %w", line, jerr)
				}
				if rec.SchemaVersion > SchemaVersion {
					return out, fmt.Errorf("records line %d: schema_version %d is newer than this llmload understands (%d)", line, rec.SchemaVersion, SchemaVersion)
				}
				out = append(out, rec)
			}
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// ReadFile reads the records of a records.jsonl file.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}
