package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args with fs. It returns done=true with the exit status
// when the command should stop: -h printed the help (0), or a bad flag
// printed one line (2).
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) (done bool, status int) {
	pos, done, status := c.parseArgs(fs, args)
	if !done && len(pos) > 0 {
		fmt.Fprintf(c.stderr, "llmload %s: unexpected argument %q (see 'llmload %s -h')\n", fs.Name(), pos[0], fs.Name())
		return true, exitUsage
	}
	return done, status
}

// parseArgs is parseFlags for commands that take operands (directories):
// flags may come before, between or after them, and the operands are
// returned in order.
func (c *cli) parseArgs(fs *flag.FlagSet, args []string) (operands []string, done bool, status int) {
	fs.SetOutput(io.Discard)
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(c.stdout)
			fs.Usage()
			return nil, true, exitOK
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "llmload %s: %v (see 'llmload %s -h')\n", fs.Name(), err, fs.Name())
			return nil, true, exitUsage
		}
		if fs.NArg() == 0 {
			return operands, false, 0
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageErr prints a one-line-per-problem usage error and returns exitUsage.
func (c *cli) usageErr(cmd string, err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(c.stderr, "llmload %s: %s\n", cmd, line)
	}
	return exitUsage
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// optFloat is a float flag that remembers whether it was set.
type optFloat struct{ v *float64 }

func (o *optFloat) String() string {
	if o.v == nil || *o == (optFloat{}) {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optFloat) Set(s string) error {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	o.v = &f
	return nil
}

// visited reports which flags were set on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// ptrFloat is a float flag that sets a *float64 field (nil: not given).
type ptrFloat struct{ p **float64 }

func (o ptrFloat) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return fmt.Sprint(**o.p)
}

func (o ptrFloat) Set(s string) error {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*o.p = &f
	return nil
}
