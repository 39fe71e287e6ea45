package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// A prompt file is JSONL: one JSON object per line, blank lines skipped.
// Each object carries its text in exactly one of
//
//	{"prompt": "..."}
//	{"text": "..."}
//	{"messages": [{"role": "user", "content": "..."}, ...]}
//
// and optionally "max_tokens", which overrides the output-length
// distribution for that line. Messages are flattened: the contents of all
// messages, in order, joined by "\n\n" (roles are dropped). A content may
// also be an array of OpenAI content parts; its "text" parts are joined the
// same way. Other fields are ignored, so dataset exports with ids or
// metadata load as they are.

// fileEntry is one prompt of a prompt file.
type fileEntry struct {
	text      string
	tokens    int
	maxTokens int // 0: use the output distribution
}

// fileSource cycles through a prompt file's prompts in file order.
type fileSource struct {
	entries []fileEntry
	seed    uint64
	out     lengthDist
}

var _ Source = (*fileSource)(nil)

// Prompt returns line i mod n of the file (counting prompts, not blank
// lines).
func (s *fileSource) Prompt(i int64) Prompt {
	n := int64(len(s.entries))
	e := &s.entries[(i%n+n)%n]
	mt, clipped := e.maxTokens, false
	if mt == 0 {
		mt, clipped = s.out.forRequest(s.seed, i)
	}
	return Prompt{Text: e.text, InputTokens: e.tokens, MaxTokens: mt, OutputClipped: clipped}
}

// loadPromptFile reads and parses the prompt file at path; countTokens
// fills in the token counts.
func loadPromptFile(path string) ([]fileEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading prompt file: %w", err)
	}
	return parsePromptFile(path, data)
}

// parsePromptFile parses a prompt file's contents; name is used in errors,
// which read "name:line: problem".
func parsePromptFile(name string, data []byte) ([]fileEntry, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	var entries []fileEntry
	lineNo := 0
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		text, maxTokens, err := parsePromptLine(line)
		if err != nil {
			return nil, fmt.Errorf("prompt file %s:%d: %w", name, lineNo, err)
		}
		entries = append(entries, fileEntry{text: text, maxTokens: maxTokens})
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("prompt file %s has no prompts", name)
	}
	return entries, nil
}

// promptLine is the JSON shape of one prompt-file line.
type promptLine struct {
	Prompt    *string         `json:"prompt"`
	Text      *string         `json:"text"`
	Messages  []promptMessage `json:"messages"`
	MaxTokens *int            `json:"max_tokens"`
}

type promptMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentPart is an OpenAI chat content part.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// parsePromptLine parses one non-blank line of a prompt file into its
// prompt text and max_tokens (0 if absent). Its errors do not name the
// file or line; the caller adds them.
func parsePromptLine(line []byte) (text string, maxTokens int, err error) {
	if len(line) == 0 || line[0] != '{' {
		return "", 0, errors.New("not a JSON object (each line must be one {...} object)")
	}
	var pl promptLine
	if err := json.Unmarshal(line, &pl); err != nil {
		return "", 0, jsonProblem(err)
	}
	set := 0
	for _, ok := range []bool{pl.Prompt != nil, pl.Text != nil, pl.Messages != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set == 0:
		return "", 0, errors.New(`no "prompt", "text" or "messages" field`)
	case set > 1:
		return "", 0, errors.New(`more than one of "prompt", "text" and "messages"`)
	case pl.Prompt != nil:
		text = *pl.Prompt
	case pl.Text != nil:
		text = *pl.Text
	default:
		if text, err = flattenMessages(pl.Messages); err != nil {
			return "", 0, err
		}
	}
	if text == "" {
		return "", 0, errors.New("empty prompt")
	}
	if pl.MaxTokens != nil {
		if *pl.MaxTokens < 1 {
			return "", 0, fmt.Errorf("max_tokens must be at least 1 (got %d)", *pl.MaxTokens)
		}
		maxTokens = *pl.MaxTokens
	}
	return text, maxTokens, nil
}

// flattenMessages joins the contents of msgs with "\n\n".
func flattenMessages(msgs []promptMessage) (string, error) {
	if len(msgs) == 0 {
		return "", errors.New(`"messages" is empty`)
	}
	var parts []string
	for k, m := range msgs {
		c := bytes.TrimSpace(m.Content)
		switch {
		case len(c) == 0 || string(c) == "null":
			continue
		case c[0] == '"':
			var s string
			if err := json.Unmarshal(c, &s); err != nil {
				return "", jsonProblem(err)
			}
			if s != "" {
				parts = append(parts, s)
			}
		case c[0] == '[':
			var cps []contentPart
			if err := json.Unmarshal(c, &cps); err != nil {
				return "", fmt.Errorf("messages[%d].content: %w", k, jsonProblem(err))
			}
			for _, p := range cps {
				if p.Type != "" && p.Type != "text" {
					return "", fmt.Errorf("messages[%d].content has a %q part; only text is supported", k, p.Type)
				}
				if p.Text != "" {
					parts = append(parts, p.Text)
				}
			}
		default:
			return "", fmt.Errorf("messages[%d].content must be a string or an array of content parts", k)
		}
	}
	return strings.Join(parts, "\n\n"), nil
}

// jsonProblem rewords encoding/json errors for people writing prompt files.
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%q must be %s, not %s", field, jsonKind(te.Type), te.Value)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage
			return "JSON"
		}
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// countTokens fills in each entry's token count, using every CPU: a large
// prompt file takes a noticeable time to tokenize.
func countTokens(tok *Tokenizer, entries []fileEntry) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(entries)+15)/16) {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(len(entries)) {
					return
				}
				entries[k].tokens = tok.Count(entries[k].text)
			}
		})
	}
	wg.Wait()
}
