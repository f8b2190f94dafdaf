package runner

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/spec"
)

// fullSpec is a spec with every field set (one value per list).
func fullSpec() *spec.Spec {
	return &spec.Spec{
		Name: "x", Description: "d", Paper: "p", File: "x.toml",
		Kernel: spec.Kernel{Variant: "default"},
		VM: spec.VM{CPUs: 2, MemoryMB: 512, Accel: "tcg", BootTimeout: spec.Duration{Duration: time.Minute},
			JobTimeout: spec.Duration{Duration: time.Hour}, TraceNVMe: false},
		Data: spec.Data{Kind: "btree", SizeMB: 64, Seed: 1, Cache: "writeback", Keys: 1000, Fanout: 31},
		Run:  spec.Run{Repetitions: 2, Seed: 1, Order: spec.OrderShuffle},
		Workloads: []spec.Workload{{
			Kind: "btree", BlockSize: 512, Ops: 10, Warmup: 1, Threads: spec.IntList{1}, Depth: spec.IntList{3},
			Mode: spec.StrList{"pread"}, Batch: spec.IntList{4}, Dist: spec.StrList{"zipf"}, Op: spec.StrList{"lookup"},
			Span: spec.IntList{8}, TraceLayers: false,
		}},
	}
}

var durationType = reflect.TypeOf(spec.Duration{})

// specFields lists the leaf fields of t by Go path (Workloads[] for every
// element of a slice of structs).
func specFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		path := prefix + f.Name
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			out = append(out, specFields(f.Type, path+".")...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, specFields(f.Type.Elem(), path+"[].")...)
		default:
			out = append(out, path)
		}
	}
	return out
}

// field is the value at path in s (the first workload for Workloads[]).
func field(s *spec.Spec, path string) reflect.Value {
	v := reflect.ValueOf(s).Elem()
	for _, name := range strings.Split(path, ".") {
		if n, ok := strings.CutSuffix(name, "[]"); ok {
			v = v.FieldByName(n).Index(0)
			continue
		}
		v = v.FieldByName(name)
	}
	return v
}

// change sets v to another value of its type.
func change(t *testing.T, path string, v reflect.Value) {
	switch {
	case v.Type() == durationType:
		d := v.Addr().Interface().(*spec.Duration)
		d.Duration += time.Second
	case v.Kind() == reflect.Bool:
		v.SetBool(!v.Bool())
	case v.CanInt():
		v.SetInt(v.Int() + 1)
	case v.CanUint():
		v.SetUint(v.Uint() + 1)
	case v.Kind() == reflect.String:
		v.SetString(v.String() + "x")
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int:
		v.Index(0).SetInt(v.Index(0).Int() + 1)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String && v.Len() == 0:
		v.Set(reflect.Append(v, reflect.ValueOf("x")))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Index(0).SetString(v.Index(0).String() + "x")
	default:
		t.Fatalf("%s: the test does not know how to change a %s", path, v.Type())
	}
}

func hashes(s *spec.Spec) map[string]bool {
	b := built{KernelKey: "k", InitramfsHash: "i", DataImage: "d", Accel: "tcg", DataSeed: 1}
	out := map[string]bool{}
	for _, ps := range s.Points() {
		out[pointInputs(s, b, ps).Hash()] = true
	}
	return out
}

// TestResumeHashCoversSpec walks every field of spec.Spec: each must say
// in specInputs how it enters the input hash. A "hashed" field changes the
// hash of every point when it changes; an "exempt" one leaves every
// point's hash as it was (so that the points are reused); a "built:F" one
// names the Inputs field its build step makes of it.
func TestResumeHashCoversSpec(t *testing.T) {
	fields := specFields(reflect.TypeOf(spec.Spec{}), "")
	seen := map[string]bool{}
	for _, path := range fields {
		seen[path] = true
		t.Run(path, func(t *testing.T) {
			how, ok := specInputs[path]
			if !ok {
				t.Fatalf("spec field %s is neither hashed nor exempt: add it to Inputs (pointInputs) or say in specInputs why it cannot change a measurement", path)
			}
			base := hashes(fullSpec())
			s := fullSpec()
			change(t, path, field(s, path))
			after := hashes(s)
			switch {
			case how == "hashed":
				for h := range after {
					if base[h] {
						t.Errorf("changing %s keeps a point's input hash: points measured without it would be reused", path)
						break
					}
				}
			case strings.HasPrefix(how, "built:"):
				name := strings.TrimPrefix(how, "built:")
				if _, ok := reflect.TypeOf(Inputs{}).FieldByName(name); !ok {
					t.Errorf("%s: Inputs has no field %s", path, name)
				}
				if _, ok := reflect.TypeOf(built{}).FieldByName(name); !ok {
					t.Errorf("%s: the build outputs have no field %s", path, name)
				}
			case strings.HasPrefix(how, "exempt: ") && len(how) > len("exempt: "):
				for h := range base {
					if !after[h] {
						t.Errorf("%s is exempt, but changing it changes a point's input hash", path)
						break
					}
				}
			default:
				t.Errorf("%s: %q is not hashed, built:F or exempt: reason", path, how)
			}
		})
	}
	for path := range specInputs {
		if !seen[path] {
			t.Errorf("specInputs names %s, which is not a spec field", path)
		}
	}
}

func TestHeavySteal(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	specs := map[string]proto.PointSpec{"a": {ID: "a"}, "b": {ID: "b", Rep: 1}, "c": {ID: "c"}, "d": {ID: "d"}, "e": {ID: "e"}}
	points := []*results.Point{
		{ID: "a", Status: proto.StatusOK, Steal: &proto.Steal{Host: f(0.02)}},
		{ID: "b", Status: proto.StatusOK, Steal: &proto.Steal{Host: f(0.12)}},                   // measured again
		{ID: "c", Status: proto.StatusFailed, Steal: &proto.Steal{Host: f(0.5)}},                // failed: not a measurement
		{ID: "d", Status: proto.StatusOK, Steal: &proto.Steal{Host: f(0.5)}, ReusedFrom: "old"}, // not measured in this run
		{ID: "e", Status: proto.StatusOK},                                                       // steal unknown
	}
	got := heavySteal(points, specs, 0.05)
	if len(got) != 1 || got[0].ID != "b" || got[0].Rep != 1 {
		t.Errorf("heavySteal = %+v, want point b", got)
	}
}
