package e2e

import (
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/testreport"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// junitDoc is what this test reads back from `bpfstor test --junit`.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string    `xml:"classname,attr"`
			Name      string    `xml:"name,attr"`
			Failure   *struct{} `xml:"failure"`
			Skipped   *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestTestCommandVerifier runs the command a kernel developer runs,
// `bpfstor test --run verifier/ --junit F --ktap F`, on the default
// kernel: it must exit 0, its JUnit must validate against the schema the
// testreport package checks with and name the verifier tests (and only
// them), its KTAP must pass them, and the console must carry the test
// markers that attribute kernel reports to tests.
func TestTestCommandVerifier(t *testing.T) {
	needSeries(t)
	f := setup(t)
	tmp := t.TempDir()
	bin := buildCLI(t, f)
	junit, ktap, results := filepath.Join(tmp, "ktest.xml"), filepath.Join(tmp, "ktest.ktap"), filepath.Join(tmp, "results")
	cmd := exec.Command(bin, "test", "--run", "verifier/", "--junit", junit, "--ktap", ktap,
		"--cache", f.env.Cache, "--results", results, "--accel", "tcg", "--timeout", "10m")
	cmd.Dir = f.env.Repo
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("bpfstor test in %v:\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("bpfstor test: %v (want exit 0)", err)
	}

	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		xsd := filepath.Join(f.env.Repo, "harness", "testreport", "testdata", "junit-10.xsd")
		if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, junit).CombinedOutput(); err != nil {
			t.Errorf("JUnit does not validate: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("xmllint not found: apt-get install libxml2-utils")
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, b)
	}
	if len(doc.Suites) != 1 || doc.Failures != 0 || doc.Errors != 0 || doc.Tests < 5 {
		t.Fatalf("JUnit: %d suites, %d tests, %d failures, %d errors\n%s", len(doc.Suites), doc.Tests, doc.Failures, doc.Errors, b)
	}
	names := map[string]bool{}
	for _, c := range doc.Suites[0].Cases {
		full := strings.TrimPrefix(strings.ReplaceAll(c.Classname, ".", "/")+"/"+c.Name, "bpfstor-ktest/")
		names[full] = true
		if full != "verifier" && !strings.HasPrefix(full, "verifier/") {
			t.Errorf("test %s ran: --run verifier/ selects only the verifier tests", full)
		}
		if c.Skipped != nil {
			t.Errorf("%s skipped", full)
		}
	}
	for _, want := range []string{"verifier/accepts-chain", "verifier/accepts-edges", "verifier/pointer-leak", "verifier/rejects/bpf_loop"} {
		if !names[want] {
			t.Errorf("JUnit lacks %s (has %v)", want, names)
		}
	}
	props := map[string]string{}
	for _, p := range doc.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if props["variant"] != "default" || props["kernel"] == "" || props["patch_series_hash"] != f.kernel.PatchHash {
		t.Errorf("JUnit properties %v: want variant default, the kernel release and series %s", props, f.kernel.PatchHash)
	}

	k, err := os.ReadFile(ktap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(k), "KTAP version 1\n") || !strings.Contains(string(k), "ok 1 accepts-chain") || strings.Contains(string(k), "not ok") {
		t.Errorf("KTAP:\n%s", k)
	}
	consoles, _ := filepath.Glob(filepath.Join(results, "*-test-default", "console.log"))
	if len(consoles) != 1 {
		t.Fatalf("consoles %v, want one run directory", consoles)
	}
	c, err := os.ReadFile(consoles[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{vm.StartMarker("verifier/accepts-chain"), vm.EndMarker("verifier/accepts-chain") + " pass"} {
		if !strings.Contains(string(c), m) {
			t.Errorf("console %s lacks the marker %q", consoles[0], m)
		}
	}
}

// buildCLI builds bin/bpfstor into a temporary directory.
func buildCLI(t *testing.T, f *fixture) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bpfstor")
	build := exec.Command("go", "build", "-o", bin, "./harness/cmd/bpfstor")
	build.Dir = f.env.Repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTestCommandTimeout: a guest still testing at --timeout is a failed
// run, exit 1, never a hang: the report names the job timeout with the
// console's tail, the test that was running as not finished, and the
// tests before it keep their results.
func TestTestCommandTimeout(t *testing.T) {
	needSeries(t)
	f := setup(t)
	bin := buildCLI(t, f)
	tmp := t.TempDir()
	junit := filepath.Join(tmp, "ktest.xml")
	before := qemuCount(t)
	cmd := exec.Command(bin, "test", "--timeout", "8s", "--junit", junit,
		"--cache", f.env.Cache, "--results", filepath.Join(tmp, "results"), "--accel", "tcg")
	cmd.Dir = f.env.Repo
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	t.Logf("bpfstor test --timeout 8s in %v:\n%s", took.Round(time.Second), out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("bpfstor test: %v, want exit status 1", err)
	}
	if took > 3*time.Minute {
		t.Errorf("took %v: the job timeout did not end the run", took)
	}
	if n := qemuCount(t); n > before {
		t.Errorf("%d qemu process(es) left behind", n-before)
	}
	for _, want := range []string{"job timeout", "console", "PASS verifier/accepts-chain", testreport.NotFinished} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil || doc.Failures == 0 {
		t.Errorf("JUnit (%v): %d failures, want the timeout among them\n%s", err, doc.Failures, b)
	}
}

// badSeries is a one-patch series whose context is not in Linux 6.12.
const badSeries = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Fixture <fixture@example.com>
Subject: [PATCH] a patch whose context is not in 6.12

---
 Makefile | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/Makefile b/Makefile
--- a/Makefile
+++ b/Makefile
@@ -1,4 +1,4 @@
 # SPDX-License-Identifier: GPL-2.0
-VERSION = 5
+VERSION = 7
 PATCHLEVEL = 12
 SUBLEVEL = 0
--
2.39.2
`

// TestTestCommandSeriesDoesNotApply: a series that does not apply is git
// bisect's "skip", exit 125, with one line naming the patch and the hunk.
// It unpacks the kernel tarball into a cache of its own (about 20 s).
func TestTestCommandSeriesDoesNotApply(t *testing.T) {
	f := setup(t)
	bin := buildCLI(t, f)
	tmp := t.TempDir()
	series := filepath.Join(tmp, "series")
	if err := os.MkdirAll(series, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(series, "0001-bad.patch"), []byte(badSeries), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "test", "--patches", series, "--cache", filepath.Join(tmp, "cache"), "--results", filepath.Join(tmp, "results"))
	cmd.Dir = f.env.Repo
	out, err := cmd.CombinedOutput()
	t.Logf("bpfstor test --patches %s:\n%s", series, out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 125 {
		t.Fatalf("bpfstor test: %v, want exit status 125", err)
	}
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndexByte(last, '\n')+1:]
	if !strings.HasPrefix(last, "bpfstor: kernel under test: kernel build: patch 0001-bad.patch does not apply: error: patch failed: Makefile:1") {
		t.Errorf("last line %q does not name the patch and the hunk", last)
	}
}

// runKTestCLI runs `bpfstor test` with args and --junit, and fails t
// unless it exits 0, ran at least 30 tests, none failed, and it skipped
// exactly the tests in mayskip: a test that cannot run where it should
// counts as a failure, not a pass.
func runKTestCLI(t *testing.T, mayskip []string, args ...string) {
	t.Helper()
	f := setup(t)
	bin := buildCLI(t, f)
	tmp := t.TempDir()
	junit := filepath.Join(tmp, "ktest.xml")
	before := qemuCount(t)
	cmd := exec.Command(bin, append([]string{"test", "--junit", junit,
		"--cache", f.env.Cache, "--results", filepath.Join(tmp, "results"), "--accel", "tcg"}, args...)...)
	cmd.Dir = f.env.Repo
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("bpfstor test %s in %v:\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), out)
	if n := qemuCount(t); n > before {
		t.Errorf("%d qemu process(es) left behind", n-before)
	}
	if err != nil {
		t.Fatalf("bpfstor test: %v (want exit 0)", err)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("JUnit (%v):\n%s", err, b)
	}
	allowed := map[string]bool{}
	for _, n := range mayskip {
		allowed[n] = true
	}
	// A group's case (e.g. "verifier") is the class of its subtests'.
	groups := map[string]bool{}
	for _, c := range doc.Suites[0].Cases {
		groups[strings.TrimPrefix(strings.ReplaceAll(c.Classname, ".", "/"), "bpfstor-ktest/")] = true
	}
	leaves := 0
	for _, c := range doc.Suites[0].Cases {
		full := strings.TrimPrefix(strings.ReplaceAll(c.Classname, ".", "/")+"/"+c.Name, "bpfstor-ktest/")
		if c.Failure != nil {
			t.Errorf("%s failed", full)
		}
		if groups[full] {
			continue
		}
		leaves++
		if c.Skipped != nil && !allowed[full] {
			t.Errorf("%s skipped here", full)
		}
		if c.Skipped == nil && allowed[full] {
			t.Errorf("%s ran where it should have skipped", full)
		}
	}
	if leaves < 30 || doc.Failures != 0 || doc.Errors != 0 {
		t.Errorf("%d tests, %d failures, %d errors", leaves, doc.Failures, doc.Errors)
	}
}
