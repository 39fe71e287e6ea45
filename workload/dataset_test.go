package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDataset(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const shareGPTSample = `[
 {"id": "a", "conversations": [
   {"from": "human", "value": "What is a hash table?"},
   {"from": "gpt", "value": "A map from keys to values with constant-time lookups on average."},
   {"from": "human", "value": "Give an example."},
   {"from": "gpt", "value": "A phone book."}]},
 {"id": "b", "conversations": [
   {"from": "gpt", "value": "Hello! How can I help?"},
   {"from": "human", "value": "Explain tides."},
   {"from": "gpt", "value": "The moon pulls the oceans."}]},
 {"id": "c", "conversations": []},
 {"id": "d", "conversations": [{"from": "human", "value": "No answer here."}]}
]`

// TestDatasetFormats: every format is detected from its content and read
// into the same rows: the first user turn is the prompt, the following
// answer's token count its max_tokens; leading answers are skipped and
// empty conversations dropped (and counted).
func TestDatasetFormats(t *testing.T) {
	tok, _ := NewTokenizer("")
	for _, c := range []struct {
		name, content, format string
		rows, kept            int
	}{
		{"sg.json", shareGPTSample, FormatShareGPT, 4, 3},
		{"sg.jsonl", `{"conversations": [{"from": "human", "value": "What is a hash table?"}, {"from": "gpt", "value": "A map from keys to values with constant-time lookups on average."}]}` + "\n", FormatShareGPT, 1, 1},
		{"chat.jsonl", `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a hash table?"}, {"role": "assistant", "content": "A map from keys to values with constant-time lookups on average."}, {"role": "user", "content": "Give an example."}, {"role": "assistant", "content": "A phone book."}]}` + "\n", FormatChat, 1, 1},
		{"p.jsonl", `{"prompt": "What is a hash table?", "max_tokens": 14}` + "\n", FormatJSONL, 1, 1},
		{"qa.csv", "id,Prompt,response\n1,What is a hash table?,\"A map from keys to values with constant-time lookups on average.\"\n2,,\n", FormatCSV, 2, 1},
	} {
		d, err := NewDataset(DatasetOptions{Path: writeDataset(t, c.name, c.content), Sample: SampleSequential, Tokenizer: tok})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		st := d.Stats()
		if st.Format != c.format || st.Rows != c.rows || st.Kept != c.kept {
			t.Errorf("%s: stats %+v, want format %s, %d rows, %d kept", c.name, st, c.format, c.rows, c.kept)
		}
		p := d.Prompt(0)
		answer := tok.Count("A map from keys to values with constant-time lookups on average.")
		if p.Text != "What is a hash table?" || p.InputTokens != tok.Count(p.Text) || p.MaxTokens != answer {
			t.Errorf("%s: prompt %+v, want the first question and max_tokens %d", c.name, p, answer)
		}
	}
	// The chat row's system message is the prompt's system prompt; its
	// second turn is a session turn.
	d, _ := NewDataset(DatasetOptions{Path: writeDataset(t, "c.jsonl", `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A one"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A two two"}]}`), Tokenizer: tok})
	if p := d.Prompt(0); p.System != "Be brief." {
		t.Errorf("system %q", p.System)
	}
	s := d.Sessions(5, 0).Session(0)
	if len(s.Turns) != 2 || s.Turns[1].Text != "Q2" || s.Turns[1].MaxTokens != tok.Count("A two two") || s.System != "Be brief." {
		t.Errorf("session %+v", s)
	}
	if s := d.Sessions(1, 0).Session(0); len(s.Turns) != 1 {
		t.Errorf("--turns 1 gave %d turns", len(s.Turns))
	}
	// Tool calls are left out: the assistant's call (no text) and the
	// tool's result vanish, and the turn's answer is the final text.
	td, err := NewDataset(DatasetOptions{Path: writeDataset(t, "t.jsonl", `{"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "1"}]}, {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "It is sunny."}]}`), Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	if s := td.Sessions(3, 0).Session(0); len(s.Turns) != 1 || s.Turns[0].Text != "Weather?" || s.Turns[0].MaxTokens != tok.Count("It is sunny.") {
		t.Errorf("tool calls: %+v", s)
	}
	// ShareGPT: a conversation opening with an answer starts at the
	// question; the drop reasons are counted.
	d, _ = NewDataset(DatasetOptions{Path: writeDataset(t, "sg.json", shareGPTSample), Sample: SampleSequential, Tokenizer: tok})
	if p := d.Prompt(1); p.Text != "Explain tides." {
		t.Errorf("row b: %q", p.Text)
	}
	if got := d.Stats().Dropped["empty"]; got != 1 {
		t.Errorf("dropped %v, want 1 empty", d.Stats().Dropped)
	}
}

// TestDatasetErrors: bad rows are reported with the file and line.
func TestDatasetErrors(t *testing.T) {
	for _, c := range []struct {
		name, content, want string
	}{
		{"a.json", "[\n {\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}]},\n {\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}\n]", `a.json:3: conversation 2: conversations[0]: speaker "robot" is not known`},
		{"b.json", "[\n {\"id\": 1}\n]", `b.json:2: conversation 1: no "conversations" field`},
		{"c.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n\n{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n", `c.jsonl:3: messages[0]: role "robot" is not known`},
		{"d.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n{\"messages\": [\n", `d.jsonl:2: invalid JSON`},
		{"e.csv", "question,max_tokens\nhi,12\nho,many\n", `e.csv:3: max_tokens "many" is not a whole number`},
		{"f.csv", "a,b\n1,2\n", `f.csv:1: no prompt column`},
		{"g.csv", "prompt,answer\n\"open,x\n", `g.csv:2:`},
		{"h.json", "[]", `h.json has no rows`},
	} {
		_, err := NewDataset(DatasetOptions{Path: writeDataset(t, c.name, c.content)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Forcing a format that does not fit is an error too.
	if _, err := NewDataset(DatasetOptions{Path: writeDataset(t, "x.jsonl", `{"prompt": "hi"}`), Format: FormatChat}); err == nil || !strings.Contains(err.Error(), `x.jsonl:1: no "messages" field`) {
		t.Errorf("forced chat: %v", err)
	}
}

// TestDatasetSamplingAndFilters: random sampling without replacement uses
// every kept row once per pass; with replacement it repeats; sequential
// follows the file; the filters drop and count rows; output lengths come
// from the rows, a fixed value or a distribution.
func TestDatasetSamplingAndFilters(t *testing.T) {
	var b strings.Builder
	b.WriteString("prompt,response\n")
	for k := range 50 {
		b.WriteString(strings.Repeat("word ", k+1) + "?," + strings.Repeat("yes ", 50-k) + "\n")
	}
	path := writeDataset(t, "rows.csv", b.String())
	tok, _ := NewTokenizer("")
	open := func(o DatasetOptions) *Dataset {
		o.Path, o.Tokenizer, o.Seed = path, tok, 3
		d, err := NewDataset(o)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open(DatasetOptions{})
	for pass := range 3 {
		seen := map[string]bool{}
		for i := range 50 {
			seen[d.Prompt(int64(pass*50+i)).Text] = true
		}
		if len(seen) != 50 {
			t.Errorf("pass %d without replacement: %d distinct rows of 50", pass, len(seen))
		}
	}
	if d.Prompt(0).Text == d.Prompt(50).Text && d.Prompt(1).Text == d.Prompt(51).Text {
		t.Error("each pass has the same order")
	}
	r := open(DatasetOptions{Replace: true})
	seen := map[string]bool{}
	for i := range 50 {
		seen[r.Prompt(int64(i)).Text] = true
	}
	if len(seen) > 45 || r.Prompt(7).Text != open(DatasetOptions{Replace: true}).Prompt(7).Text {
		t.Errorf("with replacement: %d distinct of 50 draws, or not reproducible", len(seen))
	}
	s := open(DatasetOptions{Sample: SampleSequential})
	if s.Prompt(0).InputTokens > s.Prompt(1).InputTokens || s.Prompt(50).Text != s.Prompt(0).Text {
		t.Error("sequential sampling does not follow the file")
	}
	f := open(DatasetOptions{MinInputTokens: 11, MaxInputTokens: 40, MaxOutputTokens: 30})
	st := f.Stats()
	if st.Kept+st.Dropped["input_too_short"]+st.Dropped["input_too_long"]+st.Dropped["output_too_long"] != 50 || st.Kept == 0 || st.Kept == 50 {
		t.Fatalf("filters: %+v", st)
	}
	for i := range 100 {
		p := f.Prompt(int64(i))
		if p.InputTokens < 11 || p.InputTokens > 40 || p.MaxTokens > 30 {
			t.Fatalf("a filtered row was sent: %+v", p)
		}
	}
	if _, err := NewDataset(DatasetOptions{Path: path, MinInputTokens: 1000}); err == nil || !strings.Contains(err.Error(), "50 input_too_short dropped") {
		t.Errorf("nothing kept: %v", err)
	}
	fixed := open(DatasetOptions{OutputLengths: LengthsFixed, MeanOutputTokens: 64, StddevOutputTokens: 10})
	normal := open(DatasetOptions{OutputLengths: LengthsNormal, MeanOutputTokens: 64, StddevOutputTokens: 10})
	spread := map[int]bool{}
	for i := range 40 {
		if p := fixed.Prompt(int64(i)); p.MaxTokens != 64 {
			t.Fatalf("fixed: max_tokens %d", p.MaxTokens)
		}
		spread[normal.Prompt(int64(i)).MaxTokens] = true
	}
	if len(spread) < 10 {
		t.Errorf("normal: only %d distinct max_tokens in 40", len(spread))
	}
}

// TestExampleDatasets: the datasets the repository ships load, keep every
// row and hold multi-turn conversations.
func TestExampleDatasets(t *testing.T) {
	for _, c := range []struct {
		file   string
		format string
		rows   int
	}{
		{"sharegpt-sample.json", FormatShareGPT, 120},
		{"chat-sample.jsonl", FormatChat, 60},
		{"qa-sample.csv", FormatCSV, 40},
	} {
		d, err := NewDataset(DatasetOptions{Path: filepath.Join("..", "examples", "datasets", c.file)})
		if err != nil {
			t.Fatal(err)
		}
		st := d.Stats()
		if st.Format != c.format || st.Rows != c.rows || st.Kept != c.rows {
			t.Errorf("%s: %+v", c.file, st)
		}
		if c.format != FormatCSV && st.MaxTurns < 3 {
			t.Errorf("%s: at most %d turns per conversation", c.file, st.MaxTurns)
		}
	}
}
