package vm

import (
	"regexp"
	"strings"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// Crash is a kernel crash or splat seen on the console.
type Crash struct {
	// Kind names the pattern that matched, e.g. "panic" or "KASAN".
	Kind string
	// Line is the console line that matched, without its timestamp.
	Line string
	// Context holds the lines after Line (the report's body), when known.
	Context []string
}

func (c *Crash) String() string { return c.Kind + ": " + c.Line }

// crashPatterns are checked in order; the first match names the crash.
// Each is anchored at the start of a kernel message (after the printk
// timestamp, see kernelMessage) on the text Linux 6.12 prints first in a
// report; the format strings are cited from linux-source-6.12.
var crashPatterns = []struct {
	kind string
	re   *regexp.Regexp
}{
	// mm/kasan/report.c: "BUG: KASAN: %s in %pS"; KFENCE, KMSAN, KCSAN alike.
	{"KASAN", regexp.MustCompile(`^BUG: KASAN: `)},
	{"KFENCE", regexp.MustCompile(`^BUG: KFENCE: `)},
	{"KMSAN", regexp.MustCompile(`^BUG: KMSAN: `)},
	{"KCSAN", regexp.MustCompile(`^BUG: KCSAN: `)},
	// lib/ubsan.c: "UBSAN: %s in %s:%d:%d".
	{"UBSAN", regexp.MustCompile(`^UBSAN: `)},
	// kernel/locking/lockdep.c (every pr_warn("WARNING: ...") of a lockdep
	// report, "suspicious RCU usage" included).
	{"lockdep", regexp.MustCompile(`^WARNING: (possible circular locking dependency detected|possible recursive locking detected|` +
		`inconsistent lock state|possible irq lock inversion dependency detected|\S+-safe -> \S+-unsafe lock order detected|` +
		`bad unlock balance detected!|bad contention detected!|held lock freed!|\S+ still has locks held!|` +
		`lock held when returning to user space!|Nested lock was not taken|chain_key collision|suspicious RCU usage)`)},
	// kernel/watchdog.c (pr_fmt "watchdog: ").
	{"soft lockup", regexp.MustCompile(`^watchdog: BUG: soft lockup - CPU#`)},
	{"hard lockup", regexp.MustCompile(`^(NMI )?watchdog: Watchdog detected hard LOCKUP`)},
	// kernel/rcu/tree_stall.h, tree_exp.h (pr_fmt "rcu: "; older kernels
	// printed the same without it).
	{"rcu stall", regexp.MustCompile(`^(rcu: )?INFO: rcu_\w+ (self-)?detected (expedited )?stalls?\b`)},
	// kernel/hung_task.c: "INFO: task %s:%d blocked for more than %ld seconds."
	{"hung task", regexp.MustCompile(`^INFO: task .+:\d+ blocked for more than \d+ seconds`)},
	// kernel/workqueue.c: "BUG: workqueue lockup - pool ...".
	{"workqueue lockup", regexp.MustCompile(`^BUG: workqueue lockup`)},
	// lib/refcount.c: WARN_ONCE(1, "refcount_t: " str ".\n") (printed
	// before the WARNING line it comes with).
	{"refcount", regexp.MustCompile(`^refcount_t: (saturated|addition on 0|underflow|decrement hit 0|unknown saturation)`)},
	// lib/list_debug.c: CHECK_DATA_CORRUPTION messages (before the WARNING
	// or "kernel BUG at" line).
	{"list corruption", regexp.MustCompile(`^list_(add|del) (corruption|double add)`)},
	// lib/bug.c: "kernel BUG at %s:%u!".
	{"kernel BUG", regexp.MustCompile(`^kernel BUG at `)},
	// arch/x86/kernel/traps.c (GPFSTR), printed by __die_header as
	// "Oops: general protection fault, ...: 0000 [#1] ..." since 6.10.
	{"GPF", regexp.MustCompile(`^(Oops: )?general protection fault\b`)},
	// arch/x86/mm/fault.c: "BUG: kernel NULL pointer dereference, address:",
	// "BUG: unable to handle page fault for address:"; arm64's
	// "Unable to handle kernel %s at virtual address" is the same fault.
	{"BUG", regexp.MustCompile(`^Unable to handle kernel (NULL pointer dereference|paging request|execute from non-executable memory|write to read-only memory|access to user memory)`)},
	// Every other "BUG: ..." (sleeping function called from invalid
	// context, scheduling while atomic, Bad page state, ...).
	{"BUG", regexp.MustCompile(`^BUG: `)},
	// arch/x86/kernel/dumpstack.c __die_header: "Oops: %s: %04lx [#%d]...";
	// arm64 prints "Internal error: %s: %016lx [#%d]".
	{"Oops", regexp.MustCompile(`^(Oops: |Internal error: )`)},
	// kernel/panic.c __warn: "WARNING: CPU: %d PID: %d at %s:%d %pS", and
	// any other WARNING the kernel prints.
	{"WARNING", regexp.MustCompile(`^WARNING: `)},
	// kernel/panic.c panic(): "Kernel panic - not syncing: %s".
	{"panic", regexp.MustCompile(`^Kernel panic - not syncing`)},
}

// tsRE matches the printk timestamp (CONFIG_PRINTK_TIME, in bpfstor's
// base.config) and, with CONFIG_PRINTK_CALLER, the caller id after it:
// "[   12.345678] " or "[   12.345678][    T1] ".
var tsRE = regexp.MustCompile(`^\[\s*\d+\.\d+\](\[\s*[CT]\d+\])? ?`)

// kernelMessage returns the message of a console line the kernel printed,
// without its timestamp, and whether the line is one: only printk output
// carries the timestamp, so text that user space writes to the console (a
// test's own log saying "expect no BUG", a Go panic of the agent) is never
// taken for a kernel report.
func kernelMessage(line string) (string, bool) {
	line = strings.Trim(line, "\r\n")
	loc := tsRE.FindStringIndex(line)
	if loc == nil {
		return "", false
	}
	return line[loc[1]:], true
}

// ScanLine returns the crash a console line starts, or nil. The line must
// be kernel output (see kernelMessage) whose message starts with one of
// the report headers of crashPatterns.
func ScanLine(line string) *Crash {
	msg, ok := kernelMessage(line)
	if !ok {
		return nil
	}
	for _, p := range crashPatterns {
		if p.re.MatchString(msg) {
			return &Crash{Kind: p.kind, Line: msg}
		}
	}
	return nil
}

// ScanConsole returns the first crash in a whole console log, with up to
// contextLines lines after it, or nil.
func ScanConsole(log string, contextLines int) *Crash {
	if all := ScanAll(splitLines(log), contextLines); len(all) > 0 {
		return all[0].Crash
	}
	return nil
}

// Report is one crash in a console and where it is.
type Report struct {
	*Crash
	// LineNo is the 1-based console line of the report's first line.
	LineNo int
	// Test is the in-guest test that was running when the report
	// appeared (the innermost one, by the TestStart/TestEnd markers), or
	// "" when none was.
	Test string
}

// The markers the in-guest tests print around each test, so that a crash
// can be attributed to the test that was running: "bpfstor-test: start
// NAME" before it, "bpfstor-test: end NAME" (anything may follow NAME
// after a space, e.g. the result) after it, NAME being the test's full
// name without spaces (go test's t.Name(): "TestChain/driver/hop-limit").
// Write them to /dev/kmsg, so that they are ordered with the kernel's own
// messages; lines written to the console by user space are read too.
// They are defined in harness/proto, which the guest binaries share.
const (
	TestMarker = proto.TestMarker
	TestStart  = proto.TestStart
	TestEnd    = proto.TestEnd
)

// StartMarker and EndMarker are the lines a test prints around itself.
func StartMarker(name string) string { return proto.StartMarker(name) }

// EndMarker: see StartMarker.
func EndMarker(name string) string { return proto.EndMarker(name) }

// Marker parses a console line as a test marker: start or end, the test's
// name and what follows it (an end marker's result).
func Marker(line string) (start bool, name, rest string, ok bool) {
	msg, isKernel := kernelMessage(line)
	if !isKernel {
		msg = line
	}
	return proto.ParseMarker(msg)
}

// marker is Marker without the rest.
func marker(line string) (start bool, name string, ok bool) {
	start, name, _, ok = Marker(line)
	return start, name, ok
}

// endRE matches the last line of a report: "---[ end trace ... ]---",
// "---[ end Kernel panic - not syncing: ... ]---" or KASAN's and UBSAN's
// closing rule.
var endRE = regexp.MustCompile(`^(---\[ end |={40,}$)`)

// ScanAll returns every crash in a console, in order, each with up to
// contextLines lines of its body (stopping before a test marker and
// after a report's end line; a report that another one follows, as an
// Oops follows "BUG: kernel NULL pointer dereference", keeps the lines of
// both) and the test running when it
// appeared (see TestStart).
func ScanAll(lines []string, contextLines int) []Report {
	var out []Report
	var running []string // started and not ended, innermost last
	for i, l := range lines {
		if start, name, ok := marker(l); ok {
			if start {
				running = append(running, name)
			} else {
				for j := len(running) - 1; j >= 0; j-- {
					if running[j] == name {
						running = append(running[:j], running[j+1:]...)
						break
					}
				}
			}
			continue
		}
		c := ScanLine(l)
		if c == nil {
			continue
		}
		for _, x := range lines[i+1 : min(len(lines), i+1+contextLines)] {
			if _, _, ok := marker(x); ok {
				break
			}
			msg, ok := kernelMessage(x)
			if !ok {
				msg = strings.Trim(x, "\r\n")
			}
			c.Context = append(c.Context, msg)
			if endRE.MatchString(msg) {
				break
			}
		}
		r := Report{Crash: c, LineNo: i + 1}
		if n := len(running); n > 0 {
			r.Test = running[n-1]
		}
		out = append(out, r)
	}
	return out
}

// ScanAllConsole is ScanAll over a whole console log.
func ScanAllConsole(log string, contextLines int) []Report {
	return ScanAll(splitLines(log), contextLines)
}

func splitLines(log string) []string {
	return strings.Split(strings.TrimSuffix(log, "\n"), "\n")
}
