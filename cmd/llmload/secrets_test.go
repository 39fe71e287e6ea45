package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// echoServer is an OpenAI-compatible server that repeats every request
// header, the URL and the body back: in the message of a 401 or a 500,
// in an error event inside a 200 stream, and in the text and id of a 200
// stream. extra is echoed too (a credential the server knows another way,
// as AWS keys would be). With fail, every response is a 401.
func echoServer(extra string, fail bool) *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var dump strings.Builder
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			for _, v := range r.Header[k] {
				// As is, the token of "Bearer X" alone, and URL-escaped.
				fmt.Fprintf(&dump, "%s: %s | ", k, v)
				if _, tok, ok := strings.Cut(v, " "); ok {
					fmt.Fprintf(&dump, "token %s | ", tok)
				}
				fmt.Fprintf(&dump, "escaped %s | ", url.QueryEscape(v))
			}
		}
		fmt.Fprintf(&dump, "url %s | body %s | aws %s", r.URL.String(), body, extra)
		text := dump.String()
		js, _ := json.Marshal(text) // a JSON echo escapes <, > and & too
		i := n.Add(1) % 4
		if fail {
			i = 1
		}
		switch i {
		case 1:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":%s,"type":"invalid_request_error"}}`, js)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, text) // a plain-text echo
		case 3:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"id\":%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":%s}}]}\n\n", js, js)
			fmt.Fprintf(w, "data: {\"error\":{\"message\":%s}}\n\n", js)
		default:
			w.Header().Set("Content-Type", "text/event-stream")
			for range 3 {
				fmt.Fprintf(w, "data: {\"id\":%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":%s}}]}\n\n", js, js)
			}
			fmt.Fprintf(w, "data: {\"id\":%s,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", js)
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	}))
}

// TestHeaderSecretsNeverLeak runs the CLI against a server that echoes
// every credential it is sent (headers, URL user info and query key, the
// API key, an AWS key from the environment) in error messages, error
// events and streamed responses, as a sweep with a threshold, and checks
// that no secret (as is, as a bearer token alone, JSON- or URL-escaped)
// appears in any file of the run directory or on stdout or stderr.
func TestHeaderSecretsNeverLeak(t *testing.T) {
	const (
		bearer = "sk-SECRET1"
		apiKey = "SECRET2"
		custom = "tok/SECRET3+<x>=&"     // marked with --secret-header NAME
		route  = "SECRET4-route-value"   // --secret-header 'NAME: value'
		query  = "SECRET5query"          // ?key= in the base URL
		pass   = "SECRET6pass"           // user info of the base URL
		flagK  = "sk-SECRET7-flag-key"   // --api-key (overridden by the header)
		aws    = "SECRET8awsSecretKeyXY" // AWS_SECRET_ACCESS_KEY
	)
	secrets := []string{bearer, apiKey, custom, route, query, pass, flagK, aws}
	run := func(t *testing.T, fail bool, args ...string) (dir, stdout, stderr string) {
		hs := echoServer(aws, fail)
		t.Cleanup(hs.Close)
		u, _ := url.Parse(hs.URL)
		base := fmt.Sprintf("http://user:%s@%s/v1?key=%s", pass, u.Host, query)
		dir = filepath.Join(t.TempDir(), "run")
		env := map[string]string{"AWS_SECRET_ACCESS_KEY": aws}
		args = append([]string{"run",
			"--base-url", base, "--model", "m", "--api-key", flagK,
			"--header", "Authorization: Bearer " + bearer,
			"--header", "X-Api-Key: " + apiKey,
			"--header", "X-Tenant: " + custom, "--secret-header", "X-Tenant",
			"--secret-header", "X-Route: " + route,
			"--timeout", "10s", "--results-dir", dir}, args...)
		status, stdout, stderr := runCLI(t, env, args...)
		if status == exitUsage {
			t.Fatalf("status %d\nstderr:\n%s", status, stderr)
		}
		return dir, stdout, stderr
	}
	// A sweep with a threshold (its failure is printed), with progress.
	dir, stdout, stderr := run(t, false, "--concurrency", "1,2", "--max-requests", "8", "--threshold", "error_rate<0.01")
	// A run where every request fails: stderr shows the first error.
	_, stdout2, stderr2 := run(t, true, "--max-requests", "2", "--no-progress")
	if !strings.Contains(stderr2, "first error") || !strings.Contains(stderr2, "[REDACTED]") {
		t.Errorf("stderr of a failed run shows no scrubbed first error:\n%s", stderr2)
	}
	stdout += stdout2
	stderr += stderr2
	leaks := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			for _, form := range []string{sec, url.QueryEscape(sec), jsonBody(sec)} {
				if strings.Contains(s, form) {
					t.Errorf("%s holds secret %q (as %q)", what, sec, form)
				}
			}
		}
	}
	leaks("stdout", stdout)
	leaks("stderr", stderr)
	files := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files++
		leaks(p, string(b))
		return nil
	})
	if files < 10 {
		t.Errorf("only %d files in the run directory", files)
	}
	// The echoes did reach the records, scrubbed.
	recs, err := os.ReadFile(filepath.Join(dir, "c1", "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(recs), "[REDACTED]") {
		t.Errorf("records hold no scrubbed echo:\n%s", recs)
	}
}

