package workload

import (
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
)

// TestModelRunners checks the agent against the model: every kind has a
// runner and every runner a kind, and every mode of a chained kind has a
// dispatch (a chain_read flag, or ModeURing's own runner).
func TestModelRunners(t *testing.T) {
	for _, k := range model.Kinds {
		t.Run(k.Name, func(t *testing.T) {
			if runners[k.Name] == nil {
				t.Errorf("kind %s has no runner in images/agent/workload (add it to runners)", k.Name)
			}
			for _, m := range k.Modes {
				flags, err := modeFlags(m.Name)
				switch {
				case m.Name == ModeURing:
				case err != nil:
					t.Errorf("mode %s: no dispatch: %v", m.Name, err)
				case m.NeedsBPF != (flags != 0):
					t.Errorf("mode %s: NeedsBPF %v but chain_read flags %#x", m.Name, m.NeedsBPF, flags)
				}
				if kernelMode(m.Name) != m.NeedsBPF {
					t.Errorf("mode %s: kernelMode %v, model NeedsBPF %v", m.Name, kernelMode(m.Name), m.NeedsBPF)
				}
			}
		})
	}
	for name := range runners {
		if _, ok := model.Lookup(name); !ok {
			t.Errorf("runner %s has no kind in harness/workload (add it to Kinds)", name)
		}
	}
}

func TestUnknownKindPoint(t *testing.T) {
	p := RunPoint(&Env{Job: &proto.Job{}, Logf: t.Logf}, proto.PointSpec{ID: "x", Workload: proto.Workload{Kind: "nope"}})
	if p.Status != proto.StatusFailed {
		t.Fatalf("status %s, want failed", p.Status)
	}
	for _, k := range model.KindNames() {
		if !strings.Contains(p.Error, k) {
			t.Errorf("error %q does not list kind %s", p.Error, k)
		}
	}
}

func TestModeFlagsUnknown(t *testing.T) {
	_, err := modeFlags("nvme")
	want := `"nvme" is not ` + model.Or(chainKind.ModeNames())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
