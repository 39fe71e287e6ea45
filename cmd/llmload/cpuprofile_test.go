package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCPUProfileEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	var stderr strings.Builder
	stop := startCPUProfile(path, &stderr)
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	stop()
	stop() // a second stop (an interrupt while the command returns) is harmless
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is a gzipped protocol buffer.
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s holds %d bytes, not a gzipped profile", path, len(b))
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}

	// An unwritable path is reported, and the command runs unprofiled.
	stderr.Reset()
	startCPUProfile(filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.pprof"), &stderr)()
	if !strings.Contains(stderr.String(), envCPUProfile) {
		t.Errorf("stderr = %q, want the variable named", stderr.String())
	}

	// Unset: nothing.
	stderr.Reset()
	startCPUProfile("", &stderr)()
	if stderr.Len() > 0 {
		t.Errorf("stderr = %q for no profile", stderr.String())
	}
}
