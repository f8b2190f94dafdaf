package selftest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

const childEnv = "BPFSTOR_SELFTEST_CHILD"

// init runs the child side of the fatal-signal tests when this binary was
// re-executed by testFatalSignal or testURingKill; it never returns then.
func init() {
	switch os.Getenv(childEnv) {
	case "":
		return
	case "uring-kill":
		os.Exit(uringKillChild())
	}
	os.Exit(childMain())
}

// childMain loops endless chains (each ends with ELOOP at the hop limit)
// until killed.
func childMain() int {
	dev := os.Getenv("BPFSTOR_SELFTEST_DEV")
	flags, _ := strconv.Atoi(os.Getenv("BPFSTOR_SELFTEST_FLAGS"))
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_DIRECT, 0) // every hop a real, throttled read
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	p, err := storfn.Load(objs.LoadChain, objs.ChainProgChain)
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	scr := storfn.ChainScratch{Seed: 1, Nblocks: 1, Depth: 1, Mode: storfn.ModeEndless}.Marshal()
	buf := make([]byte, 512)
	fmt.Println("ready")
	for {
		storfn.ChainRead(int(f.Fd()), buf, 0, p.FD(), scr, uint32(flags))
	}
}

func testFatalSignal(e *env) (string, error) {
	restore, err := setInt(storfn.SysctlMaxHops, storfn.HardMaxHops)
	if err != nil {
		return "", err
	}
	defer restore()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	r, err := newReader(e.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	// On the slow disk a chain of HardMaxHops hops lasts about
	// HardMaxHops/SlowIOPS seconds (~100 s): a kill must end it within a
	// hop or two, which only the per-hop signal checks do.
	slow, err := findDisk(testdisk.Serial(testdisk.Slow))
	if err != nil {
		return "", err
	}
	const bound = 3 * time.Second
	msg := ""
	for _, fl := range levels {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), childEnv+"=fatal-signal",
			"BPFSTOR_SELFTEST_DEV="+slow,
			"BPFSTOR_SELFTEST_FLAGS="+strconv.Itoa(int(fl)))
		out, err := cmd.StdoutPipe()
		if err != nil {
			return "", err
		}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			return "", fmt.Errorf("child: %q", line)
		}
		time.Sleep(500 * time.Millisecond) // inside a ~100 s chain by now
		killed := time.Now()
		cmd.Process.Signal(syscall.SIGKILL)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(120 * time.Second):
			return "", fmt.Errorf("%s: child still alive 120 s after SIGKILL (chain not ended)", levelName(fl))
		}
		if took := time.Since(killed); took > bound {
			return "", fmt.Errorf("%s: child reaped %v after SIGKILL, more than %v: the chain was not ended early (at most %d hops of %d ms)",
				levelName(fl), took.Round(time.Millisecond), bound, storfn.HardMaxHops, 1000/testdisk.SlowIOPS)
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			return "", fmt.Errorf("%s: child ended with %v, want SIGKILL", levelName(fl), cmd.ProcessState)
		}
		msg += fmt.Sprintf("%s: killed child reaped after %v; ", levelName(fl), time.Since(killed).Round(time.Millisecond))
		if err := e.checkChain(r, e.randomChain(8), fl); err != nil {
			return "", fmt.Errorf("chain after the kill: %w", err)
		}
	}
	return msg + fmt.Sprintf("each within %v of SIGKILL in a ~%d s chain; chains work afterwards", bound, storfn.HardMaxHops/testdisk.SlowIOPS), nil
}
