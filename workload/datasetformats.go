package workload

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The parsers return rows, or an error that reads after the file's name:
// ":LINE: problem", or " has no rows".

// roleText is one message of a conversation, its role normalized to
// system, user or assistant.
type roleText struct {
	role, text string
}

// buildTurns folds a conversation's messages into user turns, each with
// the answer that follows it. Leading answers (before any user message)
// are skipped; consecutive messages of one role are joined by a blank
// line; system messages before the first turn become the row's system
// prompt (later ones are an error).
func buildTurns(msgs []roleText) (convRow, error) {
	var r convRow
	for k, m := range msgs {
		if strings.TrimSpace(m.text) == "" {
			continue
		}
		n := len(r.turns)
		switch m.role {
		case "system":
			if n > 0 {
				return r, fmt.Errorf("message %d: a system message after the conversation started is not supported", k+1)
			}
			r.system = joinText(r.system, m.text)
		case "user":
			if n > 0 && !r.turns[n-1].hasAnswer {
				r.turns[n-1].user = joinText(r.turns[n-1].user, m.text)
				continue
			}
			r.turns = append(r.turns, convTurn{user: m.text})
		case "assistant":
			if n == 0 {
				continue
			}
			t := &r.turns[n-1]
			t.answer, t.hasAnswer = joinText(t.answer, m.text), true
		}
	}
	return r, nil
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}

// shareGPTRow is one conversation of a ShareGPT file.
type shareGPTRow struct {
	Conversations *[]struct {
		From  string `json:"from"`
		Value string `json:"value"`
	} `json:"conversations"`
}

// shareGPTRole maps ShareGPT speakers to roles.
func shareGPTRole(from string) (string, bool) {
	switch strings.ToLower(from) {
	case "human", "user":
		return "user", true
	case "gpt", "assistant", "chatgpt", "bard", "bing", "model":
		return "assistant", true
	case "system":
		return "system", true
	}
	return "", false
}

func (sr *shareGPTRow) row() (convRow, error) {
	if sr.Conversations == nil {
		return convRow{}, errors.New(`no "conversations" field (ShareGPT rows are {"conversations": [{"from": "human", "value": "..."}, ...]})`)
	}
	msgs := make([]roleText, 0, len(*sr.Conversations))
	for k, c := range *sr.Conversations {
		role, ok := shareGPTRole(c.From)
		if !ok {
			return convRow{}, fmt.Errorf("conversations[%d]: speaker %q is not known (known: human, gpt, system; user, assistant)", k, c.From)
		}
		msgs = append(msgs, roleText{role, c.Value})
	}
	return buildTurns(msgs)
}

// parseShareGPT parses a ShareGPT JSON array, or JSON lines of ShareGPT
// objects.
func parseShareGPT(data []byte) ([]convRow, error) {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '{' {
		return parseLines(data, func(line []byte) (convRow, error) {
			var sr shareGPTRow
			if err := json.Unmarshal(line, &sr); err != nil {
				return convRow{}, jsonProblem(err)
			}
			return sr.row()
		})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int {
		// The line of the first non-space byte at or after off.
		for off < int64(len(data)) && (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n' || data[off] == ',') {
			off++
		}
		return 1 + bytes.Count(data[:min(off, int64(len(data)))], []byte("\n"))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf(":1: not a JSON array of ShareGPT conversations")
	}
	var rows []convRow
	for k := 0; dec.More(); k++ {
		line := lineAt(dec.InputOffset())
		var sr shareGPTRow
		if err := dec.Decode(&sr); err != nil {
			return nil, fmt.Errorf(":%d: conversation %d: %w", line, k+1, jsonProblem(err))
		}
		r, err := sr.row()
		if err != nil {
			return nil, fmt.Errorf(":%d: conversation %d: %w", line, k+1, err)
		}
		r.line = line
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, errors.New(" has no rows")
	}
	return rows, nil
}

// parseLines parses JSON lines with one, skipping blank lines.
func parseLines(data []byte, one func([]byte) (convRow, error)) ([]convRow, error) {
	var rows []convRow
	lineNo := 0
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			return nil, fmt.Errorf(":%d: not a JSON object (each line must be one {...} object)", lineNo)
		}
		r, err := one(line)
		if err != nil {
			return nil, fmt.Errorf(":%d: %w", lineNo, err)
		}
		r.line = lineNo
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, errors.New(" has no rows")
	}
	return rows, nil
}

