// Package cell formats the values in the tables of bpfstor's reports (run,
// suite, compare) one way, and holds the thresholds they share.
package cell

import (
	"fmt"
	"strings"

	"github.com/bpfstor/bpfstor/harness/analysis"
)

// StealWarn is the share of the host's CPU time stolen by the hypervisor
// during a point above which a report warns, and between two runs above
// which compare says they differ (on a shared cloud machine a quiet minute
// measured 9.7 %, and the same spec's means moved 3x).
const StealWarn = 0.05

// UsPerNs scales ns to µs.
const UsPerNs = 1e-3

// MD escapes text for a Markdown table cell.
func MD(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// OrDash is s, or a dash for nothing.
func OrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Short is a hash's first 12 characters.
func Short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return OrDash(h)
}

// SpreadUs formats a latency spread in ns as µs.
func SpreadUs(s analysis.Spread) string {
	return fmt.Sprintf("%.1f [%.1f–%.1f]", s.Median/1e3, s.Min/1e3, s.Max/1e3)
}

// SpreadIOPS formats a spread of IOPS.
func SpreadIOPS(s analysis.Spread) string {
	return fmt.Sprintf("%.0f [%.0f–%.0f]", s.Median, s.Min, s.Max)
}

// Ratio formats a ratio with its spread: "1.52x [1.50–1.55]".
func Ratio(r analysis.Ratio) string {
	if r.N == 0 {
		return "—"
	}
	t := fmt.Sprintf("%.2fx [%.2f–%.2f]", r.Median, r.Min, r.Max)
	if !r.Paired {
		t = fmt.Sprintf("%.2fx (ratio of medians)", r.Median)
	}
	return t
}
