// Package e2e holds the end-to-end tests: they build the (cached) kernel and
// guest image, boot real QEMU machines under TCG and run real workloads.
// They run when BPFSTOR_E2E=1 (make test sets it) and are skipped otherwise.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/guest"
	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
	"github.com/bpfstor/bpfstor/harness/spec"
	"github.com/bpfstor/bpfstor/harness/vm"
	"github.com/bpfstor/bpfstor/images/guestimg"
	"github.com/bpfstor/bpfstor/internal/testfs"
)

type fixture struct {
	env    *runner.Env
	kernel *kbuild.Kernel
	img    *guestimg.Initramfs
	data   *guestimg.Data
}

var fx *fixture

func setup(t *testing.T) *fixture {
	t.Helper()
	if os.Getenv("BPFSTOR_E2E") != "1" {
		t.Skip("end-to-end test: set BPFSTOR_E2E=1 (make test does)")
	}
	if fx != nil {
		return fx
	}
	wd, _ := os.Getwd()
	repo, err := runner.FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	e := &runner.Env{Repo: repo, Cache: runner.DefaultCache(), Results: t.TempDir(), Progress: testWriter{t}}
	ctx := context.Background()
	k, err := e.Kernel(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Initramfs(ctx, []string{"fio"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := guestimg.BuildPattern(filepath.Join(e.Cache, "images"), 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	fx = &fixture{env: e, kernel: k, img: img, data: d}
	return fx
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func qemuCount(t *testing.T) int {
	// Only this test process's machines: other engineers' and CI jobs'
	// VMs on the same host come and go meanwhile.
	out, _ := exec.Command("pgrep", "-c", "-P", strconv.Itoa(os.Getpid()), "-f", "qemu-system-x86_64 -name bpfstor").Output()
	n := 0
	for _, c := range strings.TrimSpace(string(out)) {
		n = n*10 + int(c-'0')
	}
	return n
}

func writeSpec(t *testing.T, text string) *spec.Spec {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.toml")
	os.WriteFile(p, []byte(text), 0o644)
	s, err := spec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runSpec(t *testing.T, text string) (*results.Result, string) {
	t.Helper()
	f := setup(t)
	before := qemuCount(t)
	res, dir, err := runner.Run(context.Background(), f.env, writeSpec(t, text), runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := qemuCount(t); n > before {
		t.Errorf("%d qemu process(es) left behind", n-before)
	}
	if res.Status != results.StatusOK {
		t.Logf("run %s: %s: %s (%d points; console %s)", dir, res.Status, res.Reason, len(res.Points), filepath.Join(dir, "console.log"))
	}
	// What was written is what was returned.
	onDisk, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Status != res.Status || len(onDisk.Points) != len(res.Points) {
		t.Errorf("result.json (%s, %d points) differs from the returned result (%s, %d)", onDisk.Status, len(onDisk.Points), res.Status, len(res.Points))
	}
	return res, dir
}

func TestBaseline(t *testing.T) {
	res, dir := runSpec(t, `name = "e2e-baseline"
[vm]
accel = "tcg"
[[workload]]
kind = "pread"
ops = 2000
warmup = 200
[[workload]]
kind = "fio"
ops = 1000
`)
	if res.Status != results.StatusOK {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	if len(res.Points) != 2 {
		t.Fatalf("%d points, want 2", len(res.Points))
	}
	// The two run in an order drawn from the run seed: find them by kind.
	p, f := res.Points[0], res.Points[1]
	if p.Workload.Kind != proto.KindPread {
		p, f = f, p
	}
	if p.Ops != 2000 || p.Checked != 2000 || p.Wrong != 0 {
		t.Errorf("pread ops %d checked %d wrong %d, want 2000/2000/0", p.Ops, p.Checked, p.Wrong)
	}
	if p.Latency == nil || p.Latency.Count() != 2000 {
		t.Errorf("pread histogram missing or wrong count")
	}
	if s := p.Summary; s == nil || s.P50Ns <= 0 || s.P99Ns < s.P50Ns || s.MaxNs < s.P99Ns {
		t.Errorf("implausible summary %+v", s)
	}
	for _, q := range res.Points {
		if q.ClocksourceBefore != "tsc" || q.ClocksourceAfter != "tsc" {
			t.Errorf("%s: clocksource %s -> %s, want tsc", q.ID, q.ClocksourceBefore, q.ClocksourceAfter)
		}
	}
	if f.Workload.Kind != proto.KindFio || f.Ops != 1000 || f.Summary == nil || f.Summary.P50Ns <= 0 {
		t.Errorf("fio point %+v", f)
	}
	m := res.Meta
	if m.Accel != "tcg" || m.QEMUVersion == "" || m.KernelRelease == "" || m.ConfigHash == "" || m.GuestClocksource != "tsc" || len(m.QEMUCmdline) == 0 {
		t.Errorf("metadata incomplete: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "console.log")); err != nil {
		t.Error(err)
	}
	// The report of a real run: Markdown, CSV and figures.
	if err := report.Write(dir, res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{report.MarkdownFile, report.CSVFile, "latency.png", "cdf.png"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report file %s missing or empty", f)
		}
	}
}

func TestCrashKeepsPoints(t *testing.T) {
	res, dir := runSpec(t, `name = "e2e-crash"
[vm]
accel = "tcg"
[run]
order = "spec"
[[workload]]
kind = "sleep"
ops = 10
[[workload]]
kind = "crash"
`)
	if res.Status != results.StatusPartial {
		t.Fatalf("status %s, want partial", res.Status)
	}
	if !strings.Contains(res.Reason, "kernel crash") || !strings.Contains(res.Reason, "Kernel panic") || !strings.Contains(res.Reason, "console.log") {
		t.Errorf("reason %q does not name the panic and the console", res.Reason)
	}
	if len(res.Points) != 1 || res.Points[0].Status != proto.StatusOK {
		t.Errorf("the point measured before the crash was not kept: %+v", res.Points)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "console.log"))
	if !strings.Contains(string(b), "Kernel panic") {
		t.Error("console.log lacks the panic")
	}
}

func TestFailedPointKeepsRun(t *testing.T) {
	res, _ := runSpec(t, `name = "e2e-failio"
[vm]
accel = "tcg"
[run]
order = "spec"
[[workload]]
kind = "failio"
[[workload]]
kind = "sleep"
ops = 1
`)
	if res.Status != results.StatusPartial || len(res.Points) != 2 {
		t.Fatalf("status %s with %d points, want partial with 2 (reason: %s)", res.Status, len(res.Points), res.Reason)
	}
	if p := res.Points[0]; p.Status != proto.StatusFailed || !strings.Contains(p.Error, "no such file") {
		t.Errorf("failio point: %s %q", p.Status, p.Error)
	}
}

func TestBootTimeout(t *testing.T) {
	f := setup(t)
	dir := t.TempDir()
	before := qemuCount(t)
	start := time.Now()
	out, err := guest.Run(context.Background(), vm.Config{
		Kernel: f.kernel.BzImage, Initramfs: f.img.Path, Accel: "tcg", Dir: dir,
		Disks: []vm.Disk{{Path: f.data.Path}},
	}, &proto.Job{Name: "t"}, guest.Options{BootTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if out.Complete || !errors.Is(out.Err, guest.ErrNoHello) || !strings.Contains(out.Reason, "boot timeout") || !strings.Contains(out.Reason, "console") {
		t.Errorf("outcome %+v, want a boot timeout naming the console", out)
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("stopping a timed-out machine took %v", time.Since(start))
	}
	if n := qemuCount(t); n > before {
		t.Errorf("qemu left behind after a boot timeout")
	}
}

func TestQEMUStartFailure(t *testing.T) {
	f := setup(t)
	_, err := guest.Run(context.Background(), vm.Config{
		Kernel: f.kernel.BzImage, Initramfs: f.img.Path, Accel: "tcg", Dir: t.TempDir(),
		Extra: []string{"-device", "no-such-device"},
	}, &proto.Job{Name: "t"}, guest.Options{})
	if err == nil || !strings.Contains(err.Error(), "no-such-device") {
		t.Errorf("err = %v, want QEMU's stderr naming the bad device", err)
	}
}

// needSeries skips a test of the kernel feature when the tree has no patch
// series yet (the feature does not exist without it).
func needSeries(t *testing.T) {
	t.Helper()
	f := setup(t)
	if len(f.kernel.Patches) == 0 {
		if ps, _ := filepath.Glob(filepath.Join(f.env.Repo, "kernel", "patches", "*.patch")); len(ps) > 0 {
			t.Fatalf("the tree has %d patches in kernel/patches, the kernel under test none", len(ps))
		}
		t.Skip("kernel/patches holds no series: the storage-function feature is not in this kernel")
	}
}

// ktestSpec runs the in-guest tests of the kernel feature (kernel/selftest)
// with extra [vm] lines.
func ktestSpec(name, vmExtra, kernelVariant string) string {
	return fmt.Sprintf(`name = %q
[kernel]
variant = %q
[vm]
accel = "tcg"
memory_mb = 1024
boot_timeout = "5m"
job_timeout = "20m"
%s
[[workload]]
kind = "ktest"
`, name, kernelVariant, vmExtra)
}

// checkKTests fails t unless the ktest run passed and skipped exactly the
// tests in mayskip: a test that cannot run where it should counts as a
// failure, not a pass.
func checkKTests(t *testing.T, res *results.Result, dir string, mayskip ...string) {
	t.Helper()
	allowed := map[string]bool{}
	for _, n := range mayskip {
		allowed[n] = true
	}
	ran := 0
	for _, p := range res.Points {
		for _, tr := range p.Tests {
			t.Logf("%-40s pass=%v skip=%v %s", tr.Name, tr.Pass, tr.Skip, tr.Message)
			ran++
			if tr.Skip && !allowed[tr.Name] {
				t.Errorf("%s skipped here: %s", tr.Name, tr.Message)
			}
			if !tr.Skip && allowed[tr.Name] {
				t.Errorf("%s ran where it should have skipped", tr.Name)
			}
		}
	}
	if res.Status != results.StatusOK {
		t.Fatalf("status %s: %s (console: %s)", res.Status, res.Reason, filepath.Join(dir, "console.log"))
	}
	if len(res.Points) != 1 || ran < 30 {
		t.Fatalf("%d points, %d test results", len(res.Points), ran)
	}
}

// TestKernelFeatureSelftests runs the quick in-guest tests through the
// command a kernel developer runs, `bpfstor test`, on the default kernel.
func TestKernelFeatureSelftests(t *testing.T) {
	needSeries(t)
	// one controller: the multipath test has nothing to fail over to
	runKTestCLI(t, []string{"multipath/failover", "multipath/path-error"})
}

// TestKernelFeatureSelftestsThreadedIRQ runs the quick in-guest tests with
// nvme-pci's completions in threaded interrupt handlers (preemptible): the
// driver path must work there too.
func TestKernelFeatureSelftestsThreadedIRQ(t *testing.T) {
	needSeries(t)
	res, dir := runSpec(t, ktestSpec("e2e-ktest-threaded", `cmdline = ["nvme.use_threaded_interrupts=1"]`, "default"))
	checkKTests(t, res, dir, "multipath/failover", "multipath/path-error")
	if !strings.Contains(res.Meta.GuestCmdline, "nvme.use_threaded_interrupts=1") {
		t.Errorf("guest command line %q lacks the threaded-interrupt option", res.Meta.GuestCmdline)
	}
}

func TestChainModesAgree(t *testing.T) {
	needSeries(t)
	res, _ := runSpec(t, `name = "e2e-chain"
[vm]
accel = "tcg"
cmdline = ["nvme.poll_queues=1"]
[[workload]]
kind = "chain"
ops = 50
depth = [1, 4]
mode = ["pread", "syscall", "driver", "driver-poll"]
`)
	if res.Status != results.StatusOK {
		for _, p := range res.Points {
			t.Logf("%s %s %s", p.ID, p.Status, p.Error)
		}
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	if len(res.Points) != 8 {
		t.Fatalf("%d points, want 8", len(res.Points))
	}
	for _, p := range res.Points {
		if p.Ops != 50 || p.Checked != 50 || p.Wrong != 0 {
			t.Errorf("%s: ops %d checked %d wrong %d", p.ID, p.Ops, p.Checked, p.Wrong)
		}
		// every later hop of a driver chain is the driver's, polled or not
		if m := p.Workload.Mode; (m == "driver" || m == "driver-poll") && p.Workload.Depth == 4 {
			if dh := hopsOf(p).DriverHops; dh != 3*p.Ops {
				t.Errorf("%s: driver resubmitted %v hops, want %d", p.ID, dh, 3*p.Ops)
			}
		}
	}
}

func TestResume(t *testing.T) {
	text := `name = "e2e-resume"
[vm]
accel = "tcg"
[run]
repetitions = 2
[[workload]]
kind = "sleep"
ops = 5
`
	first, dir1 := runSpec(t, text)
	if first.Status != results.StatusOK || len(first.Points) != 2 {
		t.Fatalf("first run: %s, %d points", first.Status, len(first.Points))
	}
	second, dir2 := runSpec(t, text)
	if second.Status != results.StatusOK || len(second.Points) != 2 {
		t.Fatalf("second run: %s, %d points", second.Status, len(second.Points))
	}
	for _, p := range second.Points {
		if p.ReusedFrom != dir1 || p.InputHash == "" {
			t.Errorf("%s: reused from %q (hash %q), want %q", p.ID, p.ReusedFrom, p.InputHash, dir1)
		}
	}
	if _, err := os.Stat(filepath.Join(dir2, "console.log")); err == nil {
		t.Error("a fully resumed run booted a VM")
	}
	f := setup(t)
	forced, _, err := runner.Run(context.Background(), f.env, writeSpec(t, text), runner.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range forced.Points {
		if p.ReusedFrom != "" {
			t.Errorf("--force reused %s", p.ID)
		}
	}
}

// TestKernelFeatureSelftestsDebug runs the same in-guest tests (through
// `bpfstor test`) on the debug kernel (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, fault injection, NVMe
// multipath) with the data disk shared by two controllers: the console
// scanner fails the run on any splat, and the multipath failover test runs.
func TestKernelFeatureSelftestsDebug(t *testing.T) {
	needSeries(t)
	if testing.Short() {
		t.Skip("builds the debug kernel")
	}
	// bpfstor test gives the debug kernel two NVMe paths and acpi=noirq
	// (runner.TestSpec); every test must run.
	runKTestCLI(t, nil, "--variant", "debug", "--require-all")
}

// TestBTreeLookups runs B+-tree point lookups (images/agent/workload/btree.go,
// bpf/progs/btree.c) in all three modes on a depth-2 tree (fanout 31) and a
// depth-4 low-fanout tree: every answer must be checked and right, the three
// modes must read the same blocks for the same keys, and the driver must
// have resubmitted hops itself.
func TestBTreeLookups(t *testing.T) {
	needSeries(t)
	for _, tc := range []struct {
		name, data, dist string
		depth            int
		points           int
	}{
		{"depth2", "keys = 500\nfanout = 31", `"uniform"`, 2, 3},
		{"depth4", "keys = 150\nfanout = 3", `["uniform", "zipf"]`, 4, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, dir := runSpec(t, `name = "e2e-btree-`+tc.name+`"
[vm]
accel = "tcg"
[data]
kind = "btree"
`+tc.data+`
[[workload]]
kind = "btree"
ops = 100
warmup = 10
mode = ["pread", "syscall", "driver"]
dist = `+tc.dist+`
`)
			for _, p := range res.Points {
				t.Logf("%s", runner.PointLine(p))
			}
			if res.Status != results.StatusOK {
				t.Fatalf("status %s: %s (console: %s)", res.Status, res.Reason, filepath.Join(dir, "console.log"))
			}
			if len(res.Points) != tc.points {
				t.Fatalf("%d points, want %d", len(res.Points), tc.points)
			}
			hops := map[string]int64{} // by dist: the same keys in every mode
			for _, p := range res.Points {
				if p.Status != proto.StatusOK || p.Ops != 100 || p.Checked != p.Ops || p.Wrong != 0 {
					t.Errorf("%s: status %s ops %d checked %d wrong %d %s", p.ID, p.Status, p.Ops, p.Checked, p.Wrong, p.Error)
				}
				bt, hp := btreeOf(p), hopsOf(p)
				if d := bt.Depth; d != tc.depth {
					t.Errorf("%s: tree depth %v, want %v", p.ID, d, tc.depth)
				}
				if bt.NotFound <= 0 || bt.Found <= 0 {
					t.Errorf("%s: found %v not found %v: both must be exercised", p.ID, bt.Found, bt.NotFound)
				}
				h := hp.Hops
				if prev, ok := hops[p.Workload.Dist]; ok && prev != h {
					t.Errorf("%s: %v blocks read, another mode read %v for the same keys", p.ID, h, prev)
				}
				hops[p.Workload.Dist] = h
				dh := hp.DriverHops
				switch p.Workload.Mode {
				case "driver":
					// Normally every hop after the first of each lookup is
					// the driver's; a fallback to the syscall is allowed.
					if dh <= 0 {
						t.Errorf("%s: driver_hops %v: the NVMe driver resubmitted nothing", p.ID, dh)
					} else if dh != h-p.Ops {
						t.Logf("%s: driver_hops %v of %v hops (some hops fell back to the syscall)", p.ID, dh, h)
					}
				case "syscall":
					if dh != 0 {
						t.Errorf("%s: driver_hops %v in syscall mode", p.ID, dh)
					}
				}
				// Range scans and sums (bpf/progs/btree_scan.c) checked too.
				if p.Workload.Mode != "pread" && bt.ScanChecked <= 0 {
					t.Errorf("%s: no range scans checked (scan_checked %v)", p.ID, bt.ScanChecked)
				}
			}
		})
	}
}

// TestBTreeRanges runs timed range and sum queries (bpf/progs/btree_scan.c
// in the kernel modes, the same walk from user space in pread) on a
// low-fanout tree, so that queries cross leaves and value-log blocks. Every
// answer is checked in the guest; the same keys are asked in every mode, so
// the blocks read must agree.
func TestBTreeRanges(t *testing.T) {
	needSeries(t)
	res, dir := runSpec(t, `name = "e2e-btree-ranges"
[vm]
accel = "tcg"
[data]
kind = "btree"
keys = 400
fanout = 4
[[workload]]
kind = "btree"
ops = 60
warmup = 5
op = ["range", "sum"]
span = [9, 40]
mode = ["pread", "syscall", "driver"]
`)
	if res.Status != results.StatusOK {
		t.Fatalf("status %s: %s (console: %s)", res.Status, res.Reason, filepath.Join(dir, "console.log"))
	}
	if len(res.Points) != 12 {
		t.Fatalf("%d points, want 12", len(res.Points))
	}
	hops := map[string]int64{}
	for _, p := range res.Points {
		t.Logf("%s", runner.PointLine(p))
		if p.Status != proto.StatusOK || p.Ops != 60 || p.Checked != p.Ops || p.Wrong != 0 {
			t.Errorf("%s: status %s ops %d checked %d wrong %d %s", p.ID, p.Status, p.Ops, p.Checked, p.Wrong, p.Error)
		}
		k := fmt.Sprintf("%s/%d", p.Workload.Op, p.Workload.Span)
		if prev, ok := hops[k]; ok && prev != hopsOf(p).Hops {
			t.Errorf("%s: %v blocks read, another mode read %v for the same queries", p.ID, hopsOf(p).Hops, prev)
		}
		hops[k] = hopsOf(p).Hops
		if p.Workload.Mode == "driver" && hopsOf(p).DriverHops == 0 {
			t.Errorf("%s: the NVMe driver resubmitted nothing", p.ID)
		}
	}
}

// A disk that fills up during a run: every point is still returned, the run
// is partial and says which point could not be recorded, and Run fails
// (the per-point writes used to fail silently and the run looked fine).
func TestFullResultsDisk(t *testing.T) {
	f := setup(t)
	testfs.NeedRoot(t, "mount a small tmpfs for the results")
	e := *f.env
	e.Results = testfs.Mount(t, "size=2m")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // fill the disk once the run has written its first result.json
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if m, _ := filepath.Glob(filepath.Join(e.Results, "*", results.FileName)); len(m) > 0 {
				testfs.Fill(t, filepath.Join(e.Results, "filler"))
				return
			}
		}
	}()
	s := writeSpec(t, `name = "e2e-full"
[vm]
accel = "tcg"
[run]
repetitions = 3
[[workload]]
kind = "sleep"
ops = 1500
`)
	res, _, err := runner.Run(context.Background(), &e, s, runner.Options{})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("Run: %v, want an error naming ENOSPC", err)
	}
	if res == nil {
		t.Fatal("no result returned: the measured points are lost")
	}
	if len(res.Points) != 3 || res.Status != results.StatusPartial || !strings.Contains(res.Reason, "could not be recorded") {
		t.Errorf("%d points, %s (%s), want 3 points, partial, naming the point not recorded", len(res.Points), res.Status, res.Reason)
	}
}

// QEMU killed or stopped from the host under a running job: the reason
// says QEMU died or was stopped, how, and what it printed (it used to say
// "control channel closed before done; console tail:" with an empty tail,
// or blame the guest for a SIGTERM to QEMU, which exits 0), and the point
// measured is kept.
func TestQEMUKilled(t *testing.T) {
	f := setup(t)
	for _, tt := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGKILL, "QEMU exited (killed by signal 9, killed) before the job was done; QEMU stderr"},
		{syscall.SIGTERM, "QEMU was stopped from the host (QMP SHUTDOWN host-signal: a signal such as SIGTERM) before the job was done"},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			pidfile := filepath.Join(dir, "qemu.pid")
			before := qemuCount(t)
			job := &proto.Job{Name: "t", Points: []proto.PointSpec{
				{ID: "short", Workload: proto.Workload{Kind: proto.KindSleep, Ops: 10}},
				{ID: "long", Workload: proto.Workload{Kind: proto.KindSleep, Ops: 60000}},
			}}
			out, err := guest.Run(context.Background(), vm.Config{
				Kernel: f.kernel.BzImage, Initramfs: f.img.Path, Accel: "tcg", Dir: dir,
				Disks: []vm.Disk{{Path: f.data.Path}}, Extra: []string{"-pidfile", pidfile},
			}, job, guest.Options{BootTimeout: 60 * time.Second, JobTimeout: 2 * time.Minute, OnPoint: func(p *proto.Point) {
				b, err := os.ReadFile(pidfile)
				if err != nil {
					t.Error(err)
					return
				}
				var pid int
				fmt.Sscan(string(b), &pid)
				if err := syscall.Kill(pid, tt.sig); err != nil {
					t.Error(err)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if out.Complete || !errors.Is(out.Err, guest.ErrQEMUExited) || !strings.Contains(out.Reason, tt.want) {
				t.Errorf("reason %q (%v), want %q", out.Reason, out.Err, tt.want)
			}
			if len(out.Points) != 1 {
				t.Errorf("%d points kept, want the 1 measured before the signal", len(out.Points))
			}
			if n := qemuCount(t); n > before {
				t.Errorf("qemu left behind")
			}
		})
	}
}

// Two runs of the same B+-tree spec at once on one cache and one results
// directory both finish (they used to collide on one temporary image
// name: "rename image into place: … .tmp: no such file or directory").
func TestConcurrentRuns(t *testing.T) {
	f := setup(t)
	e := *f.env
	e.Cache = t.TempDir() // a fresh cache: both runs build the images at once
	e.Results = t.TempDir()
	s := writeSpec(t, `name = "e2e-concurrent"
[vm]
accel = "tcg"
[data]
kind = "btree"
keys = 300000
fanout = 31
[[workload]]
kind = "btree"
mode = "pread"
ops = 200
`)
	// The kernel is shared (built or cached by setup); only images are new.
	kdir := filepath.Join(e.Cache, "kernel")
	os.MkdirAll(kdir, 0o755)
	if err := os.Symlink(filepath.Dir(f.kernel.BzImage), filepath.Join(kdir, filepath.Base(filepath.Dir(f.kernel.BzImage)))); err != nil {
		t.Fatal(err)
	}
	type out struct {
		res *results.Result
		dir string
		err error
	}
	ch := make(chan out, 2)
	for i := 0; i < 2; i++ {
		go func() {
			res, dir, err := runner.Run(context.Background(), &e, s, runner.Options{Force: true})
			ch <- out{res, dir, err}
		}()
	}
	dirs := map[string]bool{}
	for i := 0; i < 2; i++ {
		o := <-ch
		if o.err != nil {
			t.Errorf("run %d: %v", i, o.err)
			continue
		}
		if o.res.Status != results.StatusOK {
			t.Errorf("run %d: %s: %s", i, o.res.Status, o.res.Reason)
		}
		dirs[o.dir] = true
	}
	if len(dirs) != 2 {
		t.Errorf("the two runs wrote %d run directories, want 2", len(dirs))
	}
}

// A truncated kernel is named before QEMU starts (it used to boot into
// silence and fail as "control channel closed before hello").
func TestTruncatedKernel(t *testing.T) {
	f := setup(t)
	b, err := os.ReadFile(f.kernel.BzImage)
	if err != nil {
		t.Fatal(err)
	}
	bz := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(bz, b[:len(b)/2], 0o644)
	_, err = guest.Run(context.Background(), vm.Config{
		Kernel: bz, Initramfs: f.img.Path, Accel: "tcg", Dir: t.TempDir(),
	}, &proto.Job{Name: "t"}, guest.Options{BootTimeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), bz+" is truncated") {
		t.Errorf("err = %v, want the truncated kernel named", err)
	}
}
