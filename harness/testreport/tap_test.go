package testreport

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var tapPointRE = regexp.MustCompile(`^(ok|not ok) ([0-9]+) - ((?:[^#\\]|\\.)*?)( # SKIP(?: (.*))?)?$`)

// tapPoint is one test point of a TAP 13 document and its YAML block.
type tapPoint struct {
	result, name string
	skip         bool
	yaml         []string
}

// checkTAP parses doc by TAP 13's rules: the version line, a plan that
// matches the points, points numbered from 1, and YAML blocks indented two
// spaces between "  ---" and "  ..." right after their point.
func checkTAP(doc string) ([]tapPoint, error) {
	lines := strings.Split(strings.TrimSuffix(doc, "\n"), "\n")
	if lines[0] != "TAP version 13" {
		return nil, fmt.Errorf("line 1: %q, want TAP version 13", lines[0])
	}
	plan := -1
	var pts []tapPoint
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "# "):
		case strings.HasPrefix(l, "1.."):
			n, err := strconv.Atoi(l[3:])
			if err != nil || plan >= 0 {
				return nil, fmt.Errorf("line %d: bad or second plan %q", i+1, l)
			}
			plan = n
		case l == "  ---":
			if len(pts) == 0 || pts[len(pts)-1].yaml != nil {
				return nil, fmt.Errorf("line %d: YAML block not right after a test point", i+1)
			}
			j := i + 1
			for ; j < len(lines) && lines[j] != "  ..."; j++ {
				if lines[j] != "" && !strings.HasPrefix(lines[j], "  ") {
					return nil, fmt.Errorf("line %d: %q in a YAML block is not indented", j+1, lines[j])
				}
			}
			if j == len(lines) {
				return nil, fmt.Errorf("line %d: YAML block without its end", i+1)
			}
			pts[len(pts)-1].yaml = lines[i+1 : j]
			i = j
		default:
			m := tapPointRE.FindStringSubmatch(l)
			if m == nil {
				return nil, fmt.Errorf("line %d: %q is not a TAP line", i+1, l)
			}
			if n, _ := strconv.Atoi(m[2]); n != len(pts)+1 {
				return nil, fmt.Errorf("line %d: test number %d, want %d", i+1, n, len(pts)+1)
			}
			pts = append(pts, tapPoint{result: m[1], name: m[3], skip: m[4] != ""})
		}
	}
	if plan != len(pts) {
		return nil, fmt.Errorf("plan 1..%d, %d test points", plan, len(pts))
	}
	return pts, nil
}

// TestTAPStructure checks every golden suite's TAP against TAP 13's rules
// and against the suite: one point per test, in order, full names, skips.
func TestTAPStructure(t *testing.T) {
	suites := goldenSuites(t)
	for _, name := range sortedKeys(suites) {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTAP(&b, suites[name]); err != nil {
				t.Fatal(err)
			}
			pts, err := checkTAP(b.String())
			if err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			var want []*Test
			var walk func([]*Test)
			walk = func(ts []*Test) {
				for _, x := range ts {
					want = append(want, x)
					walk(x.Subtests)
				}
			}
			walk(suites[name].topLevel())
			if len(pts) != len(want) {
				t.Fatalf("%d points, want %d", len(pts), len(want))
			}
			for i, p := range pts {
				w := want[i]
				if p.name != tapName(w.Name) || p.result != okWord(w.Result()) || p.skip != (w.Result() == Skip) {
					t.Errorf("point %d = %+v, want %s %s skip=%v", i+1, p, okWord(w.Result()), w.Name, w.Result() == Skip)
				}
			}
		})
	}
}

// yamlLoad parses YAML documents with PyYAML and returns them as JSON.
const yamlLoad = `
import sys, json, yaml
print(json.dumps([yaml.safe_load(d) for d in json.load(sys.stdin)]))
`

// TestTAPYAML loads every YAML block with a real YAML parser (PyYAML)
// and checks that message, severity and output come back exactly.
func TestTAPYAML(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import yaml").Run() != nil {
		t.Skip("python3 with PyYAML not found: the YAML blocks are checked for structure only (TestTAPStructure)")
	}
	s := sampleSuite()
	s.Add(&Test{Name: "yaml/edge", Status: Fail, Message: `quote " and \ and: colon`,
		Output: []string{"  leading spaces", "", "key: value", "- dash", "tab\there", "# hash", "\x1b[1mbold\x1b[0m \x01"}})
	var b strings.Builder
	if err := WriteTAP(&b, s); err != nil {
		t.Fatal(err)
	}
	pts, err := checkTAP(b.String())
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	var tests []*Test
	i := 0
	s.Walk(func(x *Test, _ int) {
		if pts[i].yaml != nil {
			docs = append(docs, strings.Join(pts[i].yaml, "\n")+"\n")
			tests = append(tests, x)
		}
		i++
	})
	in, _ := json.Marshal(docs)
	cmd := exec.Command(py, "-c", yamlLoad)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("PyYAML: %v\n%s\n%s", err, out, b.String())
	}
	var got []struct {
		Message  *string
		Severity string
		Output   *string
		Crashes  []struct{ Kind, Console string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, g := range got {
		x := tests[i]
		if g.Severity != x.Result().String() {
			t.Errorf("%s: severity %q, want %q", x.Name, g.Severity, x.Result())
		}
		if (g.Message == nil) != (x.Message == "") || (g.Message != nil && *g.Message != oneLine(x.Message)) {
			t.Errorf("%s: message %v, want %q", x.Name, g.Message, x.Message)
		}
		if want := strings.Join(cleanLines(x.Output), "\n"); (g.Output == nil) != (len(x.Output) == 0) || (g.Output != nil && *g.Output != want) {
			t.Errorf("%s: output %q, want %q", x.Name, deref(g.Output), want)
		}
		if len(g.Crashes) != len(x.Crashes) {
			t.Errorf("%s: %d crashes, want %d", x.Name, len(g.Crashes), len(x.Crashes))
			continue
		}
		for j, c := range x.Crashes {
			if g.Crashes[j].Kind != c.Kind || g.Crashes[j].Console != strings.Join(cleanLines(c.Lines), "\n") {
				t.Errorf("%s: crash %d %+v, want %+v", x.Name, j, g.Crashes[j], c)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
