package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/spec"
	"github.com/bpfstor/bpfstor/harness/testreport"
)

// TestOptions say which in-guest tests of the kernel feature a test run
// runs, and on which kernel (`bpfstor test`).
type TestOptions struct {
	// Variant is the kernel variant under test: "default" or "debug".
	Variant string
	// Run, if set, selects the tests by full name (a regular expression,
	// go test's -run).
	Run string
	// Timeout bounds the tests once the guest is up (the job timeout);
	// 0 is DefaultTestTimeout.
	Timeout time.Duration
}

// DefaultTestTimeout is a test run's job timeout when none is given: the
// quick tests take about 10 minutes on the debug kernel under TCG.
const DefaultTestTimeout = 20 * time.Minute

// KernelError is a test run's failure to get the kernel under test: the
// tree does not build or the series does not apply. `bpfstor test` exits
// 125 on it, git bisect's "skip".
type KernelError struct{ Err error }

func (e *KernelError) Error() string { return "kernel under test: " + e.Err.Error() }
func (e *KernelError) Unwrap() error { return e.Err }

// TestSpecName is the name of a test run's spec (and run directory) for a
// kernel variant: "test-default".
func TestSpecName(variant string) string { return "test-" + variant }

// TestSpec is the experiment spec of a test run: one ktest point (the
// quick in-guest tests) in a VM shaped as the e2e tests shape it; the
// debug variant gets two controllers on the data disk for the multipath
// tests. printk.devkmsg=on keeps the kernel from rate-limiting the test
// markers written to /dev/kmsg (default_message_loglevel 4, shown by
// vm.BaseCmdline's loglevel=5 as the kernel's WARNING and lockdep reports
// are).
func TestSpec(o TestOptions) (string, error) {
	if o.Run != "" {
		if _, err := regexp.Compile(o.Run); err != nil {
			return "", fmt.Errorf("--run %q is not a regular expression: %w", o.Run, err)
		}
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTestTimeout
	}
	if timeout < 0 {
		return "", fmt.Errorf("--timeout %v: want a positive duration (e.g. 20m)", timeout)
	}
	cmdline := []string{"printk.devkmsg=on"}
	vmExtra := ""
	switch o.Variant {
	case "default", "":
		o.Variant = "default"
	case "debug":
		// acpi=noirq: under KASAN and TCG, ACPI's _PRT method takes its 30 s
		// loop timeout for every PCI device enabled, long enough for an RCU
		// stall; the devices use MSI-X anyway.
		cmdline = append(cmdline, "acpi=noirq")
		vmExtra = "nvme_paths = 2\n"
	default:
		return "", fmt.Errorf("unknown kernel variant %q (default or debug)", o.Variant)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name = %s\n[kernel]\nvariant = %s\n", strconv.Quote(TestSpecName(o.Variant)), strconv.Quote(o.Variant))
	fmt.Fprintf(&b, "[vm]\nmemory_mb = 1024\nboot_timeout = \"5m\"\njob_timeout = %s\n%scmdline = [", strconv.Quote(timeout.String()), vmExtra)
	for i, c := range cmdline {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(c))
	}
	b.WriteString("]\n[[workload]]\nkind = \"ktest\"\n")
	if o.Run != "" {
		fmt.Fprintf(&b, "tests = %s\n", tomlString(o.Run))
	}
	return b.String(), nil
}

// tomlString writes s as a TOML string: a literal string (no escapes, so
// a regular expression's backslashes stay as they are) when it can be one.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n\r") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}

// TestRun is one run of the in-guest tests: the run directory it wrote
// (result.json, console.log, spec.toml) and its report.
type TestRun struct {
	Dir, Console string
	Suite        *testreport.Suite
}

// RunTests builds (or finds cached) the kernel under test, boots it with
// the in-guest tests of the kernel feature and returns their report. A
// kernel that cannot be had is a *KernelError; other errors mean nothing
// ran (no QEMU, a bad option).
func RunTests(ctx context.Context, e *Env, o TestOptions) (*TestRun, error) {
	start := time.Now()
	text, err := TestSpec(o)
	if err != nil {
		return nil, err
	}
	if o.Variant == "" {
		o.Variant = "default"
	}
	if _, err := e.Kernel(ctx, o.Variant); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &KernelError{err}
	}
	tmp, err := os.MkdirTemp("", "bpfstor-test-")
	if err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, TestSpecName(o.Variant)+".toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	s, err := spec.Load(file)
	if err != nil {
		return nil, fmt.Errorf("test: the generated spec: %w", err)
	}
	// Tests run every time: an earlier pass of the same inputs is no
	// verdict on this run.
	res, dir, err := Run(ctx, e, s, Options{Force: true})
	if res == nil {
		return nil, err
	}
	// err with a result: it could not all be recorded; the run still
	// has its verdict.
	console := filepath.Join(dir, "console.log")
	b, _ := os.ReadFile(console) // none when nothing booted: the report says why
	suite := KTestSuite(res, string(b))
	if err != nil && suite.Error == "" {
		suite.Error = err.Error()
	}
	suite.Duration = time.Since(start)
	suite.Properties = append(suite.Properties, testreport.Property{Name: "run_dir", Value: dir}, testreport.Property{Name: "console", Value: console})
	return &TestRun{Dir: dir, Console: console, Suite: suite}, nil
}
