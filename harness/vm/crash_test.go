package vm

import "testing"

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
