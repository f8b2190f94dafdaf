package proto

import "strings"

// The markers the in-guest tests write to /dev/kmsg around each test, so
// that the host can attribute a kernel report on the console to the test
// that was running (harness/vm.ScanAll) and know which tests started and
// ended even when the guest died before reporting them: "bpfstor-test:
// start NAME" before a test, "bpfstor-test: end NAME RESULT" after it,
// NAME being the test's full name without spaces and RESULT its outcome
// (pass, fail, skip). They live here, not in harness/vm, so that the guest
// binaries can write them without linking the QEMU controller.
const (
	TestMarker = "bpfstor-test: "
	TestStart  = TestMarker + "start "
	TestEnd    = TestMarker + "end "
)

// StartMarker is the line a test writes before it runs.
func StartMarker(name string) string { return TestStart + name }

// EndMarker is the line a test writes after it ran (see StartMarker); the
// caller may append " " and the test's result.
func EndMarker(name string) string { return TestEnd + name }

// ParseMarker parses the message of one kernel log line (its printk
// timestamp removed) as a test marker: whether it starts or ends the
// test, the test's name and what follows the name (the result of an end
// marker, or "").
func ParseMarker(msg string) (start bool, name, rest string, ok bool) {
	s, found := strings.CutPrefix(strings.Trim(msg, "\r\n"), TestMarker)
	if !found {
		return false, "", "", false
	}
	verb, s, _ := strings.Cut(s, " ")
	name, rest, _ = strings.Cut(s, " ")
	if name == "" || (verb != "start" && verb != "end") {
		return false, "", "", false
	}
	return verb == "start", name, strings.TrimSpace(rest), true
}
