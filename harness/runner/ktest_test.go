package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/spec"
	"github.com/bpfstor/bpfstor/harness/testreport"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// TestTestSpec loads the spec of a test run for each variant: the debug
// kernel gets two NVMe paths, every run the markers' printk option, and a
// --run regular expression reaches the ktest workload unchanged.
func TestTestSpec(t *testing.T) {
	for _, tc := range []struct {
		opt     TestOptions
		paths   int
		cmdline []string
		tests   string
		timeout time.Duration
	}{
		{TestOptions{}, 0, []string{"printk.devkmsg=on"}, "", DefaultTestTimeout},
		{TestOptions{Variant: "debug", Run: `verifier/|^chain/\w+`, Timeout: time.Hour}, 2, []string{"printk.devkmsg=on", "acpi=noirq"}, `verifier/|^chain/\w+`, time.Hour},
		{TestOptions{Variant: "default", Run: `it's`}, 0, []string{"printk.devkmsg=on"}, `it's`, DefaultTestTimeout},
	} {
		text, err := TestSpec(tc.opt)
		if err != nil {
			t.Fatalf("%+v: %v", tc.opt, err)
		}
		p := filepath.Join(t.TempDir(), "test.toml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := spec.Load(p)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", tc.opt, err, text)
		}
		ws := s.Points()
		if len(ws) != 1 || ws[0].Workload.Kind != proto.KindKTest || ws[0].Workload.Tests != tc.tests {
			t.Errorf("%+v: points %+v", tc.opt, ws)
		}
		if s.VM.NVMePaths != tc.paths || !slices.Equal(s.VM.Cmdline, tc.cmdline) || s.VM.JobTimeout.Duration != tc.timeout {
			t.Errorf("%+v: vm %+v", tc.opt, s.VM)
		}
	}
	for _, bad := range []TestOptions{{Variant: "kasan"}, {Run: "("}, {Timeout: -time.Second}} {
		if _, err := TestSpec(bad); err == nil {
			t.Errorf("TestSpec(%+v) accepted", bad)
		}
	}
}

// console is a console log of lines, printk-stamped 0.25 s apart from
// 10 s on, ending in CR LF as the serial console's do.
func console(lines ...string) string {
	for i, l := range lines {
		lines[i] = fmt.Sprintf("[%12.6f] %s\r", 10+0.25*float64(i), l)
	}
	return strings.Join(lines, "\n") + "\n"
}

func point(status, errText string, tests ...proto.TestResult) *results.Point {
	return &results.Point{ID: "ktest", Status: status, Error: errText, Tests: tests}
}

