package testreport

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ktapNode is one test of a KTAP document, as checkKTAP reads it.
type ktapNode struct {
	name, result, directive string
	subs                    []*ktapNode
}

var (
	ktapResultRE = regexp.MustCompile(`^(ok|not ok) ([0-9]+)(?: ([^#]*?))?( # (\S+)(?: (.*))?)?$`)
	ktapPlanRE   = regexp.MustCompile(`^1\.\.([0-9]+)$`)
)

// checkKTAP parses doc by the rules of ktap.rst and fails on any breach:
// a version line opens the document and every nested level, indented two
// spaces per level; a plan follows it; results are numbered 1..N at their
// level and match the plan; a group fails if a subtest failed.
func checkKTAP(doc string) ([]*ktapNode, error) {
	lines := strings.Split(strings.TrimSuffix(doc, "\n"), "\n")
	i := 0
	var level func(indent string) ([]*ktapNode, error)
	level = func(indent string) ([]*ktapNode, error) {
		if i >= len(lines) || lines[i] != indent+"KTAP version 1" {
			return nil, fmt.Errorf("line %d: want %q", i+1, indent+"KTAP version 1")
		}
		i++
		plan := -1
		var tests []*ktapNode
		var pending []*ktapNode
		for i < len(lines) {
			l := lines[i]
			if !strings.HasPrefix(l, indent) {
				break
			}
			body := l[len(indent):]
			switch {
			case strings.HasPrefix(body, "# "), body == "#":
				i++
			case body == "  KTAP version 1":
				subs, err := level(indent + "  ")
				if err != nil {
					return nil, err
				}
				pending = subs
			case strings.HasPrefix(body, " "):
				return nil, fmt.Errorf("line %d: %q: indented without a version line", i+1, l)
			case ktapPlanRE.MatchString(body):
				if plan >= 0 || len(tests) > 0 {
					return nil, fmt.Errorf("line %d: plan after results or a second plan", i+1)
				}
				plan, _ = strconv.Atoi(ktapPlanRE.FindStringSubmatch(body)[1])
				i++
			default:
				m := ktapResultRE.FindStringSubmatch(body)
				if m == nil {
					return nil, fmt.Errorf("line %d: %q is not a KTAP line", i+1, l)
				}
				if n, _ := strconv.Atoi(m[2]); n != len(tests)+1 {
					return nil, fmt.Errorf("line %d: test number %d, want %d", i+1, n, len(tests)+1)
				}
				t := &ktapNode{name: m[3], result: m[1], directive: m[5], subs: pending}
				for _, s := range pending {
					if s.result == "not ok" && t.result == "ok" {
						return nil, fmt.Errorf("line %d: %s is ok but its subtest %s is not", i+1, t.name, s.name)
					}
				}
				pending = nil
				tests = append(tests, t)
				i++
			}
		}
		if pending != nil {
			return nil, fmt.Errorf("line %d: subtests without their parent's result line", i+1)
		}
		if plan != len(tests) {
			return nil, fmt.Errorf("%q level: plan 1..%d, %d results", indent, plan, len(tests))
		}
		return tests, nil
	}
	tests, err := level("")
	if err == nil && i != len(lines) {
		err = fmt.Errorf("line %d: %q after the last result", i+1, lines[i])
	}
	return tests, err
}

// TestKTAPBySpec checks every golden KTAP document against the rules of
// ktap.rst and against the suite it was written from.
func TestKTAPBySpec(t *testing.T) {
	suites := goldenSuites(t)
	for _, name := range sortedKeys(suites) {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteKTAP(&b, suites[name]); err != nil {
				t.Fatal(err)
			}
			tests, err := checkKTAP(b.String())
			if err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			var cmp func(ks []*ktapNode, ts []*Test)
			cmp = func(ks []*ktapNode, ts []*Test) {
				if len(ks) != len(ts) {
					t.Errorf("%d KTAP tests, want %d", len(ks), len(ts))
					return
				}
				for i, k := range ks {
					tt := ts[i]
					wantRes, wantDir := okWord(tt.Result()), ""
					if tt.Result() == Skip {
						wantDir = "SKIP"
					} else if tt.Name == HarnessTest {
						wantDir = "ERROR"
					}
					if k.name != ktapName(tt.Base()) || k.result != wantRes || k.directive != wantDir {
						t.Errorf("KTAP %q %s #%s, want %q %s #%s", k.name, k.result, k.directive, tt.Base(), wantRes, wantDir)
					}
					cmp(k.subs, tt.Subtests)
				}
			}
			cmp(tests, suites[name].topLevel())
		})
	}
}

func TestCheckKTAPCatches(t *testing.T) {
	bad := map[string]string{
		"no version":     "1..1\nok 1 a\n",
		"plan mismatch":  "KTAP version 1\n1..2\nok 1 a\n",
		"bad number":     "KTAP version 1\n1..2\nok 1 a\nok 3 b\n",
		"ok over failed": "KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 b\nok 1 a\n",
		"bad indent":     "KTAP version 1\n1..1\n ok 1 a\n",
		"orphan subs":    "KTAP version 1\n1..0\n  KTAP version 1\n  1..1\n  ok 1 b\n",
	}
	for name, doc := range bad {
		if _, err := checkKTAP(doc); err == nil {
			t.Errorf("%s: checkKTAP accepted\n%s", name, doc)
		}
	}
	if _, err := checkKTAP("KTAP version 1\n1..2\n  KTAP version 1\n  1..1\n  ok 1 b # SKIP x\n# diag\nok 1 a\nnot ok 2 c\n"); err != nil {
		t.Errorf("checkKTAP rejected a valid document: %v", err)
	}
}

