package testreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one line of cmd/test2json's output (go test -json): see
// `go doc test2json`.
type Event struct {
	Time    time.Time
	Action  string
	Package string  `json:",omitempty"`
	Test    string  `json:",omitempty"`
	Elapsed float64 `json:",omitempty"` // seconds
	Output  string  `json:",omitempty"`
	// ImportPath is set on build-output and build-fail events (Go 1.24+).
	ImportPath string `json:",omitempty"`
}

// ParseOptions say how ParseTest2JSON names what it reads.
type ParseOptions struct {
	// Suite names the suite; the package of the first event when "".
	Suite string
	// Rename maps a go test name to the report's; nil keeps it (see
	// TrimTestPrefix).
	Rename func(string) string
}

// TrimTestPrefix names tests the way bpfstor's reports do: the top level
// loses go's "Test" prefix and starts in lower case, the levels below stay
// as they are: "TestUring/teardown" -> "uring/teardown".
func TrimTestPrefix(name string) string {
	top, rest, sub := strings.Cut(name, "/")
	if t, ok := strings.CutPrefix(top, "Test"); ok && t != "" {
		r, n := utf8.DecodeRuneInString(t)
		top = string(unicode.ToLower(r)) + t[n:]
	}
	if sub {
		return top + "/" + rest
	}
	return top
}

// NotFinished is the message of a test that started but never ended: the
// test binary died or the guest hung while it ran.
const NotFinished = "did not finish: no pass, fail or skip event (the test binary died or the guest hung while it ran)"

var (
	// framingRE matches the lines go test -v prints around a test's own
	// output, which test2json also passes on as output events.
	framingRE = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)\s|--- (PASS|FAIL|SKIP|BENCH): )`)
	// summaryRE matches the package-level summary lines.
	summaryRE = regexp.MustCompile(`^(PASS|FAIL|ok  \t.*|FAIL\t.*|testing: warning: no tests to run)$`)
	// logRE matches a t.Log/t.Error/t.Skip line, "    file_test.go:12: msg".
	logRE = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: (.*)$`)
)

// ParseTest2JSON reads a test2json event stream and returns the run it
// describes. Every test that started appears, nested by the "/" in its
// name; its output keeps its own log lines (go test's "=== RUN" and
// "--- PASS" framing dropped, one level of indentation removed); its
// message is its last log line (what t.Fatal or t.Skip printed), or a
// panic. A test with no end event fails with NotFinished, and a package
// failure no test explains becomes the suite's Error. Lines that are not JSON
// objects are kept as suite output (a test binary's stray prints); a line
// that starts like an event but does not decode is an error naming it.
func ParseTest2JSON(r io.Reader, opt ParseOptions) (*Suite, error) {
	p := &parser{s: &Suite{Name: opt.Suite}, rename: opt.Rename, pending: map[string]*strings.Builder{}, ended: map[string]bool{}}
	if p.rename == nil {
		p.rename = func(s string) string { return s }
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			p.s.Output = append(p.s.Output, string(line))
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("test2json: line %d: %w", n, err)
		}
		p.event(&ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("test2json: %w", err)
	}
	p.finish()
	return p.s, nil
}

type parser struct {
	s       *Suite
	rename  func(string) string
	order   []string // go test names in the order they started
	pending map[string]*strings.Builder
	ended   map[string]bool
	first   time.Time
	last    time.Time
	pkgFail bool
	pkgDone bool
}

func (p *parser) event(ev *Event) {
	if !ev.Time.IsZero() {
		if p.first.IsZero() {
			p.first = ev.Time
		}
		p.last = ev.Time
	}
	if p.s.Name == "" && ev.Package != "" {
		p.s.Name = ev.Package
	}
	if ev.Test == "" {
		p.packageEvent(ev)
		return
	}
	t := p.s.Test(p.rename(ev.Test))
	switch ev.Action {
	case "run":
		if _, ok := p.pending[ev.Test]; !ok {
			p.order = append(p.order, ev.Test)
			p.pending[ev.Test] = &strings.Builder{}
		}
	case "output":
		b := p.pending[ev.Test]
		if b == nil {
			b = &strings.Builder{}
			p.pending[ev.Test] = b
			p.order = append(p.order, ev.Test)
		}
		b.WriteString(ev.Output)
		p.flushLines(t, b, false)
	case "pass", "fail", "skip":
		p.flushLines(t, p.pending[ev.Test], true)
		p.ended[ev.Test] = true
		t.implicit = false
		t.Status = map[string]Status{"pass": Pass, "fail": Fail, "skip": Skip}[ev.Action]
		t.Duration = time.Duration(ev.Elapsed * float64(time.Second))
		t.Message = message(t)
	}
}

func (p *parser) packageEvent(ev *Event) {
	switch ev.Action {
	case "output", "build-output":
		for l := range strings.SplitSeq(strings.TrimRight(ev.Output, "\n"), "\n") {
			if l = strings.TrimRight(l, "\r"); l != "" && !summaryRE.MatchString(l) {
				p.s.Output = append(p.s.Output, l)
			}
		}
	case "fail", "build-fail":
		p.pkgFail = true
		p.pkgDone = true
		p.s.Duration = time.Duration(ev.Elapsed * float64(time.Second))
	case "pass", "skip":
		p.pkgDone = true
		p.s.Duration = time.Duration(ev.Elapsed * float64(time.Second))
	}
}

// flushLines moves the complete lines of b (all of it at the test's end)
// into t's output.
func (p *parser) flushLines(t *Test, b *strings.Builder, all bool) {
	if b == nil {
		return
	}
	text := b.String()
	cut := strings.LastIndexByte(text, '\n') + 1
	if all {
		cut = len(text)
	}
	if cut == 0 {
		return
	}
	for l := range strings.SplitSeq(strings.TrimSuffix(text[:cut], "\n"), "\n") {
		l = strings.TrimRight(l, "\r")
		if framingRE.MatchString(l) {
			continue
		}
		t.Output = append(t.Output, strings.TrimPrefix(l, "    "))
	}
	b.Reset()
	b.WriteString(text[cut:])
}

// message picks the line that says why a test failed or was skipped.
func message(t *Test) string {
	if t.Status == Pass {
		return ""
	}
	var logs []string
	for _, l := range t.Output {
		if strings.HasPrefix(l, "panic: ") {
			return l
		}
		if m := logRE.FindStringSubmatch(l); m != nil {
			logs = append(logs, m[1])
		}
	}
	if len(logs) == 0 {
		return ""
	}
	// t.Log and t.Error print alike; t.Fatal and t.Skip print last.
	return logs[len(logs)-1]
}

func (p *parser) finish() {
	for _, name := range p.order {
		t := p.s.Lookup(p.rename(name))
		if t == nil || p.ended[name] {
			continue
		}
		p.flushLines(t, p.pending[name], true)
		t.implicit = false
		t.Status = Fail
		t.Message = NotFinished
	}
	if !p.first.IsZero() {
		p.s.Started = p.first
		if p.s.Duration == 0 {
			p.s.Duration = p.last.Sub(p.first)
		}
	}
	failed := false
	p.s.Walk(func(t *Test, _ int) { failed = failed || t.Result() == Fail })
	switch {
	case p.pkgFail && !failed:
		p.s.Error = "the test binary failed outside any test"
		if n := len(p.s.Output); n > 0 {
			p.s.Error += ": " + p.s.Output[n-1]
		}
	case !p.pkgDone && len(p.order) > 0 && !failed:
		p.s.Error = "the event stream ended before the test binary did"
	}
}
