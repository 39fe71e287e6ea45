#!/bin/sh
# Measures llmload side by side with hey against the loopback ground-truth
# server (tools/peerbench); prints the Markdown tables of docs/performance.md.
# Usage: tools/peerbench/run.sh [peerbench run flags, e.g. -levels 100,1000]
set -eu
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/llmload" ./cmd/llmload
go build -o "$bin/peerbench" ./tools/peerbench
GOBIN="$bin" go install github.com/rakyll/hey@v0.1.5
"$bin/peerbench" run -llmload "$bin/llmload" -hey "$bin/hey" "$@"
