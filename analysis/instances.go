package analysis

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/llmload/llmload/internal/strictyaml"
)

//go:embed instances.yaml
var instancesYAML []byte

// InstancesYAML returns the built-in instance price table (YAML), to copy
// and edit.
func InstancesYAML() []byte { return slices.Clone(instancesYAML) }

// InstanceTable is a table of instance types and their hourly prices.
type InstanceTable struct {
	Instances []InstanceType `yaml:"instances"`
}

// InstanceType is one instance type: Devices devices of Accelerator (a
// theory catalog id) at PerHour dollars per hour.
type InstanceType struct {
	Instance    string  `yaml:"instance" json:"instance"`
	Accelerator string  `yaml:"accelerator" json:"accelerator"`
	Devices     int     `yaml:"devices" json:"devices"`
	PerHour     float64 `yaml:"per_hour" json:"per_hour"`
}

// BuiltinInstances returns the embedded instance price table.
func BuiltinInstances() *InstanceTable {
	t, err := ParseInstances(instancesYAML)
	if err != nil {
		panic("analysis: built-in instances.yaml: " + err.Error())
	}
	return t
}

// ParseInstances parses an instance price table. Unknown keys, missing
// names, duplicate instances and impossible prices or device counts are
// errors, all reported at once.
func ParseInstances(b []byte) (*InstanceTable, error) {
	var t InstanceTable
	if err := strictyaml.Decode(b, &t); err != nil {
		return nil, fmt.Errorf("instance table: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for i, it := range t.Instances {
		switch {
		case it.Instance == "":
			errs = append(errs, fmt.Errorf("instance table: entry %d has no instance", i+1))
		case seen[normID(it.Instance)]:
			errs = append(errs, fmt.Errorf("instance table: instance %q twice", it.Instance))
		}
		seen[normID(it.Instance)] = true
		if it.Accelerator == "" {
			errs = append(errs, fmt.Errorf("instance table: %q has no accelerator", it.Instance))
		}
		if it.Devices < 1 {
			errs = append(errs, fmt.Errorf("instance table: %q: devices %d: want at least 1", it.Instance, it.Devices))
		}
		if !(it.PerHour > 0) || math.IsInf(it.PerHour, 0) {
			errs = append(errs, fmt.Errorf("instance table: %q: per_hour %g: want a price > 0", it.Instance, it.PerHour))
		}
	}
	if len(t.Instances) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("instance table: no instances"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &t, nil
}

// Lookup returns the first instance with devices devices of accelerator
// (compared without case and separators).
func (t *InstanceTable) Lookup(accelerator string, devices int) (InstanceType, bool) {
	for _, it := range t.Instances {
		if normID(it.Accelerator) == normID(accelerator) && it.Devices == devices {
			return it, true
		}
	}
	return InstanceType{}, false
}

// AcceleratorFor returns the accelerator of the table that acc abbreviates
// ("a100" for "a100-40gb"): the first whose id starts with acc and a
// separator; ok is false when none does.
func (t *InstanceTable) AcceleratorFor(acc string) (string, bool) {
	for _, it := range t.Instances {
		a := normID(it.Accelerator)
		n := normID(acc)
		if len(a) > len(n) && a[:len(n)] == n && len(it.Accelerator) > len(acc) && (it.Accelerator[len(acc)] == '-' || it.Accelerator[len(acc)] == '_') {
			return it.Accelerator, true
		}
	}
	return "", false
}
