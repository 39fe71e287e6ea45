package main

import (
	"strings"
	"testing"
)

// TestDryRunShowsRequestedLengths: --dry-run prints the requested-length
// distribution; with only a mean set, lengths stay around it with nothing
// clipped; with a stddev large for the mean, it warns with the share
// clipped.
func TestDryRunShowsRequestedLengths(t *testing.T) {
	st, stdout, stderr := runCLI(t, nil, "run", "--dry-run", "--mean-output-tokens", "64", "--max-requests", "400")
	if st != exitOK || !strings.Contains(stdout, "max_tokens 64±16") || !strings.Contains(stdout, "lengths:    first 400 requests: input tokens mean") ||
		!strings.Contains(stdout, "max_tokens mean 6") || strings.Contains(stdout, "WARNING") || strings.Contains(stdout, "floor") {
		t.Errorf("status %d\n%s\n%s", st, stdout, stderr)
	}
	st, stdout, stderr = runCLI(t, nil, "run", "--dry-run", "--mean-output-tokens", "64", "--stddev-output-tokens", "80", "--max-requests", "400")
	if st != exitOK || !strings.Contains(stdout, "raised to the floor") || !strings.Contains(stdout, "WARNING: ") {
		t.Errorf("status %d\n%s\n%s", st, stdout, stderr)
	}
}
