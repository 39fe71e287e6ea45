package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
)

// Dataset formats (DatasetOptions.Format).
const (
	FormatAuto     = "auto"
	FormatShareGPT = "sharegpt" // [{"conversations": [{"from": "human", "value": ...}, ...]}, ...]
	FormatChat     = "chat"     // JSONL of {"messages": [{"role": ..., "content": ...}, ...]}
	FormatJSONL    = "jsonl"    // a prompt file (docs/workload.md, "Prompt files")
	FormatCSV      = "csv"      // a header row, then one prompt per row
)

// Dataset sampling (DatasetOptions.Sample) and output lengths
// (DatasetOptions.OutputLengths).
const (
	SampleRandom     = "random"
	SampleSequential = "sequential"
	LengthsDataset   = "dataset"
	LengthsFixed     = "fixed"
	LengthsNormal    = "normal"
)

// DatasetOptions configures a dataset prompt source (NewDataset).
type DatasetOptions struct {
	// Path is the dataset file; Format its format ("" or FormatAuto:
	// detected from the content).
	Path, Format string
	// Sample is SampleRandom ("": the default) or SampleSequential (file
	// order, cycling). Random sampling is without replacement (every kept
	// row once, in a shuffled order, then a new shuffle) unless Replace.
	Sample  string
	Replace bool
	// OutputLengths is where max_tokens comes from: LengthsDataset ("":
	// the token count of the answer the row records, or the distribution
	// below for a row that records none), LengthsFixed (MeanOutputTokens)
	// or LengthsNormal (Normal(MeanOutputTokens, StddevOutputTokens)).
	OutputLengths                        string
	MeanOutputTokens, StddevOutputTokens int
	// Length filters on a row's first turn, tokens (0: no limit): its user
	// message (MinInputTokens, MaxInputTokens) and its recorded answer
	// (MinOutputTokens, MaxOutputTokens; a row without an answer is dropped
	// when either is set).
	MinInputTokens, MaxInputTokens, MinOutputTokens, MaxOutputTokens int
	// Seed seeds random sampling and drawn output lengths.
	Seed uint64
	// Tokenizer counts tokens; nil: DefaultTokenizer.
	Tokenizer *Tokenizer
	// SystemPrompt is sent with rows that carry no system message of
	// their own.
	SystemPrompt string
}

// DatasetStats tells what a dataset held and what the filters kept.
type DatasetStats struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	// Rows counts the rows (conversations) read; Kept those used.
	Rows int `json:"rows"`
	Kept int `json:"kept"`
	// Dropped counts the rows left out, by reason: "empty" (no user
	// message), "input_too_short", "input_too_long", "output_too_short",
	// "output_too_long", "no_output" (an output filter is set and the row
	// records no answer).
	Dropped map[string]int `json:"dropped,omitempty"`
	// Turns describes the user turns per kept row: the most a multi-turn
	// run can send of a conversation.
	MaxTurns  int     `json:"max_turns"`
	MeanTurns float64 `json:"mean_turns"`
}

// convTurn is one user turn of a dataset row and the answer it records.
type convTurn struct {
	user         string
	userTokens   int
	answer       string
	answerTokens int // 0: no answer recorded
	hasAnswer    bool
}

// convRow is one row of a dataset: a conversation.
type convRow struct {
	line   int // where the row starts in the file, for errors
	system string
	turns  []convTurn
}

// Dataset is a prompt source read from a dataset file. As a Source, request
// i sends the first user turn of the row sampled for i; as Conversations,
// its rows are multi-turn sessions. It is safe for concurrent use.
type Dataset struct {
	rows      []convRow
	opts      DatasetOptions
	out       lengthDist
	sysTokens map[string]int
	stats     DatasetStats
	perms     sync.Map // epoch → []int, for random sampling without replacement
}

var (
	_ Source        = (*Dataset)(nil)
	_ Conversations = (*Dataset)(nil)
)

