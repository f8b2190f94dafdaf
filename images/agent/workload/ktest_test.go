package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// fakeKTest writes a shell script standing in for bpfstor-ktest.
func fakeKTest(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bpfstor-ktest")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The agent's ktest point collects the results bpfstor-ktest streams, as
// proto.TestResults in order, passes its progress lines on, and fails the
// point on a failed test, a crashed binary or output it cannot read.
func TestRunKTestBinary(t *testing.T) {
	var logs []string
	env := &Env{Job: &proto.Job{Seed: 3}, Logf: func(f string, a ...any) { logs = append(logs, f) }}
	ps := proto.PointSpec{Rep: 1}
	bin := fakeKTest(t, `case "$*" in *"-seed 4 -quick"*) ;; *) echo "bad args: $*" >&2; exit 3;; esac
echo '{"log":"PASS a"}'
echo '{"test":{"name":"a","pass":true,"elapsed_ns":5}}'
echo '{"test":{"name":"b","skip":true,"message":"no disk","elapsed_ns":1}}'
`)
	var p proto.Point
	if err := runKTestBinary(env, bin, ps, &p); err != nil {
		t.Fatal(err)
	}
	want := []proto.TestResult{{Name: "a", Pass: true, ElapsedNs: 5}, {Name: "b", Skip: true, Message: "no disk", ElapsedNs: 1}}
	if len(p.Tests) != 2 || p.Tests[0] != want[0] || p.Tests[1] != want[1] || p.Ops != 2 || len(logs) != 1 {
		t.Errorf("tests %+v ops %d logs %v", p.Tests, p.Ops, logs)
	}
	for _, tt := range []struct{ name, body, want string }{
		{"failed test", `echo '{"test":{"name":"a","message":"x"}}'`, "1 of 1 tests failed: a"},
		{"crash", `echo '{"test":{"name":"a","pass":true}}'; echo boom >&2; exit 2`, "after 1 tests: exit status 2: boom"},
		{"garbage", `echo 'not json'; echo '{"test":{"name":"a","pass":true}}'`, `wrote "not json"`},
		{"nothing", `exit 0`, "no test ran"},
	} {
		var p proto.Point
		err := runKTestBinary(env, fakeKTest(t, tt.body), ps, &p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := runKTestBinary(env, filepath.Join(t.TempDir(), "none"), ps, &proto.Point{}); err == nil || !strings.Contains(err.Error(), "not in the initramfs") {
		t.Errorf("missing binary: %v", err)
	}
}

// A ktest point's tests filter reaches bpfstor-ktest as -run.
func TestRunKTestFilter(t *testing.T) {
	env := &Env{Job: &proto.Job{Seed: 3}}
	ps := proto.PointSpec{Rep: 1, Workload: proto.Workload{Kind: proto.KindKTest, Tests: "verifier/"}}
	bin := fakeKTest(t, `case "$*" in *"-quick -run verifier/") ;; *) echo "bad args: $*" >&2; exit 3;; esac
echo '{"test":{"name":"verifier/a","pass":true}}'
`)
	var p proto.Point
	if err := runKTestBinary(env, bin, ps, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Tests) != 1 || p.Tests[0].Name != "verifier/a" {
		t.Errorf("tests %+v", p.Tests)
	}
}
