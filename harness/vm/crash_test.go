package vm

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Real report first lines, as printed by Linux 6.x.
func TestScanLine(t *testing.T) {
	tests := []struct {
		line string
		kind string // "" for no crash
	}{
		{"[    2.345678] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300", "panic"},
		{"[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008", "BUG"},
		{"[    3.1] Oops: 0002 [#1] PREEMPT SMP NOPTI", "Oops"},
		{"[    5.2] ==================================================================", ""},
		{"[    5.2] BUG: KASAN: slab-out-of-bounds in nvme_handle_cqe+0x1a/0x200", "KASAN"},
		{"[    7.7] WARNING: CPU: 0 PID: 1 at drivers/nvme/host/pci.c:1107 nvme_handle_cqe+0x5/0x10", "WARNING"},
		{"[    9.0] WARNING: possible circular locking dependency detected", "lockdep"},
		{"[  123.4] INFO: task kworker/0:1:15 blocked for more than 120 seconds.", "hung task"},
		{"[   22.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [agent:1]", "soft lockup"},
		{"[    4.0] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283", "BUG"},
		{"[    4.0] kernel BUG at block/blk-mq.c:1234!", "kernel BUG"},
		{"[    4.0] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP", "GPF"},
		{"[    6.6] rcu: INFO: rcu_preempt self-detected stall on CPU", "rcu stall"},
		{"[    1.0] UBSAN: shift-out-of-bounds in lib/foo.c:12:3", "UBSAN"},
		{"[    0.5] nvme nvme0: 1/0/0 default/read/poll queues", ""},
		{"[    1.6] clocksource: Switched to clocksource tsc", ""},
		{"Run /init as init process", ""},
		// What the corpus showed missing or misnamed before.
		{"[    3.4] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI", "Oops"},
		{"[    3.9] Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP KASAN NOPTI", "GPF"},
		{"[    3.4] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", "Oops"},
		{"[    4.2] Unable to handle kernel paging request at virtual address dead000000000108", "BUG"},
		{"[    4.2] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008", "BUG"},
		{"[    4.2] Internal error: Oops: 0000000096000044 [#1] PREEMPT SMP", "Oops"},
		{"[    4.2] BUG: unable to handle page fault for address: ffffc90000a3f000", "BUG"},
		{"[    2.6] WARNING: suspicious RCU usage", "lockdep"},
		{"[    2.7] WARNING: inconsistent lock state", "lockdep"},
		{"[    2.7] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", "lockdep"},
		{"[    2.7] WARNING: bpfstor-ktest/97 still has locks held!", "lockdep"},
		{"[   61.0] INFO: rcu_sched detected stalls on CPUs/tasks:", "rcu stall"},
		{"[   61.0] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: {", "rcu stall"},
		{"[    4.7] refcount_t: underflow; use-after-free.", "refcount"},
		{"[    4.7] refcount_t: addition on 0; use-after-free.", "refcount"},
		{"[    6.5] list_add corruption. next->prev should be prev (ffff888004d01a48), but was ffff888004c7e0c0. (next=ffff888004c7e0c0).", "list corruption"},
		{"[    6.5] list_del corruption, ffff888004d01a48->next is LIST_POISON1 (dead000000000100)", "list corruption"},
		{"[    6.5] list_add double add: new=ffff888004d01a48, prev=ffff888004d01a48, next=ffff888004c7e0c0.", "list corruption"},
		{"[   30.0] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!", "workqueue lockup"},
		{"[    2.9] BUG: KFENCE: use-after-free read in storage_chain_end+0x34/0x90", "KFENCE"},
		{"[    3.0][    C0] WARNING: CPU: 0 PID: 0 at drivers/nvme/host/pci.c:1107 nvme_handle_cqe+0x5/0x10", "WARNING"},
		{"[    3.0] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", "hard lockup"},
		// Not kernel reports: no timestamp (user space wrote it), or the
		// words are not where the kernel starts a report.
		{"BUG: kernel NULL pointer dereference, address: 0000000000000008", ""},
		{"selftest: expect no BUG", ""},
		{"[    2.2] bpfstor-agent: selftest: expect no BUG: here", ""},
		{"[    2.2] bpfstor-agent: last WARNING: none; Oops: none", ""},
		{"    k_test.go:42: Kernel panic - not syncing: quoted", ""},
		{"[    0.3] watchdog: Delayed init of the lockup detector skipped", ""},
		{"[    0.0] rcu: Preemptible hierarchical RCU implementation.", ""},
		{"[   60.0] sysrq: Show Blocked State", ""},
		{"[    1.0] ------------[ cut here ]------------", ""},
		{"[    1.0] ---[ end Kernel panic - not syncing: Fatal exception ]---", ""},
	}
	for _, tt := range tests {
		c := ScanLine(tt.line)
		got := ""
		if c != nil {
			got = c.Kind
		}
		if got != tt.kind {
			t.Errorf("ScanLine(%q) = %q, want %q", tt.line, got, tt.kind)
		}
	}
}

