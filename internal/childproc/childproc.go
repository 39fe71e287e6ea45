// Package childproc runs the test binary again as a child process that
// serves something for a benchmark to measure against, so that the child's
// CPU is not charged to the benchmark's process (getrusage).
package childproc

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Serve runs the current test binary again with only the test named test
// (a function that serves when env is set and skips otherwise) and the
// environment variable env; that test prints one line, its server's URL,
// and serves until its stdin closes. Serve returns the URL; the child ends
// at tb's cleanup.
func Serve(tb testing.TB, test, env string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	in, err := cmd.StdinPipe() // the child ends when this closes
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(url)
}
