package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/testreport"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("bad flag"), 1},
		{&exitError{exitFail, errors.New("2 of 40 tests failed")}, 1},
		{&exitError{exitSkip, errors.New("patch does not apply")}, 125},
		{fmt.Errorf("wrapped: %w", &exitError{exitSkip, errors.New("x")}), 125},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// bpfstor test exits 125 (git bisect's skip) when the kernel under test
// cannot be had, and 1 on bad options, which fail before any build.
func TestTestCommandExits(t *testing.T) {
	tmp := t.TempDir()
	base := []string{"test", "--cache", filepath.Join(tmp, "cache"), "--results", filepath.Join(tmp, "results")}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a kernel tree", []string{"--src", tmp, "--patches", ""}, 125, "is not a Linux kernel tree"},
		{"src with a series", []string{"--src", tmp}, 1, "pass --patches ''"},
		{"bad regexp", []string{"--run", "("}, 1, "--run \"(\" is not a regular expression"},
		{"bad variant", []string{"--variant", "kasan"}, 1, "unknown kernel variant"},
		{"argument", []string{"verifier/"}, 1, "select tests with --run"},
		{"unwritable junit", []string{"--junit", filepath.Join(tmp, "no", "dir", "j.xml")}, 1, "--junit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCLI(t, append(append([]string(nil), base...), tc.args...)...)
			if exitCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.want)
			}
		})
	}
}

// The summary is one line per test (groups are not lines of their own), a
// crash under its test, and a failure outside any test last.
func TestPrintSummary(t *testing.T) {
	s := &testreport.Suite{Name: "bpfstor-ktest", Error: "job not done after 8s (job timeout)"}
	s.Add(&testreport.Test{Name: "verifier/accepts-chain", Status: testreport.Pass, Duration: 79 * time.Millisecond})
	s.Add(&testreport.Test{Name: "multipath/failover", Status: testreport.Skip, Message: "one path"})
	s.Add(&testreport.Test{Name: "chain/with-fio", Status: testreport.Fail, Message: testreport.NotFinished})
	s.AttachCrash("chain/with-fio", &testreport.Crash{Kind: "KASAN", Lines: []string{"BUG: KASAN: slab-use-after-free in nvme_handle_cqe"}})
	var b strings.Builder
	printSummary(&b, s)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"PASS verifier/accepts-chain 79ms",
		"SKIP multipath/failover 0s one path",
		"FAIL chain/with-fio 0s did not finish",
		"crash: BUG: KASAN: slab-use-after-free in nvme_handle_cqe",
		"FAIL harness job not done after 8s (job timeout)",
	}
	if len(lines) != len(want) {
		t.Fatalf("summary:\n%s", b.String())
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") } // columns are padded
	for i, w := range want {
		if !strings.HasPrefix(norm(lines[i]), w) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], w)
		}
	}
	if got := countLine(s); got != "3 tests, 1 passed, 1 failed, 1 skipped" {
		t.Errorf("countLine = %q", got)
	}
}
