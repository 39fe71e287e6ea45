package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// IntList is one integer or several: "8" or "1,5,10" on the command line,
// 8 or [1, 5, 10] in YAML. Several values make a sweep.
type IntList []int

// Set implements flag.Value; it replaces the default.
func (l *IntList) Set(s string) error {
	var out IntList
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", strings.TrimSpace(f))
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

// First is the first value, 0 for an empty list.
func (l IntList) First() int {
	if len(l) == 0 {
		return 0
	}
	return l[0]
}

func (l IntList) String() string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML accepts a scalar or a sequence.
func (l *IntList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v int
		if err := n.Decode(&v); err != nil {
			return err
		}
		*l = IntList{v}
		return nil
	}
	var vs []int
	if err := n.Decode(&vs); err != nil {
		return err
	}
	*l = vs
	return nil
}

// MarshalYAML writes one value as a scalar.
func (l IntList) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0], nil
	}
	return []int(l), nil
}

// FloatList is one number or several, like IntList.
type FloatList []float64

// Set implements flag.Value; it replaces the default.
func (l *FloatList) Set(s string) error {
	var out FloatList
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", strings.TrimSpace(f))
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

func (l FloatList) String() string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML accepts a scalar or a sequence.
func (l *FloatList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		*l = FloatList{v}
		return nil
	}
	var vs []float64
	if err := n.Decode(&vs); err != nil {
		return err
	}
	*l = vs
	return nil
}

// MarshalYAML writes one value as a scalar.
func (l FloatList) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0], nil
	}
	return []float64(l), nil
}
