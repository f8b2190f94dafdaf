package testreport

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteKTAP writes s as KTAP version 1 (Documentation/dev-tools/ktap.rst):
// a version line and a plan at every level, a group's subtests indented two
// spaces below it, each test's log as "# " diagnostic lines just before its
// result line, and "ok N name # SKIP reason" for a skip. The suite's facts
// come first as diagnostics; a failure outside any test is the last test,
// HarnessTest, with the ERROR directive.
func WriteKTAP(w io.Writer, s *Suite) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "KTAP version 1")
	for _, l := range suiteFacts(s) {
		fmt.Fprintf(bw, "# %s\n", l)
	}
	writeKTAPLevel(bw, s.topLevel(), "")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ktap: %w", err)
	}
	return nil
}

func writeKTAPLevel(w *bufio.Writer, tests []*Test, indent string) {
	fmt.Fprintf(w, "%s1..%d\n", indent, len(tests))
	for i, t := range tests {
		if len(t.Subtests) > 0 {
			sub := indent + "  "
			fmt.Fprintf(w, "%sKTAP version 1\n", sub)
			// KUnit's subtest header: a diagnostic to KTAP, and what
			// kunit_parser.py matches a group's result line against.
			fmt.Fprintf(w, "%s# Subtest: %s\n", sub, ktapName(t.Base()))
			writeKTAPLevel(w, t.Subtests, sub)
		}
		for _, l := range diagnostics(t) {
			fmt.Fprintf(w, "%s%s\n", indent, strings.TrimRight("# "+l, " "))
		}
		fmt.Fprintf(w, "%s%s %d %s%s\n", indent, okWord(t.Result()), i+1, ktapName(t.Base()), ktapDirective(t))
	}
}

func okWord(s Status) string {
	if s == Fail {
		return "not ok"
	}
	return "ok"
}

// ktapDirective is the " # DIRECTIVE reason" part of a result line.
func ktapDirective(t *Test) string {
	switch {
	case t.Result() == Skip:
		return strings.TrimRight(" # SKIP "+oneLine(t.Message), " ")
	case t.Name == HarnessTest && t.Result() == Fail:
		return strings.TrimRight(" # ERROR "+oneLine(t.Message), " ")
	}
	return ""
}

// ktapName makes a test name a KTAP description: any text but "#" (which
// starts the directive; go test's "name#01" for a repeated name becomes
// "name_01") and line breaks.
func ktapName(name string) string {
	return strings.ReplaceAll(oneLine(name), "#", "_")
}

// oneLine is Clean with "#" kept, for a description or a directive's text.
func oneLine(s string) string {
	return strings.TrimSpace(Clean(strings.ReplaceAll(s, "\n", " ")))
}

// diagnostics are the lines written before a test's result line: why it
// failed, its crash and its log.
func diagnostics(t *Test) []string {
	var out []string
	if t.Message != "" && t.Result() == Fail && t.Name != HarnessTest && !inOutput(t) {
		out = append(out, t.Base()+": "+oneLine(t.Message))
	}
	for _, c := range t.Crashes {
		out = append(out, "crash: "+Clean(c.Title()))
		for _, l := range c.Lines[min(1, len(c.Lines)):] {
			out = append(out, "  "+Clean(l))
		}
	}
	for _, l := range t.Output {
		out = append(out, Clean(l))
	}
	return out
}

// inOutput reports whether the test's message is already one of its log
// lines (go test's t.Error text is both).
func inOutput(t *Test) bool {
	for _, l := range t.Output {
		if strings.Contains(l, t.Message) {
			return true
		}
	}
	return false
}

// suiteFacts are the suite's name, kernel, variant and properties as
// "key: value" lines, in a fixed order.
func suiteFacts(s *Suite) []string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+": "+oneLine(v))
		}
	}
	add("suite", s.Name)
	add("kernel", s.Kernel)
	add("variant", s.Variant)
	add("hostname", s.Hostname)
	if !s.Started.IsZero() {
		add("started", s.Started.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if s.Duration > 0 {
		add("duration", fmt.Sprintf("%.3fs", s.Duration.Seconds()))
	}
	for _, p := range s.Properties {
		add(p.Name, p.Value)
	}
	return out
}
