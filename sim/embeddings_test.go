package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEmbeddingsResponse checks the shape of /v1/embeddings: one vector
// of the asked dimensions per input, in order, and usage counting every
// input's tokens.
func TestEmbeddingsResponse(t *testing.T) {
	s, url := newTestServer(t, Options{TimeScale: 0.001})
	body := `{"model":"` + s.ModelName() + `","input":["the cat sat","on the mat","x y z"],"dimensions":5}`
	resp, err := http.Post(url+"/v1/embeddings", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Object string `json:"object"`
		Data   []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	want := s.tok.Count("the cat sat") + s.tok.Count("on the mat") + s.tok.Count("x y z")
	if got.Object != "list" || len(got.Data) != 3 || got.Usage.PromptTokens != want || got.Usage.TotalTokens != want {
		t.Fatalf("response %+v, want 3 vectors and %d tokens", got, want)
	}
	for i, d := range got.Data {
		if d.Index != i || len(d.Embedding) != 5 {
			t.Errorf("vector %d: index %d, %d values", i, d.Index, len(d.Embedding))
		}
	}
}
