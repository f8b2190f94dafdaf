package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// kernelMode reports whether a chain or btree mode runs a BPF program in
// the kernel (pread and uring chain from user space).
func kernelMode(mode string) bool {
	return mode == "syscall" || mode == "driver" || mode == "driver-poll"
}

// BPFSources returns the bpf/progs/*.c files (base names) the guest loads
// for these points, as the guest agent's workloads do.
func BPFSources(points []proto.PointSpec) []string {
	set := map[string]bool{}
	for _, p := range points {
		w := p.Workload
		switch {
		case w.Kind == proto.KindChain && kernelMode(w.Mode):
			set["chain.c"] = true
		case w.Kind == proto.KindBTree && kernelMode(w.Mode) && (w.Op == "" || w.Op == "lookup"):
			set["btree.c"], set["btree_scan.c"] = true, true // lookups, then a scan check
		case w.Kind == proto.KindBTree && kernelMode(w.Mode):
			set["btree_scan.c"] = true
		case w.Kind == proto.KindKTest:
			set["chain.c"], set["chain_bad.c"], set["verifier_ok.c"], set["hop_trace.c"] = true, true, true, true
		case w.Kind == proto.KindPread && w.TraceLayers:
			set["layers.c"] = true
		}
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// CheckBPFSources checks, before anything is built or booted, that the BPF
// programs the points need exist in the repository.
func (e *Env) CheckBPFSources(points []proto.PointSpec) error {
	for _, f := range BPFSources(points) {
		p := filepath.Join(e.Repo, "bpf", "progs", f)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("bpf: %s, the program these workloads load in the guest, is missing: %w (restore it: git checkout -- bpf/progs/%s)", p, err, f)
		}
	}
	return nil
}
