// Package rundir lays out a run directory, the unit of truth every later
// step reads: config.yaml (effective configuration, secrets redacted),
// records.jsonl (one line per request, appended as it ends) and
// summary.json. docs/run-directory.md documents every file and field.
package rundir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/llmload/llmload/config"
)

// File names inside a run directory.
const (
	ConfigFile  = "config.yaml"
	RecordsFile = "records.jsonl"
	SummaryFile = "summary.json"
	// TimelineFile holds record.Sample lines: requests in flight over time.
	TimelineFile = "timeline.jsonl"
)

// Create makes dir (and its parents) ready for a new run. It refuses a
// directory that already holds a run, so two runs never mix records.
func Create(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, RecordsFile)); err == nil {
		return fmt.Errorf("%s already holds a run (%s exists); choose another --results-dir", dir, RecordsFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// WriteConfig writes the redacted configuration to dir/config.yaml.
func WriteConfig(dir string, c *config.Config) error {
	var buf bytes.Buffer
	buf.WriteString("# llmload effective configuration (secrets redacted)\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	r := c.Redacted()
	if err := enc.Encode(&r); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ConfigFile), buf.Bytes(), 0o644)
}

// ReadConfig reads dir/config.yaml.
func ReadConfig(dir string) (*config.Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	var c config.Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return &c, nil
}
