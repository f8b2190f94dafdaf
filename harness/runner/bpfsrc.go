package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/workload"
)

// BPFSources returns the bpf/progs/*.c files (base names) the guest loads
// for these points, as the guest agent's workloads do (workload.BPFSources).
func BPFSources(points []proto.PointSpec) []string {
	set := map[string]bool{}
	for _, p := range points {
		for _, f := range workload.BPFSources(p.Workload) {
			set[f] = true
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
