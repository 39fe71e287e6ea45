// Package strictyaml decodes the YAML tables llmload ships and lets users
// edit (prices, instances, the theory catalog, simulator profiles), where
// a misspelt key must be an error, not a silently ignored field.
package strictyaml

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Decode decodes the first YAML document of b into v; a key v has no
// field for is an error, and so is an empty document (io.EOF).
func Decode(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}
