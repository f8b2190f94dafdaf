package testreport

import (
	"fmt"
	"strings"
	"time"
)

// Status is a test's own result.
type Status int

// The statuses a test can end with.
const (
	Pass Status = iota
	Fail
	Skip
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Crash is a kernel report (panic, oops, BUG, WARNING, KASAN, lockdep, hung
// task, ...) seen on the console while a test ran.
type Crash struct {
	// Kind names the report, e.g. "KASAN" or "WARNING" (vm.Crash.Kind).
	Kind string
	// Lines are the console lines of the report, first line first.
	Lines []string
}

// Title is the report's first line, after its kind when the line does not
// name it: "BUG: KASAN: slab-use-after-free in ...", "hung task: INFO: task
// ... blocked for more than 122 seconds.".
func (c *Crash) Title() string {
	switch {
	case len(c.Lines) == 0:
		return c.Kind
	case strings.Contains(c.Lines[0], c.Kind):
		return c.Lines[0]
	}
	return c.Kind + ": " + c.Lines[0]
}

// Test is one test, or a group of subtests, of a Suite.
type Test struct {
	// Name is the full name, its levels separated by "/", as go test names
	// subtests: "chain/driver/pread-identical".
	Name string
	// Status is the test's own result; Result also counts its subtests.
	Status Status
	// Duration is how long the test ran (0 when unknown).
	Duration time.Duration
	// Message says in one line why the test failed or was skipped.
	Message string
	// Output holds the test's own log lines, without line ends.
	Output []string
	// Crashes are the kernel reports that appeared while the test ran, in
	// order (one incident often prints several: a BUG, its Oops, a panic).
	Crashes []*Crash
	// Subtests are the tests one level below, in the order they started.
	Subtests []*Test

	// implicit is set for a group that exists only because a subtest
	// named it; its result is its subtests'.
	implicit bool
}

// Base is the last level of the test's name: "pread-identical".
func (t *Test) Base() string {
	if i := strings.LastIndexByte(t.Name, '/'); i >= 0 {
		return t.Name[i+1:]
	}
	return t.Name
}

// Parent is the test's name without its last level, "" at the top.
func (t *Test) Parent() string {
	if i := strings.LastIndexByte(t.Name, '/'); i >= 0 {
		return t.Name[:i]
	}
	return ""
}

// Result is the test's result with its subtests counted, the KTAP way: a
// crash or a failed subtest fails the test; skipped subtests do not change
// it, except that a group known only through its subtests is skipped when
// all of them are.
func (t *Test) Result() Status {
	if t.Status == Fail || len(t.Crashes) > 0 {
		return Fail
	}
	skipped := 0
	for _, c := range t.Subtests {
		switch c.Result() {
		case Fail:
			return Fail
		case Skip:
			skipped++
		}
	}
	if t.implicit {
		if len(t.Subtests) > 0 && skipped == len(t.Subtests) {
			return Skip
		}
		return Pass
	}
	return t.Status
}

// Property is one name=value fact about a suite's run (QEMU version,
// accelerator, patch-series hash, ...).
type Property struct {
	Name, Value string
}

// Suite is one run of a set of tests on one kernel.
type Suite struct {
	// Name names the set of tests, e.g. "bpfstor-ktest".
	Name string
	// Kernel is the kernel release under test, Variant its build variant
	// ("default", "debug").
	Kernel, Variant string
	// Hostname is the machine that ran the suite.
	Hostname string
	// Started is the wall-clock time the run started (zero when unknown);
	// Duration how long it took.
	Started  time.Time
	Duration time.Duration
	// Properties are further facts about the run, in order.
	Properties []Property
	// Tests are the top-level tests, in the order they started.
	Tests []*Test
	// Error says why the run as a whole failed outside any test (the test
	// binary exited early, the guest hung), or is "".
	Error string
	// Output holds lines of the run that belong to no test.
	Output []string
	// Crashes are kernel reports that appeared while no test ran.
	Crashes []*Crash
}

// Lookup returns the test named name, or nil.
func (s *Suite) Lookup(name string) *Test {
	tests := s.Tests
	var found *Test
	for level := range strings.SplitSeq(name, "/") {
		found = nil
		for _, t := range tests {
			if t.Base() == level {
				found = t
				break
			}
		}
		if found == nil {
			return nil
		}
		tests = found.Subtests
	}
	return found
}

// Test returns the test named name, adding it (and any group above it
// that does not exist yet) after its siblings when it is new.
func (s *Suite) Test(name string) *Test {
	if t := s.Lookup(name); t != nil {
		return t
	}
	t := &Test{Name: name}
	parent := t.Parent()
	if parent == "" {
		s.Tests = append(s.Tests, t)
		return t
	}
	p := s.Lookup(parent)
	if p == nil {
		p = s.Test(parent)
		p.implicit = true
	}
	p.Subtests = append(p.Subtests, t)
	return t
}

// Add adds t under its name, replacing a group made implicitly for an
// earlier subtest (whose subtests t keeps), and returns t.
func (s *Suite) Add(t *Test) *Test {
	old := s.Test(t.Name)
	subs := append(old.Subtests, t.Subtests...)
	*old = *t
	old.Subtests = subs
	return old
}

// AttachCrash records a kernel report against the test named name, failing
// it, or against the suite when name is "" or names no test.
func (s *Suite) AttachCrash(name string, c *Crash) {
	if t := s.Lookup(name); name != "" && t != nil {
		t.Crashes = append(t.Crashes, c)
		return
	}
	s.Crashes = append(s.Crashes, c)
}

// Walk calls fn for every test, depth first, a group before its subtests.
func (s *Suite) Walk(fn func(t *Test, depth int)) {
	var walk func([]*Test, int)
	walk = func(ts []*Test, d int) {
		for _, t := range ts {
			fn(t, d)
			walk(t.Subtests, d+1)
		}
	}
	walk(s.Tests, 0)
}

// Counts are how many tests (groups included) ended each way.
type Counts struct {
	Total, Passed, Failed, Skipped, Crashed int
}

// Count counts every test by its Result.
func (s *Suite) Count() Counts {
	var c Counts
	s.Walk(func(t *Test, _ int) {
		c.Total++
		switch t.Result() {
		case Pass:
			c.Passed++
		case Fail:
			c.Failed++
		case Skip:
			c.Skipped++
		}
		if len(t.Crashes) > 0 {
			c.Crashed++
		}
	})
	return c
}

// HarnessTest is the name of the synthetic test the writers add when the
// run failed outside any test (Suite.Error or Suite.Crashes), so that every
// format carries that failure as a failed test.
const HarnessTest = "harness"

// topLevel returns the suite's top-level tests plus, when the run failed
// outside any test, the synthetic HarnessTest.
func (s *Suite) topLevel() []*Test {
	if s.Error == "" && len(s.Crashes) == 0 {
		return s.Tests
	}
	h := &Test{Name: HarnessTest, Status: Fail, Message: s.Error, Output: s.Output, Crashes: s.Crashes}
	if h.Message == "" {
		h.Message = "kernel crash outside any test: " + s.Crashes[0].Title()
	}
	return append(append([]*Test(nil), s.Tests...), h)
}
