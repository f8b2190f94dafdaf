package testreport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// kasanLines is the body of a real KASAN report (shortened), with the
// terminal escapes and control characters consoles carry.
var kasanLines = []string{
	"BUG: KASAN: slab-use-after-free in nvme_handle_cqe+0x1a/0x200",
	"Read of size 8 at addr ffff888003a1c0e8 by task ktest/97",
	"\x1b[0;31mCPU: 0 UID: 0 PID: 97 Comm: ktest Not tainted 6.12.57 #1\x1b[0m",
	"Call Trace:\r",
	" <IRQ>",
	"  dump_stack_lvl+0x5d/0x80 \x07\x00<bell & nul>",
}

// sampleSuite is a run with every kind of result: passes, a skip, a
// failure, a crash, a repeated name, nesting three deep and text that
// needs escaping in every format.
func sampleSuite() *Suite {
	s := &Suite{
		Name: "bpfstor-ktest", Kernel: "6.12.57-bpfstor", Variant: "debug", Hostname: "ci-1",
		Started:    time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC),
		Duration:   4200 * time.Millisecond,
		Properties: []Property{{"accel", "tcg"}, {"series", "a1b2c3 <v3> & \"friends\""}},
	}
	s.Add(&Test{Name: "uring/teardown", Duration: 3 * time.Millisecond, Output: []string{"k_test.go:11: ring fd 3, 8 chains in flight"}})
	s.Add(&Test{Name: "uring/cancel", Status: Skip, Message: "IORING_OP_CHAIN_READ not in this kernel"})
	s.Add(&Test{Name: "uring", Duration: 5 * time.Millisecond})
	s.Add(&Test{Name: "chain/driver/pread-identical", Status: Fail, Duration: 1500 * time.Millisecond,
		Message: "chain 17: block 9 = 0x1200, want 0x1400 # not <0x1400>",
		Output:  []string{"k_test.go:22: depth 10, 1000 chains", "k_test.go:23: chain 17: block 9 = 0x1200, want 0x1400 # not <0x1400>"}})
	s.Add(&Test{Name: "chain/driver/hop-limit", Duration: 20 * time.Millisecond})
	s.Add(&Test{Name: "chain/syscall/pread-identical", Duration: 900 * time.Millisecond})
	s.Add(&Test{Name: "verifier/rejects-oob"})
	s.Add(&Test{Name: "verifier/rejects-oob#01"})
	s.AttachCrash("chain/driver/hop-limit", &Crash{Kind: "KASAN", Lines: kasanLines})
	s.AttachCrash("chain/driver/hop-limit", &Crash{Kind: "panic", Lines: []string{"Kernel panic - not syncing: KASAN: panic_on_warn set ...", "---[ end Kernel panic - not syncing: KASAN: panic_on_warn set ... ]---"}})
	return s
}

// harnessSuite failed outside its tests: a crash before any test ran and
// a test binary that never finished.
func harnessSuite() *Suite {
	s := &Suite{Name: "bpfstor-ktest", Kernel: "6.12.57-bpfstor", Variant: "default",
		Error: "guest hung: no event for 120s (sysrq task dump in console.log)"}
	s.Add(&Test{Name: "uring/teardown"})
	s.AttachCrash("", &Crash{Kind: "WARNING", Lines: []string{"WARNING: CPU: 0 PID: 1 at drivers/nvme/host/pci.c:1107 nvme_handle_cqe+0x5/0x10", "Modules linked in:"}})
	s.AttachCrash("", &Crash{Kind: "hung task", Lines: []string{"INFO: task ktest:97 blocked for more than 120 seconds."}})
	return s
}

func parsed(t *testing.T, file string) *Suite {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseTest2JSON(f, ParseOptions{Suite: "bpfstor-ktest", Rename: TrimTestPrefix})
	if err != nil {
		t.Fatalf("ParseTest2JSON(%s): %v", file, err)
	}
	return s
}

// goldenSuites are the suites every writer's output is kept of, by name.
func goldenSuites(t *testing.T) map[string]*Suite {
	allSkip := &Suite{Name: "bpfstor-ktest"}
	allSkip.Add(&Test{Name: "fault/every-hop/eio", Status: Skip, Message: "no blkdebug in this QEMU"})
	allSkip.Add(&Test{Name: "fault/every-hop/timeout", Status: Skip, Message: "no blkdebug in this QEMU"})
	return map[string]*Suite{
		"sample":  sampleSuite(),
		"harness": harnessSuite(),
		"empty":   {Name: "bpfstor-ktest"},
		"allskip": allSkip,
		"run":     parsed(t, "run.jsonl"),
		"panic":   parsed(t, "panic.jsonl"),
		"hang":    parsed(t, "hang.jsonl"),
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it); got:\n%s", path, t.Name(), got)
	}
}
