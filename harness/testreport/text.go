package testreport

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// ansiRE matches terminal escape sequences (CSI, e.g. colours, and the
// two-byte ESC forms) that consoles and test logs carry.
var ansiRE = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|[0-~])`)

// Clean makes one line of console or test output safe for every format:
// it drops terminal escape sequences and a trailing CR, and replaces what
// XML 1.0 and YAML may not hold (control characters other than tab,
// U+FFFE, U+FFFF, invalid UTF-8, and line breaks inside the line) with
// U+FFFD.
func Clean(line string) string {
	line = strings.TrimRight(line, "\r\n")
	if strings.IndexByte(line, 0x1b) >= 0 {
		line = ansiRE.ReplaceAllString(line, "")
	}
	ok := true
	for i, r := range line {
		if !validRune(r) || (r == utf8.RuneError && isBadByte(line, i)) {
			ok = false
			break
		}
	}
	if ok {
		return line
	}
	var b strings.Builder
	for i, r := range line {
		if !validRune(r) || (r == utf8.RuneError && isBadByte(line, i)) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBadByte(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n == 1
}

// validRune reports whether r may appear raw in a line of both XML 1.0
// character data and a YAML block scalar (YAML's printable set, which is
// the narrower): tab, U+0020..U+007E, U+00A0..U+D7FF, U+E000..U+FFFD and
// above U+FFFF. DEL and the C1 controls are legal XML but not printable
// YAML, so they go too.
func validRune(r rune) bool {
	switch {
	case r == '\t':
		return true
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return false
	case r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return false
	}
	return r <= utf8.MaxRune
}

// cleanLines applies Clean to every line.
func cleanLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = Clean(l)
	}
	return out
}
