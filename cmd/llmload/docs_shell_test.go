package main

// How TestDocsExamples reads the shell of the docs' blocks: continued
// lines, comments, quotes, `export`, environment prefixes, a trailing `&`
// and `for … in …; do … done`. Nothing else is shell here: a block that
// needs more fails the test.

import (
	"fmt"
	"regexp"
	"strings"
)

// shellCmd is one command of a block.
type shellCmd struct {
	text string            // as written, continuations joined
	line int               // its first line's offset in the block
	env  map[string]string // NAME=value prefixes
	args []string          // the words; args[0] is the program
	bg   bool              // ends in &
}

var forRE = regexp.MustCompile(`^for (\w+) in ([^;]+); do$`)

// parseShell splits a block into commands.
func parseShell(text string) ([]shellCmd, error) {
	var lines []string
	var at []int // each line's offset in the block
	cont, start := "", 0
	for i, l := range strings.Split(text, "\n") {
		if cont == "" {
			start = i
		}
		l = strings.TrimRight(l, " \t")
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cont += s + " "
			continue
		}
		if l = strings.TrimSpace(cont + l); l != "" {
			lines, at = append(lines, l), append(at, start)
		}
		cont = ""
	}
	var cmds []shellCmd
	for i := 0; i < len(lines); i++ {
		m := forRE.FindStringSubmatch(lines[i])
		if m == nil {
			c, err := parseCommand(lines[i])
			if err != nil {
				return nil, err
			}
			if c != nil {
				c.line = at[i]
				cmds = append(cmds, *c)
			}
			continue
		}
		j := i + 1
		for j < len(lines) && lines[j] != "done" {
			j++
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%q has no done", lines[i])
		}
		for _, v := range strings.Fields(m[2]) {
			for k := i + 1; k < j; k++ {
				l := strings.NewReplacer("${"+m[1]+"}", v, "$"+m[1], v).Replace(lines[k])
				c, err := parseCommand(l)
				if err != nil {
					return nil, err
				}
				if c != nil {
					c.line = at[k]
					cmds = append(cmds, *c)
				}
			}
		}
		i = j
	}
	return cmds, nil
}

// parseCommand reads one line; nil for a comment.
func parseCommand(line string) (*shellCmd, error) {
	words, err := shellWords(line)
	if err != nil || len(words) == 0 {
		return nil, err
	}
	c := &shellCmd{text: line, env: map[string]string{}}
	if words[len(words)-1] == "&" {
		c.bg, words = true, words[:len(words)-1]
	}
	for len(words) > 0 && words[0] != "export" {
		k, v, ok := strings.Cut(words[0], "=")
		if !ok || !regexp.MustCompile(`^[A-Za-z_]\w*$`).MatchString(k) {
			break
		}
		c.env[k], words = v, words[1:]
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%q: a bare assignment; use export", line)
	}
	for _, w := range words {
		if w == ";" || w == "&" || w == "|" || strings.ContainsAny(w, "$`") {
			return nil, fmt.Errorf("%q: %q is more shell than this test reads", line, w)
		}
	}
	c.args = words
	return c, nil
}

// shellWords splits a line into words as sh does for plain words and
// quotes; an unquoted # starting a word begins a comment; ; & and | are
// words of their own.
func shellWords(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && !inWord:
			flush()
			return words, nil
		case r == ';' || r == '&' || r == '|':
			flush()
			words = append(words, string(r))
		case r == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case r == '\'' || r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				if r == '"' && rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				w.WriteRune(rs[j])
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("%q: unclosed %c", line, r)
			}
			i, inWord = j, true
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words, nil
}

// flagArgs edits a command's flags by name, as Go's flag package reads
// them: -name and --name, =value or the next word unless boolean.
type flagArgs struct {
	args   []string
	isBool func(name string) bool
}

// find returns the index and token count of each occurrence of name.
func (f flagArgs) find(name string) (idx, n []int) {
	for i := 0; i < len(f.args); i++ {
		a := f.args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		if a == "--" {
			break
		}
		k, _, eq := strings.Cut(strings.TrimLeft(a, "-"), "=")
		cnt := 1
		if !eq && !f.isBool(k) {
			cnt = 2
		}
		if k == name {
			idx, n = append(idx, i), append(n, cnt)
		}
		i += cnt - 1
	}
	return idx, n
}

// get returns the value of the last occurrence of name.
func (f flagArgs) get(name string) (string, bool) {
	idx, n := f.find(name)
	if len(idx) == 0 {
		return "", false
	}
	i := idx[len(idx)-1]
	if _, v, ok := strings.Cut(f.args[i], "="); ok {
		return v, true
	}
	if n[len(n)-1] == 1 {
		return "true", true
	}
	if i+1 < len(f.args) {
		return f.args[i+1], true
	}
	return "", true
}

// set removes every occurrence of name and appends --name=value.
func (f *flagArgs) set(name, value string) {
	f.del(name)
	f.args = append(f.args, "--"+name+"="+value)
}

func (f *flagArgs) del(name string) {
	idx, n := f.find(name)
	for k := len(idx) - 1; k >= 0; k-- {
		f.args = append(f.args[:idx[k]], f.args[idx[k]+n[k]:]...)
	}
}