// TestKTestSuite turns test runs into reports: what the guest reported,
// what only the console's markers show, kernel reports attached to the
// test running, and failures outside any test.
func TestKTestSuite(t *testing.T) {
	pass := proto.TestResult{Name: "verifier/accepts-chain", Pass: true, Message: "loaded twice", ElapsedNs: 5e6}
	skip := proto.TestResult{Name: "multipath/failover", Skip: true, Message: "one controller"}
	fail := proto.TestResult{Name: "chain/sizes", Message: "size 4096: got 0 bytes\nverifier log:\n0: r0 = 0"}
	meta := results.Meta{KernelRelease: "6.12.38-bpfstor", KernelVariant: "debug", PatchSeriesHash: "abc123"}
	type want struct {
		status map[string]testreport.Status // by Result()
		dur    map[string]time.Duration
		msg    map[string]string
		crash  map[string]string // test (or "" for the suite) -> crash kind
		errHas string            // in Suite.Error ("" = none)
		code   int               // Judge's code, requireAll false
		codeRA int               // with requireAll
	}
	for _, tc := range []struct {
		name    string
		res     *results.Result
		console string
		want    want
	}{{
		name: "all pass, one skip",
		res:  &results.Result{Status: results.StatusOK, Meta: meta, Points: []*results.Point{point(proto.StatusOK, "", pass, skip)}},
		console: console(vm.StartMarker(pass.Name), vm.EndMarker(pass.Name)+" pass",
			vm.StartMarker(skip.Name), vm.EndMarker(skip.Name)+" skip"),
		want: want{
			status: map[string]testreport.Status{pass.Name: testreport.Pass, skip.Name: testreport.Skip, "verifier": testreport.Pass},
			msg:    map[string]string{pass.Name: "", skip.Name: "one controller"},
			code:   0, codeRA: 1,
		},
	}, {
		name: "a failed test fails the run, its point's error is explained",
		res: &results.Result{Status: results.StatusPartial, Meta: meta,
			Points: []*results.Point{point(proto.StatusFailed, "ktest: 1 of 2 tests failed: chain/sizes", pass, fail)}},
		want: want{
			status: map[string]testreport.Status{pass.Name: testreport.Pass, fail.Name: testreport.Fail, "chain": testreport.Fail},
			msg:    map[string]string{fail.Name: "size 4096: got 0 bytes"},
			code:   1, codeRA: 1,
		},
	}, {
		name: "KASAN inside a passing test fails it; a boot WARNING fails the suite",
		res:  &results.Result{Status: results.StatusOK, Meta: meta, Points: []*results.Point{point(proto.StatusOK, "", pass)}},
		console: console("WARNING: CPU: 0 PID: 1 at drivers/nvme/host/pci.c:1107 nvme_handle_cqe+0x5/0x10",
			"---[ end trace 0000000000000000 ]---",
			vm.StartMarker(pass.Name),
			"BUG: KASAN: slab-use-after-free in nvme_handle_cqe+0x6b4/0x7a0",
			"Read of size 8 at addr ffff888004b1c0e8 by task swapper/0/0",
			vm.EndMarker(pass.Name)+" pass"),
		want: want{
			status: map[string]testreport.Status{pass.Name: testreport.Fail},
			crash:  map[string]string{pass.Name: "KASAN", "": "WARNING"},
			code:   1, codeRA: 1,
		},
	}, {
		name: "a crash kills the guest: the markers name the test it hit, the ones before it passed",
		res:  &results.Result{Status: results.StatusFailed, Meta: meta, Reason: "kernel crash: Kernel panic: ... (console: c)"},
		console: console(vm.StartMarker(pass.Name), vm.EndMarker(pass.Name)+" pass",
			vm.StartMarker("safety/hop-limit"),
			"Kernel panic - not syncing: Fatal exception in interrupt"),
		want: want{
			status: map[string]testreport.Status{pass.Name: testreport.Pass, "safety/hop-limit": testreport.Fail},
			dur:    map[string]time.Duration{pass.Name: 250 * time.Millisecond, "safety/hop-limit": 0},
			msg:    map[string]string{"safety/hop-limit": testreport.NotFinished},
			crash:  map[string]string{"safety/hop-limit": "panic"},
			code:   1, codeRA: 1,
		},
	}, {
		name: "a hung guest: job timeout with the console tail, the running test not finished",
		res: &results.Result{Status: results.StatusFailed, Meta: meta,
			Reason: "job not done after 20m0s (job timeout); console c tail: [   10.000000] bpfstor-test: start uring/teardown\r"},
		console: console(vm.StartMarker("uring/teardown")),
		want: want{
			status: map[string]testreport.Status{"uring/teardown": testreport.Fail},
			msg:    map[string]string{"uring/teardown": testreport.NotFinished},
			errHas: "job timeout",
			code:   1, codeRA: 1,
		},
	}, {
		name: "the test binary died after a pass: a failure outside the tests",
		res: &results.Result{Status: results.StatusPartial, Meta: meta,
			Points: []*results.Point{point(proto.StatusFailed, "ktest: /bin/bpfstor-ktest after 1 tests: exit status 2: boom", pass)}},
		want: want{
			status: map[string]testreport.Status{pass.Name: testreport.Pass},
			errHas: "exit status 2",
			code:   1, codeRA: 1,
		},
	}, {
		name: "never booted: no tests, the reason is the error",
		res:  &results.Result{Status: results.StatusFailed, Meta: meta, Reason: "guest never reported after 5m0s (boot timeout)"},
		want: want{errHas: "boot timeout", code: 1, codeRA: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := KTestSuite(tc.res, tc.console)
			if s.Name != TestSuiteName || s.Kernel != meta.KernelRelease || s.Variant != "debug" {
				t.Errorf("suite %q kernel %q variant %q", s.Name, s.Kernel, s.Variant)
			}
			if !slices.Contains(s.Properties, testreport.Property{Name: "patch_series_hash", Value: "abc123"}) {
				t.Errorf("properties %+v lack the patch series hash", s.Properties)
			}
			for name, st := range tc.want.status {
				if got := s.Lookup(name); got == nil || got.Result() != st {
					t.Errorf("%s: %+v, want %s", name, got, st)
				}
			}
			for name, d := range tc.want.dur {
				if got := s.Lookup(name); got == nil || got.Duration != d {
					t.Errorf("%s: duration %+v, want %v", name, got, d)
				}
			}
			if strings.Contains(s.Error, "\r") {
				t.Errorf("error %q keeps the console's CR", s.Error)
			}
			for name, m := range tc.want.msg {
				if got := s.Lookup(name); got == nil || got.Message != m {
					t.Errorf("%s: message %+v, want %q", name, got, m)
				}
			}
			for name, kind := range tc.want.crash {
				cs := s.Crashes
				if name != "" {
					cs = s.Lookup(name).Crashes
				}
				if len(cs) != 1 || cs[0].Kind != kind {
					t.Errorf("%q: crashes %+v, want one %s", name, cs, kind)
				}
			}
			if tc.want.crash[""] == "" && len(s.Crashes) > 0 {
				t.Errorf("suite crashes %+v, want none", s.Crashes)
			}
			if (tc.want.errHas == "") != (s.Error == "") || !strings.Contains(s.Error, tc.want.errHas) {
				t.Errorf("error %q, want one with %q", s.Error, tc.want.errHas)
			}
			if c := testreport.ExitCode(s, false); c != tc.want.code {
				t.Errorf("exit code %d, want %d (%s)", c, tc.want.code, testreport.Judge(s, false).Reason)
			}
			if c := testreport.ExitCode(s, true); c != tc.want.codeRA {
				t.Errorf("exit code with --require-all %d, want %d", c, tc.want.codeRA)
			}
		})
	}
}

