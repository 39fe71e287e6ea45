module github.com/llmload/llmload

go 1.26.8

require github.com/tiktoken-go/tokenizer v0.10.0

require (
	github.com/dlclark/regexp2/v2 v2.5.1 // indirect
	go.yaml.in/yaml/v3 v3.0.4 // indirect
	golang.org/x/sys v0.39.0 // indirect
	golang.org/x/term v0.38.0 // indirect
)
