package openai

import (
	"encoding/json"
	"strings"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/wire"
)

// serverError is what a server says about a failure, in any of the shapes
// OpenAI-compatible servers use:
//
//	{"error": {"message": "...", "type": "...", "code": ...}}   OpenAI, vLLM, llama.cpp
//	{"error": "...", "error_type": "..."}                       TGI
//	{"object": "error", "message": "...", "type": "...", "code": ...}  older vLLM
//	{"message": "..."}                                          gateways
//	{"detail": ...}                                             FastAPI
type serverError struct {
	Message string
	Type    string
	Code    string
}

// errorMessage extracts the server's error from a JSON body. ok is false
// when b is not a JSON object holding one.
func errorMessage(b []byte) (msg string, ok bool) {
	e, ok := parseServerError(b)
	return e.Message, ok
}

func parseServerError(b []byte) (serverError, bool) {
	var body struct {
		Error     json.RawMessage `json:"error"`
		Message   json.RawMessage `json:"message"`
		Detail    json.RawMessage `json:"detail"`
		Type      json.RawMessage `json:"type"`
		Code      json.RawMessage `json:"code"`
		ErrorType json.RawMessage `json:"error_type"`
	}
	if json.Unmarshal(b, &body) != nil {
		return serverError{}, false
	}
	var e serverError
	if isObject(body.Error) {
		var inner struct {
			Message json.RawMessage `json:"message"`
			Type    json.RawMessage `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(body.Error, &inner) == nil {
			e = serverError{Message: rawText(inner.Message), Type: rawText(inner.Type), Code: rawText(inner.Code)}
		}
	} else if s := rawText(body.Error); s != "" {
		e = serverError{Message: s, Type: rawText(body.ErrorType)}
	}
	if e.Message == "" {
		e.Message = rawText(body.Message)
	}
	if e.Message == "" {
		e.Message = rawText(body.Detail)
	}
	if e.Type == "" {
		e.Type = rawText(body.Type)
	}
	if e.Code == "" {
		e.Code = rawText(body.Code)
	}
	return e, e.Message != "" || e.Type != "" || e.Code != ""
}

func isObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

// rawText renders a JSON value as text: strings unquoted, null as "",
// anything else (numbers, arrays, objects) as its JSON.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// streamError builds the *llm.Error for an error the server reported inside
// a 2xx response (an "error" object in a chunk, or an "event: error"). data
// is the event's data, JSON or plain text.
func streamError(data []byte, status int, apiKey string) *llm.Error {
	e, ok := parseServerError(data)
	if !ok {
		e.Message = strings.TrimSpace(string(data))
	}
	if e.Message == "" {
		e.Message = "error event in stream"
	}
	return &llm.Error{
		Kind:    streamErrorKind(e),
		Status:  status,
		Message: wire.Clip(wire.Redact(e.Message, apiKey)),
	}
}

// streamErrorKind classifies an in-stream error: a server error unless its
// type, code or message says the server is overloaded or rate-limiting.
func streamErrorKind(e serverError) llm.ErrorKind {
	s := strings.ToLower(e.Type + " " + e.Code + " " + e.Message)
	switch {
	case strings.Contains(s, "overloaded"):
		return llm.KindOverloaded
	case e.Code == "429" || strings.Contains(s, "rate limit") || strings.Contains(s, "rate_limit") ||
		strings.Contains(s, "ratelimit") || strings.Contains(s, "too many requests") ||
		strings.Contains(s, "throttl"):
		return llm.KindThrottled
	}
	return llm.KindServer
}
