// Package streamtest reads a provider's llm.Stream to its end, for the
// providers' tests: through Next, and through NextText the way the load
// runner reads an llm.TextStream.
package streamtest

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/llmload/llmload/llm"
)

// maxEvents bounds a read, so that a stream that never ends fails a test
// instead of hanging it.
const maxEvents = 100000

// Collect reads s through Next until an error (io.EOF at a clean end).
func Collect(s llm.Stream) ([]llm.Event, error) {
	var evs []llm.Event
	for range maxEvents {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, errors.New("too many events")
}

// CollectText is Collect through NextText (s must be an llm.TextStream),
// copying each event's text into its strings before the next call, as the
// load runner reads a stream: an llm.Waiter waits before each call.
// NextText must leave the strings empty.
func CollectText(s llm.Stream) ([]llm.Event, error) {
	ts := s.(llm.TextStream)
	w, _ := s.(llm.Waiter)
	var evs []llm.Event
	var tx llm.EventText
	for range maxEvents {
		if w != nil {
			w.Wait()
		}
		ev, err := ts.NextText(&tx)
		if err != nil {
			return evs, err
		}
		if ev.Text != "" || ev.Reasoning != "" || ev.ToolCallText != "" {
			return evs, errors.New("NextText set the event's strings")
		}
		ev.Text, ev.Reasoning, ev.ToolCallText = string(tx.Text), string(tx.Reasoning), string(tx.ToolCallText)
		evs = append(evs, ev)
	}
	return evs, errors.New("too many events")
}

// Read reads s to its end: through CollectText when text, else Collect.
func Read(s llm.Stream, text bool) ([]llm.Event, error) {
	if text {
		return CollectText(s)
	}
	return Collect(s)
}

// CheckEvents fails t when got differs from want (nil and empty alike).
func CheckEvents(t testing.TB, got, want []llm.Event) {
	t.Helper()
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}

// CheckEnd fails t unless a read ended with io.EOF (wantKind "") or with
// an *llm.Error of wantKind whose text contains wantMsg.
func CheckEnd(t testing.TB, err error, wantKind llm.ErrorKind, wantMsg string) {
	t.Helper()
	if wantKind == "" {
		if err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
	} else if Kind(err) != wantKind || !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("err = %v (%s), want %s containing %q", err, Kind(err), wantKind, wantMsg)
	}
}

// Kind is err's llm.ErrorKind; "" when err is not an *llm.Error.
func Kind(err error) llm.ErrorKind {
	var e *llm.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
