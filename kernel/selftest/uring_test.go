package selftest

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/storfn"
)

// TestURingChainsPrep: every slot's args point at that slot's own buffer
// and scratch, which hold the chain's scratch bytes, and nothing overlaps.
func TestURingChainsPrep(t *testing.T) {
	u, err := newUringChains(4)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("no io_uring here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	for slot := 0; slot < 4; slot++ {
		c := chainCase{size: 1024, start: int64(slot) * 4096, scratch: storfn.ChainScratch{Seed: uint64(slot + 1), Nblocks: 9, Depth: 3}}
		if err := u.prep(slot, 5, 6, c, storfn.FlagDriver); err != nil {
			t.Fatal(err)
		}
	}
	for slot := 0; slot < 4; slot++ {
		a := u.args(slot)
		if a.Buf.Addr() != uintptr(unsafe.Pointer(&u.buf(slot)[0])) || a.Scratch.Addr() != uintptr(unsafe.Pointer(&u.scratch(slot)[0])) {
			t.Errorf("slot %d: args point elsewhere", slot)
		}
		if a.Offset != uint64(slot)*4096 || a.Count != 1024 || a.ProgFD != 6 || a.Flags != storfn.FlagDriver || int(a.ScratchLen) != storfn.ChainScratchSize {
			t.Errorf("slot %d: args %+v", slot, *a)
		}
		s, _ := storfn.UnmarshalChainScratch(u.scratch(slot))
		if s.Seed != uint64(slot+1) {
			t.Errorf("slot %d: scratch seed %d", slot, s.Seed)
		}
	}
	if uringLevel(storfn.FlagSyscall) != "io_uring level" || uringLevel(storfn.FlagDriver) != "driver level" {
		t.Error("level names")
	}
}
