package reportgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
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
				if err := json.Unmarshal(lines[i], &out[i]); err != nil {
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
