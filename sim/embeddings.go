package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// This file is the OpenAI-compatible embeddings endpoint, POST
// /v1/embeddings.
//
// Time model: an embedding is a prefill without decode, compute-bound
// (Profile.PrefillTime of the request's tokens, all inputs together, as
// one forward pass). Requests take the device in turn, first come first
// served, on a timeline of their own: a batch of inputs is one pass, so
// throughput in tokens/s is the device's prefill rate however requests
// are split, and a request waits for the passes ahead of it. Embeddings
// do not share the device with the generation engine's batch.

// embeddingDims is the length of the vectors returned when the request
// does not ask for one ("dimensions").
const embeddingDims = 16

type embedRequest struct {
	Model      string          `json:"model"`
	Input      json.RawMessage `json:"input"`
	Dimensions *int            `json:"dimensions"`
}

// embedInputs returns the token count of each input: a string, an array
// of strings, an array of token ids, or an array of arrays of token ids.
func (s *Server) embedInputs(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("'input' is required")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []int{s.tok.Count(one)}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		n := make([]int, len(many))
		for i, t := range many {
			n[i] = s.tok.Count(t)
		}
		return n, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil {
		return []int{len(ids)}, nil
	}
	var idss [][]int
	if json.Unmarshal(raw, &idss) == nil {
		n := make([]int, len(idss))
		for i, t := range idss {
			n[i] = len(t)
		}
		return n, nil
	}
	return nil, fmt.Errorf("'input' must be a string, an array of strings, or token ids")
}

// serveEmbeddings serves one embeddings request.
func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embedRequest
	if !s.readRequest(w, r, &req, &req.Model) {
		return
	}
	counts, err := s.embedInputs(req.Input)
	if err == nil && len(counts) == 0 {
		err = fmt.Errorf("'input' must not be empty")
	}
	total := 0
	for i, n := range counts {
		if n == 0 && err == nil {
			err = fmt.Errorf("input %d is empty", i)
		}
		if n > s.profile.Model.MaxContext && err == nil {
			err = fmt.Errorf("input %d has %d tokens; this model's maximum context length is %d tokens", i, n, s.profile.Model.MaxContext)
		}
		total += n
	}
	dims := embeddingDims
	if req.Dimensions != nil {
		if *req.Dimensions < 1 || *req.Dimensions > 8192 {
			err = fmt.Errorf("dimensions must be 1 to 8192, got %d", *req.Dimensions)
		}
		dims = *req.Dimensions
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	if ok, wait := s.quota.Take(time.Now(), total); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded",
			"Rate limit reached: requests or tokens per minute quota exceeded; retry after "+retryAfterSeconds(wait)+"s")
		return
	}

	// Take the device after the passes ahead, then wait for this one.
	pass := time.Duration(float64(s.profile.PrefillTime(total, len(counts))) * s.scale)
	s.mu.Lock()
	now := time.Now()
	start := s.embedBusy
	if start.Before(now) {
		start = now
	}
	done := start.Add(pass)
	s.embedBusy = done
	s.mu.Unlock()
	t := time.NewTimer(time.Until(done))
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	case <-s.done:
		writeError(w, http.StatusServiceUnavailable, "server_error", "server shutting down")
		return
	}

	id := s.ids.Add(1)
	b := make([]byte, 0, 64+len(counts)*(40+dims*10))
	b = append(b, `{"object":"list","data":[`...)
	for i := range counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":[`...)
		h := splitmix64(s.seed ^ id<<16 ^ uint64(i))
		for k := range dims {
			if k > 0 {
				b = append(b, ',')
			}
			h = splitmix64(h + uint64(k))
			b = strconv.AppendFloat(b, float64(int64(h%20001)-10000)/10000, 'f', 4, 64)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"model":`...)
	b = strconv.AppendQuote(b, s.model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