// parseChatJSONL parses OpenAI chat JSONL: {"messages": [...]} per line.
func parseChatJSONL(data []byte) ([]convRow, error) {
	return parseLines(data, func(line []byte) (convRow, error) {
		var pl struct {
			Messages *[]promptMessage `json:"messages"`
		}
		if err := json.Unmarshal(line, &pl); err != nil {
			return convRow{}, jsonProblem(err)
		}
		if pl.Messages == nil {
			return convRow{}, errors.New(`no "messages" field`)
		}
		msgs := make([]roleText, 0, len(*pl.Messages))
		for k, m := range *pl.Messages {
			role := m.Role
			switch role {
			case "developer":
				role = "system"
			case "system", "user", "assistant":
			case "tool", "function":
				continue // replayed without its tool calls: there is no tool to answer them
			default:
				return convRow{}, fmt.Errorf("messages[%d]: role %q is not known (system, developer, user, assistant, tool)", k, m.Role)
			}
			text, err := flattenMessages([]promptMessage{m})
			if err != nil && len(bytes.TrimSpace(m.Content)) > 0 && string(bytes.TrimSpace(m.Content)) != "null" {
				return convRow{}, fmt.Errorf("messages[%d]: %w", k, err)
			}
			msgs = append(msgs, roleText{role, text})
		}
		return buildTurns(msgs)
	})
}

// parsePromptRows parses a prompt file (docs/workload.md): one
// single-turn row per line, its max_tokens the recorded output length.
func parsePromptRows(data []byte) ([]convRow, error) {
	return parseLines(data, func(line []byte) (convRow, error) {
		text, maxTokens, err := parsePromptLine(line)
		if err != nil {
			return convRow{}, err
		}
		return convRow{turns: []convTurn{{user: text, answerTokens: maxTokens, hasAnswer: maxTokens > 0}}}, nil
	})
}

// CSV column names, lower-case.
var (
	csvPrompt = []string{"prompt", "text", "question", "input", "instruction"}
	csvAnswer = []string{"answer", "response", "completion", "output"}
	csvLength = []string{"max_tokens", "output_tokens"}
	csvSystem = []string{"system", "system_prompt"}
)

// parseCSV parses a CSV file with a header row: a prompt column, and
// optionally an answer column (its token count is the output length), an
// output-length column and a system column.
func parseCSV(data []byte) ([]convRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, csvProblem(err, 1)
	}
	col := func(names []string) int {
		for k, h := range header {
			h = strings.ToLower(strings.TrimSpace(h))
			for _, n := range names {
				if h == n {
					return k
				}
			}
		}
		return -1
	}
	cp, ca, cl, cs := col(csvPrompt), col(csvAnswer), col(csvLength), col(csvSystem)
	if cp < 0 {
		return nil, fmt.Errorf(":1: no prompt column in the header (name one %s)", strings.Join(csvPrompt, ", "))
	}
	var rows []convRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvProblem(err, 0)
		}
		line, _ := r.FieldPos(0)
		t := convTurn{user: rec[cp]}
		if strings.TrimSpace(t.user) == "" {
			rows = append(rows, convRow{line: line}) // dropped as empty
			continue
		}
		if ca >= 0 && rec[ca] != "" {
			t.answer, t.hasAnswer = rec[ca], true
		}
		if cl >= 0 && strings.TrimSpace(rec[cl]) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(rec[cl]))
			if err != nil || n < 1 {
				return nil, fmt.Errorf(":%d: %s %q is not a whole number ≥ 1", line, header[cl], rec[cl])
			}
			t.answerTokens, t.hasAnswer, t.answer = n, true, ""
		}
		row := convRow{line: line, turns: []convTurn{t}}
		if cs >= 0 {
			row.system = rec[cs]
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New(" has no rows")
	}
	return rows, nil
}

// csvProblem turns a csv error into ":LINE: problem".
func csvProblem(err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf(":%d: %v", pe.Line, pe.Err)
	}
	if err == io.EOF {
		return errors.New(" has no rows")
	}
	return fmt.Errorf(":%d: %w", line, err)
}

// countRows counts the tokens of every user message and recorded answer
// text, on every CPU.
func countRows(tok *Tokenizer, rows []convRow) {
	type job struct {
		s   *string
		dst *int
	}
	var jobs []job
	for i := range rows {
		for k := range rows[i].turns {
			t := &rows[i].turns[k]
			jobs = append(jobs, job{&t.user, &t.userTokens})
			if t.answer != "" {
				jobs = append(jobs, job{&t.answer, &t.answerTokens})
			}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(jobs)+15)/16) {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(len(jobs)) {
					return
				}
				*jobs[k].dst = tok.Count(*jobs[k].s)
			}
		})
	}
	wg.Wait()
}
