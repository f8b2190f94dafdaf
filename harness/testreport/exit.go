package testreport

import "fmt"

// Verdict is a suite's outcome as a process exit status and the reason
// for it.
type Verdict struct {
	// Code is 0 when every test passed, 1 otherwise.
	Code int
	// Reason says why the code is not 0 (empty when it is).
	Reason string
}

// Judge decides a suite's outcome: it passes (Code 0) only when at least
// one test ran, none failed or crashed, nothing failed outside the tests
// and, with requireAll, none was skipped (a skip is reported as a skip,
// never as a pass, and --require-all makes it a failure).
func Judge(s *Suite, requireAll bool) Verdict {
	c := s.Count()
	switch {
	case s.Error != "":
		return Verdict{1, "run failed: " + s.Error}
	case len(s.Crashes) > 0:
		return Verdict{1, fmt.Sprintf("kernel crash outside any test: %s", s.Crashes[0].Title())}
	case c.Total == 0:
		return Verdict{1, "no tests ran"}
	case c.Failed > 0:
		return Verdict{1, fmt.Sprintf("%d of %d tests failed (%d with a kernel crash)", c.Failed, c.Total, c.Crashed)}
	case requireAll && c.Skipped > 0:
		return Verdict{1, fmt.Sprintf("%d of %d tests skipped and all are required", c.Skipped, c.Total)}
	}
	return Verdict{}
}

// ExitCode is Judge's code: 0 only if every test passed (skips allowed
// unless requireAll).
func ExitCode(s *Suite, requireAll bool) int { return Judge(s, requireAll).Code }