// jsonBody is s JSON-escaped, without quotes.
func jsonBody(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// TestBadBaseURLQuotedAsTyped: a base URL that is not one is quoted as the
// user typed it (not URL-escaped), minus its credentials.
func TestBadBaseURLQuotedAsTyped(t *testing.T) {
	for in, want := range map[string]string{
		"not a url":               `--base-url "not a url" is not an http(s) URL`,
		"ftp://u:pw-secret@h/x y": `--base-url "ftp://u:REDACTED@h/x y" is not an http(s) URL`,
	} {
		status, _, stderr := runCLI(t, nil, "run", "--base-url", in, "--model", "m", "--dry-run")
		if status != exitUsage || !strings.Contains(stderr, want) || strings.Contains(stderr, "pw-secret") {
			t.Errorf("--base-url %q: status %d, stderr:\n%s\nwant %s", in, status, stderr, want)
		}
	}
	// The AWS providers' --endpoint-url alike.
	for _, p := range [][]string{{"--provider", "bedrock", "--model", "m"}, {"--provider", "sagemaker", "--endpoint-name", "e"}} {
		args := append([]string{"run", "--endpoint-url", "not a url", "--region", "us-east-1", "--dry-run"}, p...)
		status, _, stderr := runCLI(t, nil, args...)
		if want := `--endpoint-url "not a url" is not an http(s) URL`; status != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s: status %d, stderr:\n%s\nwant %s", p[1], status, stderr, want)
		}
	}
}

// TestSecretHeadersInExperimentFiles: secret_headers in an experiment file
// marks headers secret in every case, the matrix endpoints' too: the plan
// and config.yaml show REDACTED.
func TestSecretHeadersInExperimentFiles(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "exp.yaml")
	os.WriteFile(file, []byte(`max_requests: 2
mean_output_tokens: 5
stddev_output_tokens: 0
secret_headers: [X-Tenant]
headers: {X-Tenant: tenant-secret-1}
sim: {time_scale: 0.02}
matrix:
  endpoints:
    - {name: a, provider: sim, headers: {X-Tenant: tenant-secret-2}}
    - {name: b, provider: sim}
`), 0o644)
	st, stdout, stderr := runCLI(t, nil, "run", "-f", file, "--dry-run")
	if st != exitOK || strings.Contains(stdout+stderr, "tenant-secret") || !strings.Contains(stdout, "REDACTED") {
		t.Errorf("dry run: status %d\n%s\n%s", st, stdout, stderr)
	}
	dir := filepath.Join(tmp, "out")
	st, stdout, stderr = runCLI(t, nil, "run", "-f", file, "--results-dir", dir, "--no-progress")
	if st != exitOK || strings.Contains(stdout+stderr, "tenant-secret") {
		t.Errorf("run: status %d\n%s\n%s", st, stdout, stderr)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "tenant-secret") {
				t.Errorf("%s holds a secret header", p)
			}
		}
		return err
	})
}
