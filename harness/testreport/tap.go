package testreport

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteTAP writes s as TAP version 13 (testanything.org): one test point
// per test, groups before their subtests, each under its full name
// ("chain/driver/pread-identical"; TAP 13 does not nest), "# SKIP reason"
// for a skip, and a YAML diagnostic block ("  ---" .. "  ...") with the
// message, duration, crashes and output of every test that has any.
func WriteTAP(w io.Writer, s *Suite) error {
	var flat []*Test
	var walk func([]*Test)
	walk = func(ts []*Test) {
		for _, t := range ts {
			flat = append(flat, t)
			walk(t.Subtests)
		}
	}
	walk(s.topLevel())

	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "TAP version 13")
	for _, l := range suiteFacts(s) {
		fmt.Fprintf(bw, "# %s\n", l)
	}
	fmt.Fprintf(bw, "1..%d\n", len(flat))
	for i, t := range flat {
		fmt.Fprintf(bw, "%s %d - %s", okWord(t.Result()), i+1, tapName(t.Name))
		if t.Result() == Skip {
			fmt.Fprint(bw, strings.TrimRight(" # SKIP "+tapName(t.Message), " "))
		}
		fmt.Fprintln(bw)
		writeYAML(bw, t)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	return nil
}

// tapName escapes "#" and "\" as TAP 13 asks ("\#", "\\").
func tapName(s string) string {
	return strings.NewReplacer(`\`, `\\`, "#", `\#`).Replace(oneLine(s))
}

// writeYAML writes a test's diagnostic block, or nothing when the test
// has nothing to say beyond its result line.
func writeYAML(w *bufio.Writer, t *Test) {
	if t.Message == "" && t.Duration == 0 && len(t.Crashes) == 0 && len(t.Output) == 0 {
		return
	}
	fmt.Fprintln(w, "  ---")
	if t.Message != "" {
		fmt.Fprintf(w, "  message: %s\n", strconv.Quote(oneLine(t.Message)))
	}
	fmt.Fprintf(w, "  severity: %s\n", t.Result())
	if t.Duration > 0 {
		fmt.Fprintf(w, "  duration_ms: %s\n", strconv.FormatFloat(float64(t.Duration.Microseconds())/1000, 'f', -1, 64))
	}
	if len(t.Crashes) > 0 {
		fmt.Fprintln(w, "  crashes:")
		for _, c := range t.Crashes {
			fmt.Fprintf(w, "    - kind: %s\n", strconv.Quote(oneLine(c.Kind)))
			writeBlock(w, "      ", "console", c.Lines)
		}
	}
	writeBlock(w, "  ", "output", t.Output)
	fmt.Fprintln(w, "  ...")
}

// writeBlock writes lines as a YAML literal block scalar under key, kept
// exactly ("|+" would keep trailing blank lines; "|-" drops the last line
// end), indented two spaces further than the key.
func writeBlock(w *bufio.Writer, indent, key string, lines []string) {
	if len(lines) == 0 {
		return
	}
	// A first line that starts with a space needs an explicit indentation
	// indicator, or YAML would take its spaces as the block's indentation.
	header := "|-"
	if strings.HasPrefix(Clean(lines[0]), " ") {
		header = "|2-"
	}
	fmt.Fprintf(w, "%s%s: %s\n", indent, key, header)
	for _, l := range lines {
		l = Clean(l)
		if l == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "%s  %s\n", indent, l)
	}
}
