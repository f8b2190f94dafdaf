package testreport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/testreport"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// attach is how `bpfstor test` joins the two halves: every report the
// console scanner finds goes to the test the markers say was running.
func attach(s *testreport.Suite, console string) {
	for _, r := range vm.ScanAllConsole(console, 40) {
		s.AttachCrash(testreport.TrimTestPrefix(r.Test), &testreport.Crash{Kind: r.Kind, Lines: append([]string{r.Line}, r.Context...)})
	}
}

// TestCrashAttribution runs the test2json stream of testdata/run.jsonl
// against a console whose markers name its tests: a KASAN report inside
// chain/driver/hop-limit (which go test passed) must fail it, its groups
// and the run, and a WARNING during boot must fail the run as the
// harness test.
func TestCrashAttribution(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := testreport.ParseTest2JSON(f, testreport.ParseOptions{Suite: "bpfstor-ktest", Rename: testreport.TrimTestPrefix})
	if err != nil {
		t.Fatal(err)
	}
	console := strings.Join([]string{
		"[    0.912733] ------------[ cut here ]------------",
		"[    0.912901] WARNING: CPU: 0 PID: 1 at drivers/nvme/host/pci.c:1107 nvme_handle_cqe+0x5/0x10",
		"[    0.915182] ---[ end trace 0000000000000000 ]---",
		"[    2.000001] " + vm.StartMarker("TestChain/driver/hop-limit"),
		"[    2.300011] BUG: KASAN: slab-use-after-free in nvme_handle_cqe+0x6b4/0x7a0",
		"[    2.300433] Read of size 8 at addr ffff888004b1c0e8 by task swapper/0/0",
		"[    2.400001] " + vm.EndMarker("TestChain/driver/hop-limit") + " pass",
		"[    2.500001] " + vm.StartMarker("TestUring/teardown"),
		"[    2.600001] " + vm.EndMarker("TestUring/teardown") + " pass",
	}, "\n")
	attach(s, console)

	hop := s.Lookup("chain/driver/hop-limit")
	if hop.Status != testreport.Pass || hop.Result() != testreport.Fail || len(hop.Crashes) != 1 || hop.Crashes[0].Kind != "KASAN" ||
		hop.Crashes[0].Lines[1] != "Read of size 8 at addr ffff888004b1c0e8 by task swapper/0/0" {
		t.Errorf("hop-limit = %+v", hop)
	}
	if s.Lookup("uring/teardown").Result() != testreport.Pass {
		t.Error("uring/teardown saw no crash but does not pass")
	}
	if len(s.Crashes) != 1 || s.Crashes[0].Kind != "WARNING" {
		t.Errorf("suite crashes = %+v", s.Crashes)
	}
	if v := testreport.Judge(s, false); v.Code != 1 || !strings.HasPrefix(v.Reason, "kernel crash outside any test: WARNING") {
		t.Errorf("Judge = %+v", v)
	}
	var b strings.Builder
	if err := testreport.WriteKTAP(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"    # crash: BUG: KASAN: slab-use-after-free in nvme_handle_cqe+0x6b4/0x7a0\n    #   Read of size 8",
		"    not ok 2 hop-limit\n",
		"not ok 5 harness # ERROR kernel crash outside any test: WARNING: CPU: 0 PID: 1 at drivers/nvme/host/pci.c:1107",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("KTAP lacks %q:\n%s", want, b.String())
		}
	}
}
