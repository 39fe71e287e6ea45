// Command gendatasets writes the small example datasets of
// examples/datasets/: made-up conversations about everyday technical
// topics, built from templates in this file (no copied text), in the
// formats llmload reads: ShareGPT JSON, OpenAI chat JSONL and CSV. The
// output is deterministic; rerun it after changing the templates:
//
//	go run ./tools/gendatasets -o examples/datasets
//
// It is a tool: nothing in the library imports it.
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

var topics = []string{
	"binary search", "compound interest", "photosynthesis", "a TCP handshake", "garbage collection",
	"sourdough starters", "solar panels", "vaccines", "public-key cryptography", "hash tables",
	"a heat pump", "DNS resolution", "an index fund", "composting", "a bicycle gear system",
	"load balancing", "a refrigerator", "rainbows", "database transactions", "the water cycle",
	"container images", "caching", "noise-cancelling headphones", "a mortgage", "tides",
	"unit testing", "an electric motor", "git branches", "spaced repetition", "wind turbines",
	"a pressure cooker", "rate limiting", "GPS", "version control", "a thermostat",
	"crop rotation", "matrix multiplication", "HTTP cookies", "batteries", "time zones",
}

var asks = []string{
	"Can you explain how %s works?",
	"I keep hearing about %s. What is it, in plain words?",
	"Explain %s to a new colleague who has never met it.",
	"What are the main ideas behind %s?",
	"Give me a short overview of %s and where it is used.",
	"Why does %s matter, and what goes wrong when people misunderstand it?",
}

var followUps = []string{
	"Can you give a concrete example?",
	"How would you explain that to a ten-year-old?",
	"What is the most common mistake people make with it?",
	"Summarize that in two sentences.",
	"How does that compare with the alternatives?",
	"What should I read or try next to learn more?",
	"Thanks. Could you list the key terms with one-line definitions?",
}

var sentences = []string{
	"At its core, %s is a way of turning a hard problem into a sequence of small, predictable steps.",
	"The first thing to notice about %s is that it trades a little effort up front for a lot of convenience later.",
	"A useful mental model for %s is a queue of small tasks, each of which only needs to know about its neighbours.",
	"Most explanations of %s skip the part where things fail, but that is where the design decisions show.",
	"In practice, %s is rarely used on its own; it sits inside a larger system that feeds it inputs and consumes its outputs.",
	"People often overestimate how complicated %s is, because the vocabulary around it sounds more technical than the idea.",
	"If you measure %s carefully, you find that the average case is easy and the tail is where the cost hides.",
	"A simple example of %s is something you probably did today without noticing.",
	"The trade-off with %s is between speed and safety, and different situations call for different balances.",
	"Historically, %s became popular once the tools around it became cheap enough for everyday use.",
	"One way to check your understanding of %s is to predict what happens when one of its inputs doubles.",
	"The key terms are the input, the rule that transforms it, and the state that is carried from one step to the next.",
	"When %s goes wrong, the symptoms usually appear far from the cause, which makes debugging slow.",
	"For a beginner, the best way to learn %s is to try a tiny version by hand before reading the theory.",
	"There is no single right configuration; the numbers depend on how much load and how much risk you expect.",
	"A good rule of thumb is to start simple, measure, and only then add the more elaborate parts.",
}

// notes make the long context documents some first turns carry, as a
// retrieval-augmented application would send.
var notes = []string{
	"Meeting notes, item %d: the team reviewed last quarter's figures and agreed to revisit the assumptions in two weeks.",
	"Section %d of the handbook describes how requests are routed, retried and logged, and who is paged when they fail.",
	"Record %d: the measurement was repeated three times; the spread between runs was small compared with the effect.",
	"Paragraph %d summarises the survey: most respondents wanted clearer defaults and fewer settings to tune.",
	"Entry %d in the change log: a configuration flag was renamed, and the old name still works with a warning.",
}

type message struct{ role, text string }

func answer(r *rand.Rand, topic string, n int) string {
	var b []string
	for range n {
		s := sentences[r.IntN(len(sentences))]
		if strings.Contains(s, "%s") {
			s = fmt.Sprintf(s, topic)
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

func document(r *rand.Rand, n int) string {
	var b []string
	for k := range n {
		b = append(b, fmt.Sprintf(notes[r.IntN(len(notes))], k+1))
	}
	return strings.Join(b, "\n")
}

// conversation makes one conversation of 1–4 user turns; about a third
// open with a long context document.
func conversation(r *rand.Rand) []message {
	topic := topics[r.IntN(len(topics))]
	first := fmt.Sprintf(asks[r.IntN(len(asks))], topic)
	if r.IntN(3) == 0 {
		first = "Use the notes below when you answer.\n\n" + document(r, 10+r.IntN(40)) + "\n\n" + first
	}
	msgs := []message{{"user", first}, {"assistant", answer(r, topic, 2+r.IntN(12))}}
	for range r.IntN(4) {
		msgs = append(msgs, message{"user", followUps[r.IntN(len(followUps))]}, message{"assistant", answer(r, topic, 1+r.IntN(6))})
	}
	return msgs
}

func main() {
	out := flag.String("o", "examples/datasets", "output directory")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendatasets:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(17, 2026))

	// ShareGPT: 120 conversations.
	type turn struct {
		From  string `json:"from"`
		Value string `json:"value"`
	}
	type conv struct {
		ID            string `json:"id"`
		Conversations []turn `json:"conversations"`
	}
	var sg []conv
	for k := range 120 {
		c := conv{ID: fmt.Sprintf("conv-%03d", k+1)}
		for _, m := range conversation(r) {
			from := "human"
			if m.role == "assistant" {
				from = "gpt"
			}
			c.Conversations = append(c.Conversations, turn{from, m.text})
		}
		sg = append(sg, c)
	}
	b, err := json.MarshalIndent(sg, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sharegpt-sample.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}

	// Chat JSONL: 60 conversations, some with a system message.
	var lines []string
	for k := range 60 {
		type msg struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		var ms []msg
		if k%4 == 0 {
			ms = append(ms, msg{"system", "You are a patient teacher. Answer in plain language."})
		}
		for _, m := range conversation(r) {
			ms = append(ms, msg{m.role, m.text})
		}
		l, err := json.Marshal(struct {
			Messages []msg `json:"messages"`
		}{ms})
		if err != nil {
			return err
		}
		lines = append(lines, string(l))
	}
	if err := os.WriteFile(filepath.Join(dir, "chat-sample.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}

	// CSV: 40 single-turn rows with the answer.
	f, err := os.Create(filepath.Join(dir, "qa-sample.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"prompt", "response"})
	for range 40 {
		topic := topics[r.IntN(len(topics))]
		w.Write([]string{fmt.Sprintf(asks[r.IntN(len(asks))], topic), answer(r, topic, 2+r.IntN(10))})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