func TestScanConsole(t *testing.T) {
	log := `[    1.0] Run /init as init process
[    2.0] bpfstor-agent: crash workload: exiting init on purpose
[    2.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300
[    2.1] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.117 #1
[    2.1] Call Trace:
[    2.1]  <TASK>
`
	c := ScanConsole(log, 2)
	if c == nil || c.Kind != "panic" {
		t.Fatalf("ScanConsole = %v, want panic", c)
	}
	if c.Line != "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300" {
		t.Errorf("Line = %q", c.Line)
	}
	if len(c.Context) != 2 || c.Context[1] != "Call Trace:" {
		t.Errorf("Context = %q", c.Context)
	}
	if ScanConsole("[ 1.0] all fine\n", 5) != nil {
		t.Error("clean console reported a crash")
	}
}

// want is one report a console must yield: its kind and the test it is
// attributed to ("" outside any test).
type want struct{ kind, test string }

// consoleCorpus is what the scanner must find in every file of
// testdata/consoles (README.md there says where each comes from).
var consoleCorpus = map[string][]want{
	"recorded-baseline.log":         nil,
	"recorded-issue10-11-after.log": nil,
	"false-positives.log":           nil,
	"sysrq-dump.log":                nil,
	"kasan-uaf.log":                 {{"KASAN", "TestChain/driver/hop-limit"}},
	"lockdep-inconsistent.log":      {{"lockdep", "TestChain/driver/pread-identical"}},
	"lockdep-circular.log":          {{"lockdep", "TestUring/teardown"}},
	"suspicious-rcu.log":            {{"lockdep", "TestVerifier/rejects-oob"}},
	"warning-boot.log":              {{"WARNING", ""}},
	"printk-caller.log":             {{"WARNING", "TestChain/driver/hop-limit"}},
	"hung-task.log":                 {{"hung task", "TestFault/every-hop/timeout"}},
	"soft-lockup.log":               {{"soft lockup", "TestChain/driver/hop-limit"}},
	"rcu-stall.log":                 {{"rcu stall", "TestStress/driver"}},
	"rcu-stall-old.log":             {{"rcu stall", ""}},
	"null-deref.log": {
		{"BUG", "TestChain/syscall/pread-identical"},
		{"Oops", "TestChain/syscall/pread-identical"},
		{"panic", "TestChain/syscall/pread-identical"},
	},
	"panic-init.log": {{"panic", ""}},
	"refcount-underflow.log": {
		{"refcount", "TestUring/cancel"},
		{"WARNING", "TestUring/cancel"},
	},
	"list-corruption.log": {
		{"list corruption", "TestThreads/driver"},
		{"kernel BUG", "TestThreads/driver"},
		{"Oops", "TestThreads/driver"},
	},
	"kernel-bug.log": {
		{"kernel BUG", "TestChain/driver/bad-offset"},
		{"Oops", "TestChain/driver/bad-offset"},
		{"panic", "TestChain/driver/bad-offset"},
	},
	"gpf.log":             {{"GPF", "TestUring/teardown"}},
	"arm64-paging.log":    {{"BUG", ""}, {"Oops", ""}},
	"ubsan.log":           {{"UBSAN", "TestChain/driver/hop-limit"}},
	"sleeping-atomic.log": {{"BUG", "TestChain/driver/signal"}},
	"attribution.log": {
		{"WARNING", ""}, // during boot, before any test
		{"BUG", "TestChain/driver/pread-identical"},
		{"refcount", "TestChain/driver"}, // the subtest had ended
		{"WARNING", "TestChain/driver"},
		{"hung task", "TestUring/teardown"}, // markers written by user space
		{"panic", ""},                       // after every test ended
	},
}

