package vm

import (
	"regexp"
	"strings"
)

// Crash is a kernel crash or splat seen on the console.
type Crash struct {
	// Kind names the pattern that matched, e.g. "panic" or "KASAN".
	Kind string
	// Line is the console line that matched.
	Line string
	// Context holds the lines after Line (the report's body), when known.
	Context []string
}

func (c *Crash) String() string { return c.Kind + ": " + c.Line }

// crashPatterns are checked in order; the first match names the crash.
// Each is anchored on text the kernel prints at the start of a report.
var crashPatterns = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"KASAN", regexp.MustCompile(`BUG: KASAN: `)},
	{"UBSAN", regexp.MustCompile(`UBSAN: `)},
	{"lockdep", regexp.MustCompile(`WARNING: (possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|bad unlock balance)`)},
	{"soft lockup", regexp.MustCompile(`watchdog: BUG: soft lockup`)},
	{"hard lockup", regexp.MustCompile(`watchdog: Watchdog detected hard LOCKUP`)},
	{"rcu stall", regexp.MustCompile(`rcu: INFO: \S+ (self-)?detected stall`)},
	{"hung task", regexp.MustCompile(`INFO: task \S+ blocked for more than \d+ seconds`)},
	{"kernel BUG", regexp.MustCompile(`kernel BUG at `)},
	{"BUG", regexp.MustCompile(`BUG: `)},
	{"GPF", regexp.MustCompile(`general protection fault`)},
	{"Oops", regexp.MustCompile(`Oops: `)},
	{"WARNING", regexp.MustCompile(`WARNING: `)},
	{"panic", regexp.MustCompile(`Kernel panic - not syncing`)},
}

// ScanLine returns the crash a console line starts, or nil.
func ScanLine(line string) *Crash {
	line = strings.TrimRight(line, "\r\n")
	for _, p := range crashPatterns {
		if p.re.MatchString(line) {
			return &Crash{Kind: p.kind, Line: stripTimestamp(line)}
		}
	}
	return nil
}

// ScanConsole returns the first crash in a whole console log, with up to
// contextLines lines after it, or nil.
func ScanConsole(log string, contextLines int) *Crash {
	lines := strings.Split(log, "\n")
	for i, l := range lines {
		if c := ScanLine(l); c != nil {
			end := min(len(lines), i+1+contextLines)
			for _, x := range lines[i+1 : end] {
				c.Context = append(c.Context, stripTimestamp(strings.TrimRight(x, "\r")))
			}
			return c
		}
	}
	return nil
}

var tsRE = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)

func stripTimestamp(l string) string { return tsRE.ReplaceAllString(l, "") }
