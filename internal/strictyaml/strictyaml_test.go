package strictyaml

import (
	"io"
	"testing"
)

func TestDecode(t *testing.T) {
	var v struct {
		Name string `yaml:"name"`
	}
	if err := Decode([]byte("name: a\n"), &v); err != nil || v.Name != "a" {
		t.Fatalf("known key: %+v, %v", v, err)
	}
	if err := Decode([]byte("name: a\nnmae: b\n"), &v); err == nil {
		t.Error("a misspelt key was accepted")
	}
	if err := Decode(nil, &v); err != io.EOF {
		t.Errorf("empty document: %v, want io.EOF", err)
	}
}
