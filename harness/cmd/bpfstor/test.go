package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bpfstor/bpfstor/harness/runner"
	"github.com/bpfstor/bpfstor/harness/testreport"
)

// Exit statuses of `bpfstor test`, as git bisect run reads them.
const (
	exitPass = 0
	exitFail = 1
	// exitSkip: the kernel under test does not build or the series does
	// not apply (git bisect's "skip this commit").
	exitSkip = 125
)

// exitError is an error that ends the command with its own status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the process status for a command's error: an exitError's
// own code, 1 for any other error, 0 for none.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return exitPass
	case errors.As(err, &ee):
		return ee.code
	}
	return exitFail
}

func testCmd() *cli.Command {
	return &cli.Command{
		Name:  "test",
		Usage: "build the kernel under test, boot it and run the in-guest tests of the kernel feature; exit 0 only if all passed",
		Description: "Each test is reported pass, fail or skip with its message; a kernel report (panic, oops, BUG, WARNING,\n" +
			"KASAN, lockdep, hung task) on the console fails the test that was running. Exit status: 0 every test\n" +
			"passed, 1 a test failed or the run did, 125 the kernel does not build or the series does not apply\n" +
			"(git bisect run's skip). The run directory (result.json, console.log) is in --results.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "src", Usage: "kernel tree to test instead of Debian's linux-source-6.12 tarball"},
			&cli.StringFlag{Name: "patches", Usage: "patch series directory (default REPO/kernel/patches; '' for none)"},
			&cli.StringFlag{Name: "variant", Value: "default", Usage: "kernel variant: default or debug (KASAN, lockdep, two NVMe paths)"},
			&cli.StringFlag{Name: "run", Usage: "run only the tests whose full name matches this regular expression (e.g. 'verifier/')"},
			&cli.BoolFlag{Name: "require-all", Usage: "a skipped test fails the run"},
			&cli.StringFlag{Name: "junit", Usage: "write the results as JUnit XML to this file"},
			&cli.StringFlag{Name: "ktap", Usage: "write the results as KTAP to this file"},
			&cli.StringFlag{Name: "tap", Usage: "write the results as TAP version 13 to this file"},
			&cli.DurationFlag{Name: "timeout", Value: runner.DefaultTestTimeout, Usage: "bound on the tests once the guest is up; a hung guest fails the run then"},
		},
		Action: testRun,
	}
}

func testRun(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("test: unexpected argument %q (select tests with --run REGEX)", c.Args().First())
	}
	e, err := env(c)
	if err != nil {
		return err
	}
	if err := e.CheckDirs(true); err != nil {
		return err
	}
	e.KernelSrc = c.String("src")
	if c.IsSet("patches") {
		p := c.String("patches")
		e.Patches = &p
	}
	// kbuild builds a tree as it is: a series on top of --src would fail
	// every build, and 125 would make git bisect skip every commit.
	if e.KernelSrc != "" && (e.Patches == nil || *e.Patches != "") {
		return errors.New("test: --src builds the tree as it is, without a series: apply the series in the tree (git am kernel/patches/*.patch) and pass --patches ''")
	}
	outputs := []struct {
		flag  string
		write func(io.Writer, *testreport.Suite) error
	}{{"junit", testreport.WriteJUnit}, {"ktap", testreport.WriteKTAP}, {"tap", testreport.WriteTAP}}
	for _, o := range outputs { // fail before the build, not after the run
		if p := c.String(o.flag); p != "" {
			if err := checkWritable(p); err != nil {
				return fmt.Errorf("test: --%s %s: %w", o.flag, p, err)
			}
		}
	}
	run, err := runner.RunTests(c.Context, e, runner.TestOptions{Variant: c.String("variant"), Run: c.String("run"), Timeout: c.Duration("timeout")})
	var ke *runner.KernelError
	if errors.As(err, &ke) {
		return &exitError{exitSkip, err}
	}
	if err != nil {
		return err
	}
	s := run.Suite
	for _, o := range outputs {
		if p := c.String(o.flag); p != "" {
			if err := writeReport(p, s, o.write); err != nil {
				return fmt.Errorf("test: --%s: %w", o.flag, err)
			}
		}
	}
	printSummary(os.Stdout, s)
	v := testreport.Judge(s, c.Bool("require-all"))
	fmt.Printf("%s: %s in %v (run %s)\n", verdictWord(v), countLine(s), s.Duration.Round(time.Second), run.Dir)
	if v.Code != 0 {
		return &exitError{v.Code, fmt.Errorf("test: %s (console: %s)", v.Reason, run.Console)}
	}
	return nil
}

// checkWritable makes sure a report file can be written, without leaving
// an empty file behind when it did not exist.
func checkWritable(path string) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	if statErr != nil {
		os.Remove(path)
	}
	return nil
}

// writeReport writes one format of the report to path.
func writeReport(path string, s *testreport.Suite, write func(io.Writer, *testreport.Suite) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f, s); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// printSummary prints one line per test (the leaves of the name tree):
// result, name, duration and why it failed or skipped; a kernel report
// attributed to it follows on its own line, and a failure outside any
// test last.
func printSummary(w io.Writer, s *testreport.Suite) {
	s.Walk(func(t *testreport.Test, _ int) {
		if len(t.Subtests) > 0 && len(t.Crashes) == 0 {
			return
		}
		line := fmt.Sprintf("%-4s %-44s %8s", strings.ToUpper(t.Result().String()), t.Name, t.Duration.Round(time.Millisecond))
		if t.Message != "" {
			line += "  " + testreport.Clean(t.Message)
		}
		fmt.Fprintln(w, line)
		for _, c := range t.Crashes {
			fmt.Fprintf(w, "     crash: %s\n", testreport.Clean(c.Title()))
		}
	})
	for _, c := range s.Crashes {
		fmt.Fprintf(w, "FAIL %-44s crash outside any test: %s\n", testreport.HarnessTest, testreport.Clean(c.Title()))
	}
	if s.Error != "" {
		fmt.Fprintf(w, "FAIL %-44s %s\n", testreport.HarnessTest, testreport.Clean(s.Error))
	}
}

func verdictWord(v testreport.Verdict) string {
	if v.Code == 0 {
		return "PASS"
	}
	return "FAIL"
}

// countLine counts the reported tests (leaves) by result.
func countLine(s *testreport.Suite) string {
	var n, pass, fail, skip int
	s.Walk(func(t *testreport.Test, _ int) {
		if len(t.Subtests) > 0 {
			return
		}
		n++
		switch t.Result() {
		case testreport.Pass:
			pass++
		case testreport.Fail:
			fail++
		case testreport.Skip:
			skip++
		}
	})
	return fmt.Sprintf("%d tests, %d passed, %d failed, %d skipped", n, pass, fail, skip)
}
