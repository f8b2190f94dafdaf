package spec

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/workload"
)

// modelSpec is the smallest spec the model says a workload of kind k in
// mode m (nil: none) needs, with extra added to the [[workload]] table.
func modelSpec(k workload.Kind, m *workload.Mode, extra string) string {
	var b strings.Builder
	b.WriteString("name = \"m\"\n")
	if m != nil && m.NeedsPollQueues {
		b.WriteString("[vm]\ncmdline = [\"nvme.poll_queues=1\"]\n")
	}
	if k.Data == workload.DataBTree {
		b.WriteString("[data]\nkind = \"btree\"\nkeys = 100\n")
	}
	fmt.Fprintf(&b, "[[workload]]\nkind = %q\nops = 10\n", k.Name)
	if k.Requires(workload.FieldDepth) {
		b.WriteString("depth = 3\n")
	}
	if m != nil {
		fmt.Fprintf(&b, "mode = %q\n", m.Name)
		if m.NeedsBatch {
			b.WriteString("batch = 4\n")
		}
	}
	b.WriteString(extra)
	return b.String()
}

// TestModelKinds checks spec against the model: every kind and every mode
// of it is accepted with what the model says it needs, fields a kind does
// not use are refused, and the errors list the model's kinds and modes.
func TestModelKinds(t *testing.T) {
	fieldValue := map[string]string{
		workload.FieldDepth: "3", workload.FieldMode: `"pread"`, workload.FieldBatch: "4",
		workload.FieldDist: `"zipf"`, workload.FieldOp: `"lookup"`, workload.FieldSpan: "8",
	}
	for _, k := range workload.Kinds {
		t.Run(k.Name, func(t *testing.T) {
			modes := []*workload.Mode{nil}
			if len(k.Modes) > 0 {
				modes = nil
				for i := range k.Modes {
					modes = append(modes, &k.Modes[i])
				}
			}
			for _, m := range modes {
				text := modelSpec(k, m, "")
				s, err := Parse("m.toml", text)
				if err != nil {
					t.Errorf("%s: %v\n%s", k.Name, err, text)
					continue
				}
				if bs := s.Workloads[0].BlockSize; bs != k.DefaultBlockSize {
					t.Errorf("%s: block_size %d, want the model's default %d", k.Name, bs, k.DefaultBlockSize)
				}
			}
			for f, v := range fieldValue {
				if k.Uses(f) {
					continue
				}
				_, err := Parse("m.toml", modelSpec(k, nil, f+" = "+v+"\n"))
				if err == nil || !strings.Contains(err.Error(), f+" is for ") {
					t.Errorf("%s with %s: err = %v, want %q", k.Name, f, err, f+" is for ")
				}
			}
			if len(k.Modes) > 0 {
				_, err := Parse("m.toml", strings.Replace(modelSpec(k, &k.Modes[0], ""), `mode = "`+k.Modes[0].Name+`"`, `mode = "nvme"`, 1))
				for _, m := range k.ModeNames() {
					if err == nil || !strings.Contains(err.Error(), m) {
						t.Errorf("unknown mode: err = %v, want it to list %s", err, m)
					}
				}
			}
		})
	}
	_, err := Parse("m.toml", "name = \"m\"\n[[workload]]\nkind = \"nope\"\n")
	for _, k := range workload.KindNames() {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("unknown kind: err = %v, want it to list %s", err, k)
		}
	}
}

func TestHostTools(t *testing.T) {
	for _, tc := range []struct {
		kinds []string
		want  string
	}{
		{[]string{"pread"}, ""},
		{[]string{"fio", "ktest"}, "fio"},
		{[]string{"sleep", "ktest"}, "fio"},
	} {
		s := &Spec{}
		for _, k := range tc.kinds {
			s.Workloads = append(s.Workloads, Workload{Kind: k})
		}
		if got := strings.Join(s.HostTools(), ","); got != tc.want {
			t.Errorf("%v: tools %q, want %q", tc.kinds, got, tc.want)
		}
	}
}

// TestREADMEListsModel checks that the spec format's documentation names
// every kind and mode of the model.
func TestREADMEListsModel(t *testing.T) {
	b, err := os.ReadFile("../../experiments/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range workload.Kinds {
		names := append([]string{k.Name}, k.ModeNames()...)
		for _, n := range names {
			if !strings.Contains(string(b), "`"+n+"`") {
				t.Errorf("experiments/README.md does not document %s (kind %s): add it to the [[workload]] table", n, k.Name)
			}
		}
	}
}
