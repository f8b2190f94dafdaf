package workload

import (
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfstor/bpfstor/bpf/storfn"
)

type loaded struct {
	prog *ebpf.Program
	err  error
}

var (
	progsMu sync.Mutex
	progs   = map[string]loaded{}
)

// loadProg loads storage function name (a generated objs.*Prog* constant)
// from the embedded object load returns (objs.LoadChain, ...) once per
// agent and returns the same program (or error) to every later caller.
// Program names are unique across bpf/progs, so they key the cache.
func loadProg(load storfn.SpecLoader, name string) (*ebpf.Program, error) {
	progsMu.Lock()
	defer progsMu.Unlock()
	if l, ok := progs[name]; ok {
		return l.prog, l.err
	}
	p, err := storfn.Load(load, name)
	progs[name] = loaded{p, err}
	return p, err
}
