package storfn

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstor/bpfstor/bpf/objs"
)

// The generated specs leave SEC("storage") programs UnspecifiedProgram;
// Spec makes every one of them BPF_PROG_TYPE_STORAGE and leaves the
// others (tracing programs) as cilium/ebpf typed them.
func TestSpecSetsStorageType(t *testing.T) {
	storage := map[string]SpecLoader{
		"chain": objs.LoadChain, "chain_bad": objs.LoadChainBad, "verifier_ok": objs.LoadVerifierOk,
		"btree": objs.LoadBTree, "btree_scan": objs.LoadBTreeScan, "walk": objs.LoadWalk,
	}
	for name, load := range storage {
		raw, err := load()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw.Programs) == 0 {
			t.Fatalf("%s: no programs", name)
		}
		spec, err := Spec(load)
		if err != nil {
			t.Fatal(err)
		}
		for pn, ps := range spec.Programs {
			if ps.SectionName != SectionStorage || ps.Type != ProgTypeStorage {
				t.Errorf("%s: %s: section %q type %v, want %q %v", name, pn, ps.SectionName, ps.Type, SectionStorage, ProgTypeStorage)
			}
		}
	}
	for name, load := range map[string]SpecLoader{"hop_trace": objs.LoadHopTrace, "layers": objs.LoadLayers} {
		spec, err := Spec(load)
		if err != nil {
			t.Fatal(err)
		}
		for pn, ps := range spec.Programs {
			if ps.Type == ProgTypeStorage || ps.Type == ebpf.UnspecifiedProgram {
				t.Errorf("%s: %s: type %v", name, pn, ps.Type)
			}
		}
	}
	// The programs the Go side names exist under those names.
	spec, _ := objs.LoadChain()
	if spec.Programs[objs.ChainProgChain] == nil || spec.Maps[objs.ChainMapChainStats] == nil {
		t.Errorf("chain: programs %v maps %v", spec.Programs, spec.Maps)
	}
	// The type-only globals (BPFSTOR_GO_TYPE) are no maps or variables.
	for name, load := range storage {
		spec, _ := load()
		for mn := range spec.Maps {
			if mn != objs.ChainMapChainStats && mn != objs.ChainBadMapProgs && mn != objs.WalkMapWalkSeen {
				t.Errorf("%s: unexpected map %s", name, mn)
			}
		}
		if len(spec.Variables) != 0 {
			t.Errorf("%s: variables %v", name, spec.Variables)
		}
	}
}

func TestLoadUnknownProgram(t *testing.T) {
	if _, err := LoadCollection(objs.LoadChain, "nope"); err == nil {
		t.Error("no error for a program the object does not have")
	}
}

func TestPutGet(t *testing.T) {
	b := make([]byte, 4)
	s := ChainScratch{Seed: 0x0102030405060708}
	if n := Put(b, &s); n != 4 || b[0] != 8 || b[3] != 5 {
		t.Errorf("Put into a short buffer: %d %x", n, b)
	}
	var got ChainScratch
	if n := Get(s.Marshal(), &got); n != ChainScratchSize || got != s {
		t.Errorf("Get: %d %+v", n, got)
	}
}