// TestConsoleCorpus scans every console of testdata/consoles and checks
// every report found (kind and attributed test), and that a file with no
// entry in consoleCorpus fails the test, so that the corpus and the table
// stay in step.
func TestConsoleCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "consoles", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no consoles in testdata/consoles: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			wants, ok := consoleCorpus[name]
			if !ok {
				t.Fatalf("%s is not in consoleCorpus: add what it must yield", name)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := ScanAllConsole(string(b), 40)
			var gotW []want
			for _, r := range got {
				gotW = append(gotW, want{r.Kind, r.Test})
			}
			if !reflect.DeepEqual(gotW, wants) {
				t.Errorf("reports = %v, want %v", gotW, wants)
			}
			first := ScanConsole(string(b), 40)
			if (first == nil) != (len(wants) == 0) || (first != nil && first.Kind != wants[0].kind) {
				t.Errorf("ScanConsole = %v, want the first of %v", first, wants)
			}
			lines := splitLines(string(b))
			for _, r := range got {
				if live := ScanLine(lines[r.LineNo-1]); live == nil || live.Kind != r.Kind {
					t.Errorf("line %d: ScanLine = %v, want %s (the live scanner and ScanAll disagree)", r.LineNo, live, r.Kind)
				}
				if strings.HasPrefix(r.Line, "[") {
					t.Errorf("line %d: Line %q keeps its timestamp", r.LineNo, r.Line)
				}
			}
		})
	}
	for name := range consoleCorpus {
		if !seen[name] {
			t.Errorf("consoleCorpus lists %s, which is not in testdata/consoles", name)
		}
	}
}

// TestRecordedConsoles scans the consoles of every recorded run in
// experiments/recorded: each was a clean run, so none may show a crash.
func TestRecordedConsoles(t *testing.T) {
	root := filepath.Join("..", "..", "experiments", "recorded")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "console.log" {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if r := ScanAllConsole(string(b), 5); len(r) > 0 {
			t.Errorf("%s: a clean recorded run scans as %v", path, r[0].Crash)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	if n == 0 {
		t.Skipf("no console.log under %s", root)
	}
}

// TestScanAllContext checks a report's body: timestamps stripped, cut at
// the report's end line and before a test marker, and the lines of a
// report another one follows kept with the first.
func TestScanAllContext(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "consoles", "null-deref.log"))
	if err != nil {
		t.Fatal(err)
	}
	r := ScanAllConsole(string(b), 100)
	if len(r) != 3 {
		t.Fatalf("%d reports, want 3", len(r))
	}
	if r[0].Line != "BUG: kernel NULL pointer dereference, address: 0000000000000008" || r[0].LineNo != 2 {
		t.Errorf("first report %q at line %d", r[0].Line, r[0].LineNo)
	}
	if c := r[0].Context; len(c) < 5 || c[0] != "#PF: supervisor read access in kernel mode" || c[3] != "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI" ||
		c[len(c)-1] != "---[ end trace 0000000000000000 ]---" {
		t.Errorf("BUG context = %q", c)
	}
	if c := r[2].Context; len(c) != 2 || c[1] != "---[ end Kernel panic - not syncing: Fatal exception ]---" {
		t.Errorf("panic context = %q", c)
	}
	b, err = os.ReadFile(filepath.Join("testdata", "consoles", "attribution.log"))
	if err != nil {
		t.Fatal(err)
	}
	r = ScanAllConsole(string(b), 100)
	if c := r[1].Context; len(c) != 1 || !strings.HasPrefix(c[0], "in_atomic(): 1") {
		t.Errorf("the context ran past the test's end marker: %q", c)
	}
	if c := ScanAllConsole(string(b), 0)[0].Context; len(c) != 0 {
		t.Errorf("contextLines 0 gave %q", c)
	}
}

func TestMarkers(t *testing.T) {
	tests := []struct {
		line  string
		start bool
		name  string
		ok    bool
	}{
		{"[    2.0] " + StartMarker("TestChain/driver"), true, "TestChain/driver", true},
		{EndMarker("TestChain/driver") + " fail", false, "TestChain/driver", true},
		{"[    2.0][   T97] bpfstor-test: end TestA pass\r", false, "TestA", true},
		{"bpfstor-test: start ", false, "", false},
		{"bpfstor-test: begin TestA", false, "", false},
		{"[    2.0] bpfstor-agent: bpfstor-test: start TestA", false, "", false},
		{"    k_test.go:3: bpfstor-test: start TestA", false, "", false},
	}
	for _, tt := range tests {
		start, name, ok := marker(tt.line)
		if start != tt.start || name != tt.name || ok != tt.ok {
			t.Errorf("marker(%q) = %v %q %v, want %v %q %v", tt.line, start, name, ok, tt.start, tt.name, tt.ok)
		}
	}
}
