package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServesEveryNamedModel: the OpenAI and Ollama routes accept and list
// every model id the simulator was given (so the README's Ollama example,
// --model llama3.2, can be tried against it), and an unknown id's 404 says
// what is served.
func TestServesEveryNamedModel(t *testing.T) {
	srv, err := New(Options{TimeScale: 0.02, ModelName: "llama3.2", MoreModels: []string{"gpt-x"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	post := func(path, body string) (int, string) {
		resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, m := range []string{"llama3.2", "gpt-x"} {
		if st, body := post("/v1/chat/completions", `{"model":"`+m+`","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`); st != 200 {
			t.Errorf("openai %s: %d %s", m, st, body)
		}
		if st, body := post("/api/chat", `{"model":"`+m+`:latest","stream":false,"options":{"num_predict":3},"messages":[{"role":"user","content":"hi"}]}`); st != 200 {
			t.Errorf("ollama %s: %d %s", m, st, body)
		}
	}
	st, body := post("/v1/chat/completions", `{"model":"nope","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`)
	if st != 404 || !strings.Contains(body, "llama3.2, gpt-x") {
		t.Errorf("unknown model: %d %s", st, body)
	}
	resp, err := http.Get(hs.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 2 || list.Data[0].ID != "llama3.2" || list.Data[1].ID != "gpt-x" {
		t.Errorf("/v1/models: %+v", list)
	}
	resp, err = http.Get(hs.URL + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"gpt-x"`) || !strings.Contains(string(b), `"llama3.2"`) {
		t.Errorf("/api/tags: %s", b)
	}
}
