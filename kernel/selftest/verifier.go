package selftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
)

// badPrograms are the programs of chain_bad.c (objs.ChainBadProg*), the class each stands for
// and the verifier's reason, which the log must contain.
var badPrograms = []struct{ name, class, reason string }{
	{objs.ChainBadProgBadBlockOob, "read past the end of the block", "invalid access to memory, mem_size=4096 off=4096 size=1"},
	{objs.ChainBadProgBadBlockUnbounded, "unbounded variable offset into the block", "math between rdonly_mem pointer and register with unbounded min value is not allowed"},
	{objs.ChainBadProgBadBlockWrite, "write to the block", "cannot write into rdonly_mem"},
	{objs.ChainBadProgBadScratchOob, "write past the end of the scratch", "invalid access to memory, mem_size=4096 off=4096 size=1"},
	{objs.ChainBadProgBadScratchNeg, "read before the start of the scratch", "invalid access to memory, mem_size=4096 off=-1 size=1"},
	{objs.ChainBadProgBadCtxOob, "read past the end of the context", "invalid bpf_context access off=48 size=4"},
	{objs.ChainBadProgBadCtxWrite, "write to a read-only context field", "invalid bpf_context access off=28 size=4"},
	{objs.ChainBadProgBadCtxNarrow, "narrow load of a context pointer", "invalid bpf_context access off=0 size=4"},
	{objs.ChainBadProgBadCtxNarrowWrite, "narrow write of a writable context field", "invalid bpf_context access off=40 size=4"},
	{objs.ChainBadProgBadHelperTailCall, "a tail call (unbounded work in interrupt context)", "program of this type cannot use helper bpf_tail_call#12"},
}

// loopProgram calls bpf_loop(1000, NULL, NULL, 0): the helper is looked up
// before its arguments are checked, so no callback (which would need BTF
// func_info) is needed to see it refused. It is loaded with
// bpf(BPF_PROG_LOAD) directly, as cilium/ebpf is not needed for it.
var loopProgram = []rawInsn{
	{code: 0xb7, regs: 1, imm: 1000}, // r1 = 1000
	{code: 0xb7, regs: 2},            // r2 = 0
	{code: 0xb7, regs: 3},            // r3 = 0
	{code: 0xb7, regs: 4},            // r4 = 0
	{code: 0x85, imm: 181},           // call bpf_loop
	{code: 0xb7},                     // r0 = BPF_STORAGE_DONE
	{code: 0x95},                     // exit
}

// rawInsn is struct bpf_insn.
type rawInsn struct {
	code uint8
	regs uint8 // src << 4 | dst
	off  int16
	imm  int32
}

