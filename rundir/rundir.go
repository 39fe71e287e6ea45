// Package rundir lays out a run directory, the unit of truth every later
// step reads: config.yaml (effective configuration, secrets redacted),
// records.jsonl (one line per request, appended as it ends) and
// summary.json. docs/run-directory.md documents every file and field.
package rundir

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

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

// WriteConfig writes the redacted configuration to dir/config.yaml, as an
// experiment file that `llmload run -f` runs again: the run's name and
// results directory are comments (a re-run gets a new directory rather
// than failing on this one), prompt files are absolute paths (the file no
// longer sits beside them), and an API key is never written, not even
// redacted (an experiment file refuses api_key): the comment says to
// supply it again.
func WriteConfig(dir string, c *config.Config) error {
	var buf bytes.Buffer
	buf.WriteString("# llmload effective configuration (secrets redacted)\n")
	if c.Name != "" || c.ResultsDir != "" {
		fmt.Fprintf(&buf, "# run %s, results in %s\n", cmp.Or(c.Name, "(unnamed)"), cmp.Or(c.ResultsDir, "(none)"))
		buf.WriteString("# `llmload run -f` of this file runs it again into a new results directory:\n")
		buf.WriteString("# name and results_dir are left out for that (--results-dir chooses one).\n")
	}
	if c.APIKey != "" {
		buf.WriteString("# The run had an API key; it is never written: pass --api-key or set OPENAI_API_KEY.\n")
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	r := c.Redacted()
	r.Name, r.ResultsDir, r.APIKey = "", "", ""
	abs := func(p *string) {
		if *p != "" {
			if a, err := filepath.Abs(*p); err == nil {
				*p = a
			}
		}
	}
	abs(&r.PromptFile)
	abs(&r.Dataset)
	r.PromptSets = slices.Clone(r.PromptSets)
	for i := range r.PromptSets {
		abs(&r.PromptSets[i].PromptFile)
	}
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
