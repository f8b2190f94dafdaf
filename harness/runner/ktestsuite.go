package runner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/testreport"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// TestSuiteName names the suite of the in-guest tests in every report.
const TestSuiteName = "bpfstor-ktest"

// crashContext is how many console lines after a report's first line a
// test's crash keeps.
const crashContext = 40

// KTestSuite turns a test run (a ktest point's results and the run's
// console) into a report: each test the guest reported, pass, fail or
// skip with its message; each test the console markers show started but
// the guest never reported (the guest crashed or hung while it ran) as
// failed, or with the result its end marker gives; every kernel report on
// the console attached to the test running when it appeared (failing it),
// or to the suite; and why the run failed outside the tests (no boot, a
// job timeout with the console tail, the test binary dying) as the
// suite's Error.
func KTestSuite(res *results.Result, console string) *testreport.Suite {
	m := res.Meta
	s := &testreport.Suite{
		Name: TestSuiteName, Kernel: m.KernelRelease, Variant: m.KernelVariant,
		Hostname: m.HostName, Started: m.Started,
	}
	if !m.Started.IsZero() && m.Finished.After(m.Started) {
		s.Duration = m.Finished.Sub(m.Started)
	}
	// The release and variant are the suite's Kernel and Variant, which
	// every writer names already.
	for _, p := range []testreport.Property{
		{Name: "kernel_key", Value: m.KernelKey},
		{Name: "kernel_source", Value: m.KernelSource},
		{Name: "patch_series_hash", Value: m.PatchSeriesHash},
		{Name: "patches", Value: fmt.Sprint(len(m.Patches))},
		{Name: "config_hash", Value: m.ConfigHash},
		{Name: "qemu_version", Value: m.QEMUVersion},
		{Name: "accel", Value: m.Accel},
		{Name: "guest_cmdline", Value: m.GuestCmdline},
		{Name: "bpfstor_rev", Value: m.BpfstorRev},
		{Name: "run_status", Value: res.Status},
	} {
		if p.Value != "" {
			s.Properties = append(s.Properties, p)
		}
	}

	reported := map[string]bool{}
	for _, p := range res.Points {
		failed := false
		for _, r := range p.Tests {
			t := testOf(r)
			failed = failed || t.Status == testreport.Fail
			s.Add(t)
			reported[r.Name] = true
		}
		if p.Status != proto.StatusOK {
			s.Output = append(s.Output, "point "+p.ID+": "+p.Error)
			if !failed { // not explained by a failed test: the binary died, the clocksource changed, ...
				s.Error = joinErr(s.Error, p.Error)
			}
		}
	}
	for _, t := range unreported(console, reported) {
		s.Add(t)
	}
	reports := vm.ScanAllConsole(console, crashContext)
	for _, r := range reports {
		s.AttachCrash(testreport.TrimTestPrefix(r.Test), &testreport.Crash{Kind: r.Kind, Lines: append([]string{r.Line}, r.Context...)})
	}
	if len(res.Points) == 0 && res.Reason != "" && !(len(reports) > 0 && strings.HasPrefix(res.Reason, "kernel crash")) {
		// the reason quotes console lines, which end in CR
		s.Error = joinErr(s.Error, strings.ReplaceAll(res.Reason, "\r", ""))
	}
	return s
}

// testOf is one reported test: its message's first line says why it
// failed or skipped; every line of it (a verifier log, a pass's counts) is
// its output.
func testOf(r proto.TestResult) *testreport.Test {
	t := &testreport.Test{Name: r.Name, Duration: time.Duration(r.ElapsedNs)}
	switch {
	case r.Skip:
		t.Status = testreport.Skip
	case r.Pass:
		t.Status = testreport.Pass
	default:
		t.Status = testreport.Fail
	}
	msg := strings.TrimRight(r.Message, "\n")
	if msg == "" {
		return t
	}
	first, _, multi := strings.Cut(msg, "\n")
	if t.Status != testreport.Pass {
		t.Message = first
	}
	if multi || t.Status == testreport.Pass {
		t.Output = strings.Split(msg, "\n")
	}
	return t
}

// unreported returns the tests the console's markers (proto.StartMarker)
// show started but the guest never reported, in the order they started:
// with the result of their end marker, or failed as not finished; the
// printk timestamps of the markers give their durations.
func unreported(console string, reported map[string]bool) []*testreport.Test {
	var order []string
	type seen struct {
		result     string
		start, end time.Duration
		ended      bool
	}
	tests := map[string]*seen{}
	for _, l := range strings.Split(console, "\n") {
		start, name, rest, ok := vm.Marker(l)
		name = testreport.TrimTestPrefix(name) // as crashes are attached
		if !ok || reported[name] {
			continue
		}
		at, _ := printkTime(l)
		st := tests[name]
		switch {
		case start && st == nil:
			order = append(order, name)
			tests[name] = &seen{start: at}
		case !start && st != nil:
			st.result, st.end, st.ended = rest, at, true
		}
	}
	var out []*testreport.Test
	for _, name := range order {
		st := tests[name]
		t := &testreport.Test{Name: name, Status: testreport.Fail, Message: testreport.NotFinished}
		if st.ended && st.end > st.start {
			t.Duration = st.end - st.start
		}
		switch st.result {
		case "pass":
			t.Status, t.Message = testreport.Pass, ""
			t.Output = []string{"result from its end marker on the console: the guest did not report it"}
		case "skip":
			t.Status, t.Message = testreport.Skip, "skipped (its end marker on the console; the guest did not report why)"
		case "fail":
			t.Message = "failed (its end marker on the console; the guest did not report why)"
		}
		out = append(out, t)
	}
	return out
}

// printkTime is the printk timestamp a console line starts with,
// "[   12.345678] ...", as time since boot.
func printkTime(line string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(line, "[")
	if !ok {
		return 0, false
	}
	ts, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(sec * float64(time.Second)), true
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