// Validate checks o without reading the file; its errors name the flags.
func (o DatasetOptions) Validate() error {
	switch o.Format {
	case "", FormatAuto, FormatShareGPT, FormatChat, FormatJSONL, FormatCSV:
	default:
		return fmt.Errorf("--dataset-format %q is not known (known: auto, sharegpt, chat, jsonl, csv)", o.Format)
	}
	switch o.Sample {
	case "", SampleRandom, SampleSequential:
	default:
		return fmt.Errorf("--dataset-sample %q is not known (known: random, sequential)", o.Sample)
	}
	switch o.OutputLengths {
	case "", LengthsDataset:
	case LengthsFixed, LengthsNormal:
		if o.MeanOutputTokens <= 0 {
			return fmt.Errorf("--dataset-output-lengths %s needs --mean-output-tokens", o.OutputLengths)
		}
	default:
		return fmt.Errorf("--dataset-output-lengths %q is not known (known: dataset, fixed, normal)", o.OutputLengths)
	}
	for _, v := range []int{o.MinInputTokens, o.MaxInputTokens, o.MinOutputTokens, o.MaxOutputTokens, o.MeanOutputTokens} {
		if v < 0 {
			return errors.New("dataset length limits must not be negative")
		}
	}
	return nil
}

// NewDataset reads, parses, tokenizes and filters the dataset file. Its
// errors name the file and the line of a bad row; a dataset that keeps no
// row is an error that says how many each filter dropped.
func NewDataset(o DatasetOptions) (*Dataset, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(o.Path)
	if err != nil {
		return nil, fmt.Errorf("reading dataset: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	format := o.Format
	if format == "" || format == FormatAuto {
		format = detectFormat(data)
	}
	var rows []convRow
	switch format {
	case FormatShareGPT:
		rows, err = parseShareGPT(data)
	case FormatChat:
		rows, err = parseChatJSONL(data)
	case FormatJSONL:
		rows, err = parsePromptRows(data)
	case FormatCSV:
		rows, err = parseCSV(data)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s%w", o.Path, err)
	}
	tok := o.Tokenizer
	if tok == nil {
		if tok, err = NewTokenizer(""); err != nil {
			return nil, err
		}
	}
	d := &Dataset{opts: o, stats: DatasetStats{Path: o.Path, Format: format, Rows: len(rows), Dropped: map[string]int{}}}
	d.out = newLengthDist(o.MeanOutputTokens, o.StddevOutputTokens)
	if o.OutputLengths == LengthsFixed {
		d.out = newLengthDist(o.MeanOutputTokens, 0)
	}
	countRows(tok, rows)
	turns := 0
	for _, r := range rows {
		if why := d.drop(&r); why != "" {
			d.stats.Dropped[why]++
			continue
		}
		d.rows = append(d.rows, r)
		turns += len(r.turns)
		d.stats.MaxTurns = max(d.stats.MaxTurns, len(r.turns))
	}
	d.stats.Kept = len(d.rows)
	if len(d.stats.Dropped) == 0 {
		d.stats.Dropped = nil
	}
	if d.stats.Kept == 0 {
		return nil, fmt.Errorf("dataset %s: no row left of %d (%s)", o.Path, len(rows), d.DroppedText())
	}
	d.stats.MeanTurns = float64(turns) / float64(len(d.rows))
	d.sysTokens = map[string]int{o.SystemPrompt: tok.Count(o.SystemPrompt)}
	for _, r := range d.rows {
		if _, ok := d.sysTokens[r.system]; !ok {
			d.sysTokens[r.system] = tok.Count(r.system)
		}
	}
	return d, nil
}

// drop tells why row r is left out, "" if it is kept.
func (d *Dataset) drop(r *convRow) string {
	o := &d.opts
	if len(r.turns) == 0 {
		return "empty"
	}
	t := &r.turns[0]
	switch {
	case o.MinInputTokens > 0 && t.userTokens < o.MinInputTokens:
		return "input_too_short"
	case o.MaxInputTokens > 0 && t.userTokens > o.MaxInputTokens:
		return "input_too_long"
	case (o.MinOutputTokens > 0 || o.MaxOutputTokens > 0) && !t.hasAnswer:
		return "no_output"
	case o.MinOutputTokens > 0 && t.answerTokens < o.MinOutputTokens:
		return "output_too_short"
	case o.MaxOutputTokens > 0 && t.answerTokens > o.MaxOutputTokens:
		return "output_too_long"
	}
	return ""
}

// Stats returns what the dataset held and what the filters kept.
func (d *Dataset) Stats() DatasetStats { return d.stats }

// DroppedText describes the dropped rows in words: "3 empty, 10
// input_too_long", or "none dropped".
func (d *Dataset) DroppedText() string {
	if len(d.stats.Dropped) == 0 {
		return "none dropped"
	}
	var b bytes.Buffer
	for _, k := range []string{"empty", "input_too_short", "input_too_long", "no_output", "output_too_short", "output_too_long"} {
		if n := d.stats.Dropped[k]; n > 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d %s", n, k)
		}
	}
	return b.String() + " dropped"
}

// streamSample keys random row picks.
const streamSample uint64 = 0x73616d706c652d31 // "sample-1"

// row returns the index of the row used by request (or session) i.
func (d *Dataset) row(i int64) int {
	n := int64(len(d.rows))
	switch {
	case d.opts.Sample == SampleSequential:
		return int((i%n + n) % n)
	case d.opts.Replace:
		return int(mix64(mix64(d.opts.Seed^streamSample)^uint64(i)) % uint64(n))
	}
	if i < 0 {
		i = -i
	}
	epoch, pos := i/n, i%n
	p, ok := d.perms.Load(epoch)
	if !ok {
		r := rand.New(rand.NewPCG(mix64(d.opts.Seed^streamSample), mix64(uint64(epoch))))
		p, _ = d.perms.LoadOrStore(epoch, r.Perm(int(n)))
	}
	return p.([]int)[pos]
}

// maxTokens is the max_tokens of a turn: its recorded answer's length
// (LengthsDataset, when recorded), else drawn for index i.
func (d *Dataset) maxTokens(t *convTurn, i int64) (int, bool) {
	if (d.opts.OutputLengths == "" || d.opts.OutputLengths == LengthsDataset) && t.hasAnswer && t.answerTokens > 0 {
		return t.answerTokens, false
	}
	return d.out.forRequest(d.opts.Seed, i)
}

// system is a row's system prompt and its tokens.
func (d *Dataset) system(r *convRow) (string, int) {
	s := r.system
	if s == "" {
		s = d.opts.SystemPrompt
	}
	return s, d.sysTokens[s]
}

// Prompt returns request i's prompt: the first user turn of its row.
func (d *Dataset) Prompt(i int64) Prompt {
	r := &d.rows[d.row(i)]
	t := &r.turns[0]
	mt, clipped := d.maxTokens(t, i)
	sys, sysTokens := d.system(r)
	return Prompt{Text: t.user, InputTokens: t.userTokens, MaxTokens: mt, OutputClipped: clipped, System: sys, SystemTokens: sysTokens}
}

// Sessions returns the dataset's rows as sessions of at most turns user
// turns; session i uses the row sampled for first+i (first: the warm-up
// requests, so sessions continue the sampling order after them).
func (d *Dataset) Sessions(turns int, first int64) SessionSource {
	return &datasetSessions{d: d, turns: turns, first: first}
}

type datasetSessions struct {
	d     *Dataset
	turns int
	first int64
}

func (s *datasetSessions) Session(i int64) Session {
	d := s.d
	r := &d.rows[d.row(s.first+i)]
	sys, sysTokens := d.system(r)
	out := Session{System: sys, SystemTokens: sysTokens, Turns: make([]Turn, 0, min(s.turns, len(r.turns)))}
	for k := range min(s.turns, len(r.turns)) {
		t := &r.turns[k]
		mt, clipped := d.maxTokens(t, SessionBase+(s.first+i)*int64(s.turns)+int64(k))
		out.Turns = append(out.Turns, Turn{Text: t.user, Tokens: t.userTokens, MaxTokens: mt, OutputClipped: clipped})
	}
	return out
}

// detectFormat guesses a dataset's format from its content: a JSON array
// is ShareGPT; JSON lines with "conversations" ShareGPT too, with
// "messages" chat, otherwise a prompt file; anything else CSV.
func detectFormat(data []byte) string {
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return FormatJSONL // and its "no prompts" error
	case t[0] == '[':
		return FormatShareGPT
	case t[0] == '{':
		first, _, _ := bytes.Cut(t, []byte("\n"))
		var probe map[string]json.RawMessage
		if json.Unmarshal(first, &probe) == nil {
			if _, ok := probe["conversations"]; ok {
				return FormatShareGPT
			}
			if _, ok := probe["messages"]; ok {
				return FormatChat
			}
		}
		return FormatJSONL
	}
	return FormatCSV
}
