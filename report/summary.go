// Package report renders what a run measured: summary.json, LLMPerf's
// result files, and the console table. It reads records and summaries and
// never talks to an endpoint; renderers write to an io.Writer or a path
// and never print on their own.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llmload/llmload/stats"
)

// WriteSummaryJSON writes s to path as indented JSON (summary.json),
// atomically: a reader sees the old file or the new one, never a part.
func WriteSummaryJSON(path string, s *stats.Summary) error {
	if s == nil {
		return errors.New("summary: nil summary")
	}
	b, err := marshalIndent(s)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}

// marshalIndent is json.MarshalIndent with a two-space indent and a final
// newline, without HTML escaping: SLOs and thresholds ("ttft<=500ms") stay
// readable instead of becoming "ttft\u003c=500ms".
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a crash leaves either the old file or the new.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
