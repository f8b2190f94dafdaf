package proto

import (
	"reflect"
	"testing"
)

// TestParamsCoverWorkload: every Workload field is part of its identity
// (Params: the report's workload key and the point ID) except Kind (said
// separately) and the run lengths; a new field must be added to Params or
// here, so that keys and IDs cannot drift apart or miss it.
func TestParamsCoverWorkload(t *testing.T) {
	notIdentity := map[string]bool{"Kind": true, "Ops": true, "Warmup": true}
	set := Workload{Kind: "btree", BlockSize: 512, Ops: 1, Warmup: 1, Threads: 2, Depth: 3, Mode: "driver",
		Batch: 4, Dist: "zipf", Op: "range", Span: 8, On: "file", TraceLayers: true, Tests: "verifier/"}
	names := map[string]bool{}
	for _, p := range set.Params() {
		names[p.Name] = true
	}
	typ := reflect.TypeOf(set)
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		for j, c := range tag {
			if c == ',' {
				tag = tag[:j]
				break
			}
		}
		if f.Name == "BlockSize" {
			tag = "bs"
		}
		if notIdentity[f.Name] {
			if names[tag] {
				t.Errorf("%s is not identity but in Params", f.Name)
			}
			continue
		}
		if !names[tag] {
			t.Errorf("Workload.%s is neither in Params (%v) nor declared not part of a workload's identity", f.Name, names)
		}
	}
}
