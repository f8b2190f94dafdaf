package workload

import (
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfstor/bpfstor/bpf/storfn"
)

// bpfDir is where the job's BPF objects are in the guest.
func bpfDir(env *Env) string {
	if d := env.Job.Files["bpf"]; d != "" {
		return d
	}
	return "/bpf"
}

type loaded struct {
	prog *ebpf.Program
	err  error
}

var (
	progsMu sync.Mutex
	progs   = map[string]loaded{}
)

// loadProg loads storage function name from object obj once per agent and
// returns the same program (or error) to every later caller.
func loadProg(env *Env, obj, name string) (*ebpf.Program, error) {
	path := filepath.Join(bpfDir(env), obj)
	key := path + ":" + name
	progsMu.Lock()
	defer progsMu.Unlock()
	if l, ok := progs[key]; ok {
		return l.prog, l.err
	}
	p, err := storfn.Load(path, name)
	progs[key] = loaded{p, err}
	return p, err
}