// loadRaw loads insns as a storage program and returns the verifier log
// when the kernel refuses it.
func loadRaw(insns []rawInsn) (int, string, error) {
	license := []byte("GPL\x00")
	logBuf := make([]byte, 1<<16)
	attr := struct {
		progType, insnCnt  uint32
		insns, license     uint64
		logLevel, logSize  uint32
		logBuf             uint64
		kernVersion, flags uint32
	}{
		progType: uint32(storfn.ProgTypeStorage), insnCnt: uint32(len(insns)),
		insns: uint64(uintptr(unsafe.Pointer(&insns[0]))), license: uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1, logSize: uint32(len(logBuf)), logBuf: uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	// The verifier returns EAGAIN when a signal interrupts it (the Go
	// runtime's preemption signal, on a slow debug kernel): load again, as
	// cilium/ebpf does.
	var fd uintptr
	var errno unix.Errno
	for {
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno != unix.EAGAIN {
			break
		}
	}
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	log := string(logBuf[:max(0, strings.IndexByte(string(logBuf), 0))])
	if errno != 0 {
		return -1, log, errno
	}
	return int(fd), log, nil
}

// testRejectsLoop: bpf_loop(), which runs a callback up to 8M times, is
// not offered to storage functions.
func testRejectsLoop(e *env) (string, error) {
	fd, log, err := loadRaw(loopProgram)
	if err == nil {
		unix.Close(fd)
		return "", errors.New("verifier accepted a storage function calling bpf_loop()")
	}
	const reason = "program of this type cannot use helper bpf_loop#181"
	if !strings.Contains(log, reason) {
		return "", fmt.Errorf("rejected (%v), but not for the helper (want %q):\n%s", err, reason, tail(log, 8))
	}
	return "rejected (bpf_loop, unbounded work in interrupt context): " + reason, nil
}

func testRejects(e *env, name, class, reason string) (string, error) {
	p, err := storfn.Load(objs.LoadChainBad, name)
	if err == nil {
		p.Close()
		return "", fmt.Errorf("verifier accepted a program with a %s", class)
	}
	msg := err.Error()
	if !strings.Contains(msg, "verifier log") {
		return "", fmt.Errorf("not a verifier rejection: %v", err)
	}
	if !strings.Contains(msg, reason) {
		return "", fmt.Errorf("rejected, but not for the %s (want %q in the log):\n%s", class, reason, tail(msg, 8))
	}
	return fmt.Sprintf("rejected (%s): %s", class, reason), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// testAccepts loads each program of verifier_ok.o, runs it with
// BPF_PROG_TEST_RUN and checks what it computed.
func testAccepts(e *env) (string, error) {
	block := make([]byte, storfn.BlockMax)
	for i := range block {
		block[i] = byte(i*13 + 7)
	}
	cases := []struct {
		prog    string
		ctx     storfn.Ctx
		scratch int
		check   func(s []byte, c storfn.Ctx) error
	}{
		{objs.VerifierOkProgOkVaroff, storfn.Ctx{Size: storfn.BlockMax, Hop: 4095 + 4096, ScratchLen: storfn.ScratchMax}, storfn.ScratchMax,
			func(s []byte, _ storfn.Ctx) error {
				want := binary.LittleEndian.Uint64(block[4088:])
				if s[0] != block[4095] || binary.LittleEndian.Uint64(s[8:]) != want || s[4095] != 0xa5 {
					return fmt.Errorf("scratch[0]=%#x [8:16]=%#x [4095]=%#x, want %#x %#x 0xa5", s[0], binary.LittleEndian.Uint64(s[8:]), s[4095], block[4095], want)
				}
				return nil
			}},
		{objs.VerifierOkProgOkNarrow, storfn.Ctx{Offset: 0x1122334455667788, Size: 0x0e01, Hop: 0xbeef, ScratchLen: 80}, 80,
			func(s []byte, c storfn.Ctx) error {
				want := []uint64{0x88, 0x7788, 0x55667788, 0x11223344, 0x01, 0, 0xbeef, 80, 0x0e01, 0x11223344}
				for i, w := range want {
					if g := binary.LittleEndian.Uint64(s[8*i:]); g != w {
						return fmt.Errorf("narrow load %d = %#x, want %#x", i, g, w)
					}
				}
				return nil
			}},
		{objs.VerifierOkProgOkHelpers, storfn.Ctx{Size: 512, ScratchLen: 24}, 24,
			func(s []byte, _ storfn.Ctx) error {
				if binary.LittleEndian.Uint64(s) == 0 || binary.LittleEndian.Uint64(s[8:])>>32 != 1 || binary.LittleEndian.Uint64(s[16:]) == 0 {
					return fmt.Errorf("helpers gave %x", s[:24])
				}
				return nil
			}},
	}
	var names []string
	for _, c := range cases {
		p, err := storfn.Load(objs.LoadVerifierOk, c.prog)
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.prog, err)
		}
		ctx := c.ctx
		in := append(append([]byte(nil), block[:ctx.Size]...), make([]byte, c.scratch)...)
		res, err := storfn.TestRunRaw(p, storfn.TestRunInput{Data: in, Ctx: &ctx, DataOutCap: c.scratch, CtxOutSize: storfn.CtxSize})
		p.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.prog, err)
		}
		if err := c.check(res.Scratch, res.Ctx); err != nil {
			return "", fmt.Errorf("%s: %w", c.prog, err)
		}
		names = append(names, c.prog)
	}
	return "accepted and computed right: " + strings.Join(names, ", ") + " (variable offsets to byte 4095 of block and scratch, narrow loads of every scalar field, IRQ-safe helpers)", nil
}

