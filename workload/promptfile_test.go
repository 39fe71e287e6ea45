package workload

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to a file in a fresh directory and returns its
// path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prompts.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPromptFile(t *testing.T) {
	tok, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	content := "\xef\xbb\xbf" + // a byte-order mark, as some editors write
		`{"prompt": "What is the capital of France?", "max_tokens": 32}` + "\n" +
		"\n" + // blank lines are skipped
		`{"text": "Tell me a story.", "id": "ignored-field"}` + "\r\n" +
		`{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}]}` + "\n" +
		`{"messages": [{"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]}], "max_tokens": 7}` + "\n" +
		"   \n"
	path := writeFile(t, content)
	src := newTestSource(t, Options{PromptFile: path, MeanOutputTokens: 100, Seed: 1, Tokenizer: tok})
	want := []struct {
		text      string
		maxTokens int
	}{
		{"What is the capital of France?", 32}, // the line's max_tokens wins
		{"Tell me a story.", 100},
		{"Be brief.\n\nWhy is the sky blue?", 100},
		{"Part one.\n\nPart two.", 7},
	}
	for i := range int64(10) {
		w := want[i%4] // request i uses prompt i mod n
		p := src.Prompt(i)
		if p.Text != w.text || p.MaxTokens != w.maxTokens || p.InputTokens != tok.Count(w.text) {
			t.Errorf("Prompt(%d) = %+v, want %q with %d tokens and max_tokens %d", i, p, w.text, tok.Count(w.text), w.maxTokens)
		}
	}
	// Without an output mean, lines without max_tokens request none.
	src = newTestSource(t, Options{PromptFile: path})
	if got := src.Prompt(1).MaxTokens; got != 0 {
		t.Errorf("Prompt(1).MaxTokens = %d, want 0", got)
	}
	if got := src.Prompt(-1).Text; got != want[3].text { // defensive: negative i wraps
		t.Errorf("Prompt(-1).Text = %q, want %q", got, want[3].text)
	}
}

func TestPromptFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // the error, after "prompt file PATH"
	}{
		{"empty file", "", " has no prompts"},
		{"blank lines only", "\n  \n\r\n", " has no prompts"},
		{"bad JSON on line 3", `{"prompt": "a"}` + "\n\n" + `{"prompt": "b",}` + "\n",
			":3: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"not an object", `"just a string"`, ":1: not a JSON object (each line must be one {...} object)"},
		{"trailing garbage", `{"prompt": "a"} x`, ":1: invalid JSON: invalid character 'x' after top-level value"},
		{"missing prompt", `{"prompt": "a"}` + "\n" + `{"max_tokens": 5}`, `:2: no "prompt", "text" or "messages" field`},
		{"two fields", `{"prompt": "a", "text": "b"}`, `:1: more than one of "prompt", "text" and "messages"`},
		{"empty prompt", `{"prompt": ""}`, ":1: empty prompt"},
		{"prompt not a string", `{"prompt": 5}`, `:1: "prompt" must be a string, not number`},
		{"max_tokens not a number", `{"prompt": "a", "max_tokens": "5"}`, `:1: "max_tokens" must be an integer, not string`},
		{"max_tokens zero", `{"prompt": "a", "max_tokens": 0}`, ":1: max_tokens must be at least 1 (got 0)"},
		{"empty messages", `{"messages": []}`, `:1: "messages" is empty`},
		{"empty message contents", `{"messages": [{"role": "user", "content": ""}]}`, ":1: empty prompt"},
		{"image part", `{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}`,
			`:1: messages[0].content has a "image_url" part; only text is supported`},
		{"content a number", `{"messages": [{"role": "user", "content": 3}]}`,
			":1: messages[0].content must be a string or an array of content parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			_, err := NewSource(Options{PromptFile: path})
			if want := "prompt file " + path + tt.want; err == nil || err.Error() != want {
				t.Fatalf("NewSource() error = %v\nwant %s", err, want)
			}
		})
	}
}

func TestPromptFileUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.jsonl")
	_, err := NewSource(Options{PromptFile: path})
	if err == nil || !strings.HasPrefix(err.Error(), "reading prompt file: ") || !strings.Contains(err.Error(), path) ||
		!errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewSource() error = %v, want a not-exist error naming %s", err, path)
	}
	if _, err := NewSource(Options{PromptFile: t.TempDir()}); err == nil || !strings.HasPrefix(err.Error(), "reading prompt file: ") {
		t.Fatalf("NewSource(directory) error = %v, want a read error", err)
	}
}

func FuzzParsePromptLine(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "hello", "max_tokens": 12}`,
		`{"text": "hello"}`,
		`{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]}`,
		`{"prompt": 1}`,
		`{"prompt": "a", "max_tokens": -1}`,
		`{"messages": null, "prompt": "\ud800"}`,
		`[]`,
		`{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		text, maxTokens, err := parsePromptLine(line)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if text == "" || maxTokens < 0 {
			t.Fatalf("parsePromptLine(%q) = %q, %d, nil", line, text, maxTokens)
		}
		// What parsed writes back as a "prompt" line and parses the same.
		obj := map[string]any{"prompt": text}
		if maxTokens > 0 {
			obj["max_tokens"] = maxTokens
		}
		again, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		text2, maxTokens2, err := parsePromptLine(again)
		if err != nil || text2 != text || maxTokens2 != maxTokens {
			t.Fatalf("round trip of %q: %q, %d, %v", line, text2, maxTokens2, err)
		}
	})
}
