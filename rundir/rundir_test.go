package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmload/llmload/config"
)

func TestConfigRoundTripIsRedacted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "run")
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Provider: "openai", BaseURL: "http://127.0.0.1:8000/v1", APIKey: "sk-x", Model: "m", API: "chat",
		Headers: map[string]string{"Authorization": "Bearer y"}, Concurrency: config.IntList{4}, MaxRequests: 10,
		Timeout: config.Duration(time.Minute), ResultsDir: dir}
	if err := WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if strings.Contains(string(b), "sk-x") || strings.Contains(string(b), "Bearer y") {
		t.Errorf("config.yaml holds a secret:\n%s", b)
	}
	if !strings.Contains(string(b), "# run (unnamed), results in "+dir) || !strings.Contains(string(b), "--api-key") {
		t.Errorf("config.yaml does not say where the run went or that its key is left out:\n%s", b)
	}
	back, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Model != "m" || back.Concurrency[0] != 4 || back.Timeout.D() != time.Minute || back.APIKey != "" || back.ResultsDir != "" {
		t.Errorf("round trip: %+v", back)
	}
}

func TestCreateRefusesAnExistingRun(t *testing.T) {
	dir := t.TempDir()
	if err := Create(dir); err != nil {
		t.Fatalf("an empty directory is fine: %v", err)
	}
	os.WriteFile(filepath.Join(dir, RecordsFile), nil, 0o644)
	if err := Create(dir); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("err = %v", err)
	}
}