// testPointerLeak: a program storing ctx->data into the scratch (copied
// back to user space) is refused to a loader without CAP_PERFMON, like a
// pointer stored into a map; with CAP_PERFMON the kernel allows pointer
// leaks (bpf_allow_ptr_leaks()) for this type as for every other.
func testPointerLeak(e *env) (string, error) {
	// perfmon_capable() is CAP_PERFMON or CAP_SYS_ADMIN: keep CAP_BPF only
	err := withCaps([]int{capBPF}, func() error {
		p, err := storfn.Load(objs.LoadChainBad, objs.ChainBadProgLeakDataPtr)
		if err == nil {
			p.Close()
			return errors.New("loaded without CAP_PERFMON")
		}
		if !strings.Contains(err.Error(), "leaks addr into mem") {
			return fmt.Errorf("rejected for another reason: %s", tail(err.Error(), 6))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("with CAP_BPF alone: %w", err)
	}
	p, err := storfn.Load(objs.LoadChainBad, objs.ChainBadProgLeakDataPtr)
	if err != nil {
		return "", fmt.Errorf("with CAP_PERFMON (pointer leaks allowed): %w", err)
	}
	p.Close()
	return "storing ctx->data into the scratch: refused with CAP_BPF alone (\"leaks addr into mem\"), allowed with CAP_PERFMON or CAP_SYS_ADMIN (bpf_allow_ptr_leaks, as for maps)", nil
}

// testTestRunBad: BPF_PROG_TEST_RUN refuses inputs the context cannot
// describe, with the documented errno.
func testTestRunBad(e *env) (string, error) {
	block := make([]byte, 512)
	scr := make([]byte, 64)
	in := append(append([]byte(nil), block...), scr...)
	good := func() storfn.TestRunInput {
		return storfn.TestRunInput{Data: in, Ctx: &storfn.Ctx{Size: 512, ScratchLen: 64}, DataOutCap: 64, CtxOutSize: storfn.CtxSize}
	}
	cases := []struct {
		name string
		mod  func(*storfn.TestRunInput)
		want syscall.Errno
	}{
		{"flags", func(in *storfn.TestRunInput) { in.Flags = 1 }, unix.EINVAL},
		{"cpu", func(in *storfn.TestRunInput) { in.CPU = 1 }, unix.EINVAL},
		{"short ctx", func(in *storfn.TestRunInput) { in.CtxSizeIn = storfn.CtxSize - 8 }, unix.EINVAL},
		{"ctx with a data pointer", func(in *storfn.TestRunInput) { in.Ctx.Data = 0x1000 }, unix.EINVAL},
		{"ctx with a scratch pointer", func(in *storfn.TestRunInput) { in.Ctx.Scratch = 0x1000 }, unix.EINVAL},
		{"size past the block maximum", func(in *storfn.TestRunInput) {
			in.Ctx.Size, in.Ctx.ScratchLen = storfn.BlockMax+512, 0
			in.Data = make([]byte, storfn.BlockMax+512)
		}, unix.EINVAL},
		{"scratch past its maximum", func(in *storfn.TestRunInput) {
			in.Ctx.Size, in.Ctx.ScratchLen = 0, storfn.ScratchMax+8
			in.Data = make([]byte, storfn.ScratchMax+8)
		}, unix.EINVAL},
		{"sizes do not add up to data_in", func(in *storfn.TestRunInput) { in.Ctx.ScratchLen = 32 }, unix.EINVAL},
		{"data_out too small", func(in *storfn.TestRunInput) { in.DataOutCap = 8 }, unix.ENOSPC},
		{"ctx_out too small", func(in *storfn.TestRunInput) { in.CtxOutSize = 16 }, unix.ENOSPC},
	}
	for _, c := range cases {
		t := good()
		c.mod(&t)
		if _, err := storfn.TestRunRaw(e.prog, t); !errors.Is(err, c.want) {
			return "", fmt.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := storfn.TestRunRaw(e.prog, good()); err != nil {
		return "", fmt.Errorf("good input after the bad ones: %w", err)
	}
	return fmt.Sprintf("%d bad inputs give the documented errno", len(cases)), nil
}