// A reported test's message: the first line says why it failed, every line
// is its output; a pass keeps its message as output only.
func TestTestOf(t *testing.T) {
	for _, tc := range []struct {
		in     proto.TestResult
		status testreport.Status
		msg    string
		out    []string
	}{
		{proto.TestResult{Name: "a", Pass: true}, testreport.Pass, "", nil},
		{proto.TestResult{Name: "a", Pass: true, Message: "12 chains"}, testreport.Pass, "", []string{"12 chains"}},
		{proto.TestResult{Name: "a", Skip: true, Message: "no poll queues"}, testreport.Skip, "no poll queues", nil},
		{proto.TestResult{Name: "a", Message: "rejected\nlog 1\nlog 2\n"}, testreport.Fail, "rejected", []string{"rejected", "log 1", "log 2"}},
		{proto.TestResult{Name: "a"}, testreport.Fail, "", nil},
	} {
		got := testOf(tc.in)
		if got.Status != tc.status || got.Message != tc.msg || !slices.Equal(got.Output, tc.out) {
			t.Errorf("testOf(%+v) = %+v", tc.in, got)
		}
	}
}

// TestKTestSuiteCorpus runs the real kernel reports of harness/vm's console
// corpus through a test run whose guest died before reporting: each report
// fails the test its markers name (go test names lose their "Test"
// prefix, as in every report) and the run exits 1.
func TestKTestSuiteCorpus(t *testing.T) {
	for _, tc := range []struct{ file, test, kind string }{
		{"kasan-uaf.log", "chain/driver/hop-limit", "KASAN"},
		{"lockdep-circular.log", "uring/teardown", "lockdep"},
		{"hung-task.log", "fault/every-hop/timeout", "hung task"},
		{"gpf.log", "uring/teardown", "GPF"},
		{"ubsan.log", "chain/driver/hop-limit", "UBSAN"},
		{"warning-boot.log", "", "WARNING"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "vm", "testdata", "consoles", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s := KTestSuite(&results.Result{Status: results.StatusFailed, Reason: "kernel crash: ..."}, string(b))
			cs := s.Crashes
			if tc.test != "" {
				tt := s.Lookup(tc.test)
				if tt == nil {
					t.Fatalf("no test %s in %+v", tc.test, s.Tests)
				}
				if tt.Result() != testreport.Fail {
					t.Errorf("%s: %s, want fail", tc.test, tt.Result())
				}
				cs = tt.Crashes
			}
			if len(cs) == 0 || cs[0].Kind != tc.kind {
				t.Errorf("crashes %+v, want a %s first", cs, tc.kind)
			}
			if c := testreport.ExitCode(s, false); c != 1 {
				t.Errorf("exit code %d, want 1", c)
			}
		})
	}
}
