package reportgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/llmload/llmload/record"
)

// readRecords reads a records.jsonl file as record.ReadFile does (a last
// line cut short by a crash is skipped; a newer schema is refused), but
// decodes its lines on every CPU: decoding is most of a report's time
// for a large run (100,000 requests with their chunk times are over
// 100 MB of JSON).
func readRecords(path string) ([]record.Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			// No newline: a write cut short, unless the line is whole.
			if json.Valid(data) {
				lines = append(lines, data)
			}
			break
		}
		if l := bytes.TrimSpace(data[:i]); len(l) > 0 {
			lines = append(lines, l)
		}
		data = data[i+1:]
	}
	out := make([]record.Record, len(lines))
	errs := make([]error, len(lines))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(lines)/1000+1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				if err := decodeRecord(lines[i], &out[i]); err != nil {
					errs[i] = err
				} else if out[i].SchemaVersion > record.SchemaVersion {
					errs[i] = fmt.Errorf("schema_version %d is newer than this llmload understands (%d)", out[i].SchemaVersion, record.SchemaVersion)
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, i+1, err)
		}
	}
	return out, nil
}

// chunkKey starts the chunk times of a record as record.Writer (through
// encoding/json) writes it. Inside a JSON string a quote is escaped, so
// the sequence only occurs as the key itself.
var chunkKey = []byte(`"chunk_times_s":[`)

// decodeRecord decodes one line of records.jsonl into r. The chunk times,
// most of the bytes of a streamed record, are cut out of the line and
// parsed by parseFloats: encoding/json would scan them twice and store
// each through reflection, most of a large run's report time. A line
// written some other way (spaces, another number syntax) is decoded by
// encoding/json alone, so the result is always the same.
func decodeRecord(line []byte, r *record.Record) error {
	if i := bytes.Index(line, chunkKey); i >= 0 {
		start := i + len(chunkKey) - 1
		if j := bytes.IndexByte(line[start:], ']'); j >= 0 {
			end := start + j + 1
			if xs, ok := parseFloats(line[start:end]); ok {
				rest := make([]byte, 0, len(line)-(end-start)+4)
				rest = append(append(append(rest, line[:start]...), "null"...), line[end:]...)
				if err := json.Unmarshal(rest, r); err == nil {
					r.ChunkTimesS = xs
					return nil
				}
			}
		}
	}
	*r = record.Record{}
	return json.Unmarshal(line, r)
}

// parseFloats parses a JSON array of numbers ("[0.1,0.25]"); ok is false
// for anything else (the caller then uses encoding/json).
func parseFloats(b []byte) (xs []float64, ok bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	if len(b) == 0 {
		return []float64{}, true
	}
	xs = make([]float64, 0, bytes.Count(b, []byte{','})+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, ',')
		var f []byte
		if i < 0 {
			f, b = b, nil
		} else {
			f, b = b[:i], b[i+1:]
			if len(b) == 0 {
				return nil, false // a trailing comma
			}
		}
		f = bytes.TrimSpace(f)
		if len(f) == 0 || (f[0] != '-' && (f[0] < '0' || f[0] > '9')) {
			return nil, false
		}
		v, err := strconv.ParseFloat(string(f), 64)
		if err != nil {
			return nil, false
		}
		xs = append(xs, v)
	}
	return xs, true
}