// kunitParserDir finds the kernel's tools/testing/kunit (kunit_parser.py
// is GPL-2.0 and stays out of this repository): $KUNIT_DIR, an unpacked
// linux-source-6.12, or the two files taken once from Debian's tarball
// into the user's cache.
func kunitParserDir(t *testing.T) string {
	const rel = "tools/testing/kunit"
	for _, d := range []string{os.Getenv("KUNIT_DIR"), "/usr/src/linux-source-6.12/" + rel} {
		if d != "" && fileExists(filepath.Join(d, "kunit_parser.py")) {
			return d
		}
	}
	tarballs, _ := filepath.Glob("/usr/src/linux-source-6.12*.tar.xz")
	if len(tarballs) == 0 {
		return ""
	}
	fi, err := os.Stat(tarballs[0])
	if err != nil {
		return ""
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir := filepath.Join(cache, "bpfstor", fmt.Sprintf("kunit-%s-%d", filepath.Base(tarballs[0]), fi.Size()))
	top := strings.TrimSuffix(filepath.Base(tarballs[0]), ".tar.xz")
	if fileExists(filepath.Join(dir, top, rel, "kunit_parser.py")) {
		return filepath.Join(dir, top, rel)
	}
	if testing.Short() {
		return ""
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return ""
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".kunit-")
	if err != nil {
		return ""
	}
	defer os.RemoveAll(tmp)
	t.Logf("extracting %s/kunit_parser.py from %s (once, into %s)", rel, tarballs[0], dir)
	out, err := exec.Command("tar", "-xJf", tarballs[0], "-C", tmp,
		top+"/"+rel+"/kunit_parser.py", top+"/"+rel+"/kunit_printer.py").CombinedOutput()
	if err != nil {
		t.Logf("tar: %v: %s", err, out)
		return ""
	}
	if err := os.Rename(tmp, dir); err != nil && !fileExists(filepath.Join(dir, top, rel, "kunit_parser.py")) {
		t.Logf("kunit cache: %v", err)
		return ""
	}
	return filepath.Join(dir, top, rel)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// kunitDump runs kunit_parser.parse_run_tests on a file and prints one
// "@@ depth STATUS name errors" line per test.
const kunitDump = `
import sys
sys.path.insert(0, sys.argv[1])
import kunit_parser
with open(sys.argv[2]) as f:
    test = kunit_parser.parse_run_tests(f.readlines())
def dump(t, d):
    print('@@ %d %s %s %d' % (d, t.status.name, t.name, t.counts.errors))
    for s in t.subtests:
        dump(s, d + 1)
dump(test, 0)
`

// TestKTAPKunitParser runs the kernel's own KTAP parser
// (tools/testing/kunit/kunit_parser.py) on every golden KTAP document: it
// must find every test with its status and report no parse error.
func TestKTAPKunitParser(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the kunit_parser check needs it")
	}
	dir := kunitParserDir(t)
	if dir == "" {
		t.Skip("kunit_parser.py not found: set KUNIT_DIR to a kernel's tools/testing/kunit, or apt-get install linux-source-6.12")
	}
	status := map[Status]string{Pass: "SUCCESS", Fail: "FAILURE", Skip: "SKIPPED"}
	suites := goldenSuites(t)
	for _, name := range sortedKeys(suites) {
		if name == "empty" {
			continue // kunit_parser calls a document without tests an error
		}
		t.Run(name, func(t *testing.T) {
			s := suites[name]
			var want []string
			want = append(want, fmt.Sprintf("@@ 0 %s main 0", status[topResult(s)]))
			var walk func([]*Test, int)
			walk = func(ts []*Test, d int) {
				for _, tt := range ts {
					want = append(want, fmt.Sprintf("@@ %d %s %s 0", d, status[tt.Result()], ktapName(tt.Base())))
					walk(tt.Subtests, d+1)
				}
			}
			walk(s.topLevel(), 1)
			out, err := exec.Command(py, "-c", kunitDump, dir, filepath.Join("testdata", name+".ktap")).CombinedOutput()
			if err != nil {
				t.Fatalf("kunit_parser: %v\n%s", err, out)
			}
			var got []string
			for l := range strings.SplitSeq(string(out), "\n") {
				if strings.HasPrefix(l, "@@ ") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("kunit_parser read:\n%s\nwant:\n%s\nits output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
			}
		})
	}
}

// topResult is what kunit_parser makes of the whole document.
func topResult(s *Suite) Status {
	res := Skip
	for _, t := range s.topLevel() {
		switch t.Result() {
		case Fail:
			return Fail
		case Pass:
			res = Pass
		}
	}
	return res
}
