package workload

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKindsTable(t *testing.T) {
	fields := []string{FieldBlockSize, FieldThreads, FieldDepth, FieldMode, FieldBatch, FieldDist, FieldOp, FieldSpan, FieldOn, FieldTraceLayers, FieldTests}
	seen := map[string]bool{}
	for _, k := range Kinds {
		if seen[k.Name] || k.Name == "" || k.Doc == "" {
			t.Errorf("kind %q: duplicate, unnamed or undocumented", k.Name)
		}
		seen[k.Name] = true
		for _, f := range append(slices.Clone(k.Fields), k.Required...) {
			if !slices.Contains(fields, f) {
				t.Errorf("kind %s: field %q is not a Workload field", k.Name, f)
			}
		}
		for _, f := range k.Required {
			if !k.Uses(f) {
				t.Errorf("kind %s requires %s but does not use it", k.Name, f)
			}
		}
		if (len(k.Modes) > 0) != k.Uses(FieldMode) {
			t.Errorf("kind %s: %d modes but uses mode %v", k.Name, len(k.Modes), k.Uses(FieldMode))
		}
		if k.DefaultBlockSize > 0 != k.Uses(FieldBlockSize) {
			t.Errorf("kind %s: default block size %d but uses block_size %v", k.Name, k.DefaultBlockSize, k.Uses(FieldBlockSize))
		}
		if k.Chained {
			if m, ok := k.Mode(BaselineMode); !ok || !m.Baseline {
				t.Errorf("chained kind %s has no baseline mode %s", k.Name, BaselineMode)
			}
		}
		modes := map[string]bool{}
		for _, m := range k.Modes {
			if modes[m.Name] || m.Label == "" || m.Doc == "" {
				t.Errorf("kind %s mode %q: duplicate, unlabelled or undocumented", k.Name, m.Name)
			}
			modes[m.Name] = true
			if m.Baseline != (m.Name == BaselineMode) {
				t.Errorf("mode %s: Baseline %v, but BaselineMode is %s", m.Name, m.Baseline, BaselineMode)
			}
			if m.NeedsBatch && !k.Uses(FieldBatch) {
				t.Errorf("kind %s mode %s needs batch, which the kind does not use", k.Name, m.Name)
			}
			for _, op := range m.Ops {
				if !slices.Contains(Values[FieldOp], op) {
					t.Errorf("mode %s: op %q is not an op", m.Name, op)
				}
			}
			// A mode means the same in every kind that has it.
			if o, _ := ModeOf(m.Name); !reflect.DeepEqual(*o, m) {
				t.Errorf("mode %s differs between kinds: %+v vs %+v", m.Name, *o, m)
			}
		}
	}
}

func TestModeStyles(t *testing.T) {
	ms := Modes()
	for i, m := range ms {
		if m.Style != i {
			t.Errorf("mode %s has style %d, want the styles 0..%d, one per mode", m.Name, m.Style, len(ms)-1)
		}
	}
	if len(ms) == 0 || ms[0].Name != BaselineMode {
		t.Errorf("modes %v: the baseline must have style 0", ms)
	}
}

func TestAxes(t *testing.T) {
	var w Workload
	for i, a := range Axes {
		a.Set(&w, i+2)
		if a.Get(w) != i+2 {
			t.Errorf("axis %s: Set then Get = %d, want %d", a.Name, a.Get(w), i+2)
		}
	}
	// Every axis names a Workload param (as in a workload key).
	for _, a := range Axes {
		if !slices.ContainsFunc(w.Params(), func(p Param) bool { return p.Name == a.Name }) {
			t.Errorf("axis %s is not a Workload param", a.Name)
		}
	}
}

func TestErrors(t *testing.T) {
	err := UnknownKind("nope")
	for _, k := range Kinds {
		if !strings.Contains(err.Error(), k.Name) {
			t.Errorf("%v does not list %s", err, k.Name)
		}
	}
	k, _ := Lookup(KindBTree)
	if got, want := k.UnknownMode("nvme").Error(), `"nvme" is not pread, syscall, driver, driver-poll, uring, uring-kernel or uring-driver (the btree modes)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"a", "b", "c"}, "a, b or c"}} {
		if got := Or(tc.in); got != tc.want {
			t.Errorf("Or(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if err := Ranges[FieldDepth].Check(0); err == nil || err.Error() != "0 is outside 1..1024" {
		t.Errorf("depth 0: %v", err)
	}
	if err := CheckValue(FieldDist, "pareto"); err == nil || err.Error() != `"pareto" is not uniform or zipf` {
		t.Errorf("dist pareto: %v", err)
	}
	if !Anchored(ModeDriver, "depth") || Anchored(ModeDriverPoll, "depth") || Anchored("nope", "depth") {
		t.Error("Anchored disagrees with the table")
	}
}
