// Package selftest holds the in-guest tests of the BPF storage functions
// kernel feature (kernel/patches, issue 4): BPF_PROG_TEST_RUN, verifier
// rejections, chain_read() at both dispatch levels against a user-space
// pread chain, the safety cases and concurrency. Its own static binary,
// cmd/bpfstor-ktest, calls Run in the guest (the guest agent execs it), so
// none of this is linked into the agent.
//
// The fatal-signal test re-executes the running binary (/proc/self/exe) with
// BPFSTOR_SELFTEST_CHILD set; this package's init function then runs the
// child's endless chain and never returns to main.
package selftest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// Options configures Run.
type Options struct {
	Device string // raw block device, e.g. /dev/nvme0n1
	// Serial, if set, names the device by its NVMe serial instead; Run
	// waits up to 30 s for it and sets Device.
	Serial string
	Seed   int64 // seed of the random chains
	Quick  bool  // fewer chains
	// OnResult, if set, receives each Result as soon as it is known, in
	// the order Run returns them.
	OnResult func(Result)
	// Filter, if set, selects the tests to run by their full name (go
	// test's -run, unanchored: "verifier/" runs every verifier test); the
	// others are neither run nor reported.
	Filter *regexp.Regexp
	// Mark, if set, receives a line before each test (proto.StartMarker)
	// and after it (proto.EndMarker, then its result: pass, fail, skip);
	// bpfstor-ktest writes them to /dev/kmsg, so that the host can tell
	// which test a kernel report on the console belongs to.
	Mark func(line string)
}

// selected returns the tests of ts that filter selects (all when nil).
func selected(ts []test, filter *regexp.Regexp) []test {
	if filter == nil {
		return ts
	}
	var out []test
	for _, t := range ts {
		if filter.MatchString(t.name) {
			out = append(out, t)
		}
	}
	return out
}

// Result is the outcome of one test.
type Result struct {
	Name    string        `json:"name"`
	Pass    bool          `json:"pass"`
	Skip    bool          `json:"skip,omitempty"`
	Message string        `json:"message,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// errSkip marks a test that cannot run here.
type errSkip struct{ msg string }

func (e errSkip) Error() string { return e.msg }

func skipf(format string, args ...any) error { return errSkip{fmt.Sprintf(format, args...)} }

type test struct {
	name string
	fn   func(*env) (string, error)
}

// Run runs all tests and returns one Result per test, in order. logf
// receives progress lines (may be nil).
func Run(opts Options, logf func(format string, args ...any)) []Result {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var results []Result
	add := func(r Result) {
		results = append(results, r)
		if opts.OnResult != nil {
			opts.OnResult(r)
		}
	}
	mark := opts.Mark
	if mark == nil {
		mark = func(string) {}
	}
	ts := selected(tests(), opts.Filter)
	if len(ts) == 0 {
		add(Result{Name: "setup", Message: fmt.Sprintf("selftest: no test matches -run %q", opts.Filter)})
		return results
	}
	if opts.Serial != "" {
		dev, err := waitDisk(opts.Serial, 30*time.Second)
		if err != nil {
			add(Result{Name: "setup", Message: "selftest: data disk: " + err.Error()})
			return results
		}
		opts.Device = dev
	}
	e, err := newEnv(opts, logf)
	if err != nil {
		add(Result{Name: "setup", Message: err.Error()})
		return results
	}
	defer e.close()
	hung := ""
	for _, t := range ts {
		if hung != "" {
			add(Result{Name: t.name, Message: "not run: " + hung + " did not finish"})
			continue
		}
		mark(proto.StartMarker(t.name))
		start := time.Now()
		msg, err := runOne(t, e)
		if errors.Is(err, errHung) {
			hung = t.name // its goroutine may still hold the devices
		}
		r := Result{Name: t.name, Elapsed: time.Since(start), Message: msg}
		var sk errSkip
		switch {
		case errors.As(err, &sk):
			r.Skip = true
			r.Message = sk.msg
		case err != nil:
			r.Message = err.Error()
		default:
			r.Pass = true
		}
		mark(proto.EndMarker(t.name) + " " + strings.ToLower(status(r)))
		logf("%s %s (%v) %s", status(r), r.Name, r.Elapsed.Round(time.Millisecond), firstLine(r.Message))
		add(r)
	}
	return results
}

// TestTimeout bounds one test: a test still running then has hung (a
// chain that never ends, a device that never comes back) and fails, and
// the tests after it are not run.
var TestTimeout = 4 * time.Minute

var errHung = errors.New("hung")

func runOne(t test, e *env) (string, error) {
	type outcome struct {
		msg string
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- outcome{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		msg, err := t.fn(e)
		ch <- outcome{msg, err}
	}()
	select {
	case o := <-ch:
		return o.msg, o.err
	case <-time.After(TestTimeout):
		return "", fmt.Errorf("still running after %v: %w", TestTimeout, errHung)
	}
}

func status(r Result) string {
	switch {
	case r.Skip:
		return "SKIP"
	case r.Pass:
		return "PASS"
	}
	return "FAIL"
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " ..."
		}
	}
	return s
}
