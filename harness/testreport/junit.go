package testreport

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The JUnit XML document, as CI systems (Jenkins, GitLab, GitHub actions
// reporters) read it; testdata/junit-10.xsd is the schema it is checked
// against.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties *junitProps     `xml:"properties"`
	Cases      []junitTestCase `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitMessage struct {
	Message string
	Type    string
	Text    string
}

// MarshalXML writes the element with its text's line breaks kept as they
// are (a ",chardata" field would write each as "&#xA;").
func (m *junitMessage) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if m.Message != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "message"}, Value: m.Message})
	}
	if m.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: m.Type})
	}
	return encodeText(e, start, m.Text)
}

// junitText is an element's text, line breaks kept.
type junitText string

// MarshalXML writes the text as one character-data token.
func (t junitText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return encodeText(e, start, string(t))
}

func encodeText(e *xml.Encoder, start xml.StartElement, text string) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if text != "" {
		if err := e.EncodeToken(xml.CharData(text)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

func textOf(lines []string) *junitText {
	if len(lines) == 0 {
		return nil
	}
	t := junitText(joinLines(lines))
	return &t
}

// WriteJUnit writes s as JUnit XML: one <testsuite> in <testsuites>, the
// kernel, variant and properties as <property>, and one <testcase> per test
// (groups too, before their subtests, as go test reports them) with
// classname "SUITE.GROUP.PATH" and name the last level of the test's name.
// A failed test has a <failure>, a kernel crash attributed to it an
// <error type="KIND"> (the first report's kind) with the console lines of
// every report, a skip <skipped message>, and
// its output is its <system-out>. Text is cleaned (Clean) so that console
// control characters cannot make the XML invalid.
func WriteJUnit(w io.Writer, s *Suite) error {
	name := s.Name
	if name == "" {
		name = "bpfstor"
	}
	js := junitSuite{
		Name:     oneLine(name),
		Time:     seconds(s.Duration),
		Hostname: oneLine(s.Hostname),
	}
	if !s.Started.IsZero() {
		js.Timestamp = s.Started.UTC().Format("2006-01-02T15:04:05")
	}
	props := []junitProp{}
	if s.Kernel != "" {
		props = append(props, junitProp{"kernel", oneLine(s.Kernel)})
	}
	if s.Variant != "" {
		props = append(props, junitProp{"variant", oneLine(s.Variant)})
	}
	for _, p := range s.Properties {
		props = append(props, junitProp{oneLine(p.Name), oneLine(p.Value)})
	}
	if len(props) > 0 {
		js.Properties = &junitProps{props}
	}
	js.SystemOut = textOf(s.Output)

	var walk func([]*Test)
	walk = func(ts []*Test) {
		for _, t := range ts {
			js.Cases = append(js.Cases, junitCase(js.Name, t))
			js.Tests++
			switch {
			case len(t.Crashes) > 0:
				js.Errors++
			case t.Result() == Fail:
				js.Failures++
			case t.Result() == Skip:
				js.Skipped++
			}
			walk(t.Subtests)
		}
	}
	walk(s.topLevel())

	doc := junitSuites{Name: js.Name, Tests: js.Tests, Failures: js.Failures, Errors: js.Errors, Time: js.Time, Suites: []junitSuite{js}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}

func junitCase(suite string, t *Test) junitTestCase {
	class := suite
	if p := t.Parent(); p != "" {
		class += "." + strings.ReplaceAll(p, "/", ".")
	}
	c := junitTestCase{Classname: oneLine(class), Name: oneLine(t.Base()), Time: seconds(t.Duration)}
	switch r := t.Result(); {
	case len(t.Crashes) > 0:
		var text []string
		for i, cr := range t.Crashes {
			if i > 0 {
				text = append(text, "")
			}
			text = append(text, cr.Lines...)
		}
		first := t.Crashes[0]
		c.Error = &junitMessage{Message: oneLine(first.Title()), Type: oneLine(first.Kind), Text: joinLines(text)}
		if t.Message != "" {
			c.Failure = &junitMessage{Message: oneLine(t.Message), Type: "fail"}
		}
	case r == Fail:
		msg := t.Message
		if msg == "" {
			msg = "a subtest failed"
			if t.Status == Fail {
				msg = "failed"
			}
		}
		c.Failure = &junitMessage{Message: oneLine(msg), Type: "fail", Text: joinLines(t.Output)}
	case r == Skip:
		c.Skipped = &junitMessage{Message: oneLine(t.Message)}
	}
	c.SystemOut = textOf(t.Output)
	return c
}

// seconds is a duration as JUnit's time attribute: decimal seconds.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(cleanLines(lines), "\n") + "\n"
}
