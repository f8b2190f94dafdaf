package testreport

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJUnitSchema validates every golden suite's JUnit XML against
// testdata/junit-10.xsd (the JUnit schema of Jenkins' xUnit plugin; see
// testdata/README.md) with xmllint. Without xmllint it skips, but fails
// when CI=true: CI must install libxml2-utils (make deps does).
func TestJUnitSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		msg := "xmllint not found: apt-get install libxml2-utils (make deps installs it) to validate the JUnit XML against testdata/junit-10.xsd"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	files := render(t, "xml")
	for _, name := range sortedKeys(files) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s\n%s", err, out, files[name])
			}
		})
	}
}

// TestJUnitSchemaCatches makes sure the schema check can fail: a document
// without the required testsuite attributes must not validate.
func TestJUnitSchemaCatches(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found (apt-get install libxml2-utils)")
	}
	path := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(path, []byte(`<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput(); err == nil {
		t.Errorf("xmllint accepted an invalid document:\n%s", out)
	}
}

// TestJUnitContent reads the XML back and checks what CI systems show:
// counts, names, messages, crash text (control characters replaced), and
// that each element carries its test's own text.
func TestJUnitContent(t *testing.T) {
	var b strings.Builder
	if err := WriteJUnit(&b, sampleSuite()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Classname string `xml:"classname,attr"`
				Name      string `xml:"name,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Type string `xml:"type,attr"`
					Text string `xml:",chardata"`
				} `xml:"error"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
				Out string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v\n%s", err, b.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Tests != 12 || s.Failures != 3 || s.Errors != 1 || s.Skipped != 1 {
		t.Errorf("tests/failures/errors/skipped = %d/%d/%d/%d, want 12/3/1/1", s.Tests, s.Failures, s.Errors, s.Skipped)
	}
	if len(s.Props) != 4 || s.Props[0].Name != "kernel" || s.Props[3].Value != `a1b2c3 <v3> & "friends"` {
		t.Errorf("properties = %+v", s.Props)
	}
	byName := map[string]int{}
	for i, c := range s.Cases {
		byName[c.Classname+"/"+c.Name] = i
	}
	pi, ok := byName["bpfstor-ktest.chain.driver/pread-identical"]
	if !ok {
		t.Fatalf("no testcase chain.driver/pread-identical in %v", byName)
	}
	if c := s.Cases[pi]; c.Time != "1.500" || c.Failure == nil || !strings.Contains(c.Failure.Message, "want 0x1400 # not <0x1400>") ||
		!strings.Contains(c.Out, "depth 10, 1000 chains\n") {
		t.Errorf("pread-identical = %+v", c)
	}
	c := s.Cases[byName["bpfstor-ktest.chain.driver/hop-limit"]]
	if c.Error == nil || c.Error.Type != "KASAN" {
		t.Fatalf("hop-limit has no KASAN error: %+v", c)
	}
	if strings.ContainsAny(c.Error.Text, "\x1b\x07\x00\r") || !strings.Contains(c.Error.Text, "CPU: 0 UID: 0 PID: 97 Comm: ktest") ||
		!strings.Contains(c.Error.Text, "\ufffd\ufffd<bell & nul>") {
		t.Errorf("crash text not cleaned as it should be: %q", c.Error.Text)
	}
	if c := s.Cases[byName["bpfstor-ktest.uring/cancel"]]; c.Skipped == nil || c.Skipped.Message != "IORING_OP_CHAIN_READ not in this kernel" {
		t.Errorf("cancel = %+v", c)
	}
}
