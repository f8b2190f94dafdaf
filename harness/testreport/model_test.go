package testreport

import (
	"strings"
	"testing"
)

func TestSuiteNesting(t *testing.T) {
	s := &Suite{}
	s.Add(&Test{Name: "a/b/c", Status: Fail})
	s.Add(&Test{Name: "a/b/d", Status: Skip})
	s.Add(&Test{Name: "x/y", Status: Skip})
	s.Add(&Test{Name: "a", Status: Pass, Output: []string{"group log"}})
	s.Add(&Test{Name: "z"})
	tests := []struct {
		name   string
		base   string
		parent string
		result Status
		subs   int
	}{
		{"a", "a", "", Fail, 1}, // explicit, but a subtest failed
		{"a/b", "b", "a", Fail, 2},
		{"a/b/c", "c", "a/b", Fail, 0},
		{"a/b/d", "d", "a/b", Skip, 0},
		{"x", "x", "", Skip, 1}, // implicit, all subtests skipped
		{"z", "z", "", Pass, 0},
	}
	for _, tt := range tests {
		x := s.Lookup(tt.name)
		if x == nil {
			t.Errorf("Lookup(%q) = nil", tt.name)
			continue
		}
		if x.Base() != tt.base || x.Parent() != tt.parent || x.Result() != tt.result || len(x.Subtests) != tt.subs {
			t.Errorf("%s: base %q parent %q result %v subtests %d, want %q %q %v %d", tt.name, x.Base(), x.Parent(), x.Result(), len(x.Subtests), tt.base, tt.parent, tt.result, tt.subs)
		}
	}
	if a := s.Lookup("a"); len(a.Output) != 1 || a.implicit {
		t.Errorf("Add did not replace the implicit group a: %+v", a)
	}
	var order []string
	s.Walk(func(x *Test, d int) { order = append(order, strings.Repeat(">", d)+x.Name) })
	if got := strings.Join(order, " "); got != "a >a/b >>a/b/c >>a/b/d x >x/y z" {
		t.Errorf("Walk order = %s", got)
	}
	if c := s.Count(); c != (Counts{Total: 7, Passed: 1, Failed: 3, Skipped: 3}) {
		t.Errorf("Count = %+v", c)
	}
	if s.Lookup("a/nope") != nil || s.Lookup("nope") != nil {
		t.Error("Lookup found a test that does not exist")
	}
}

func TestAttachCrash(t *testing.T) {
	s := &Suite{}
	s.Add(&Test{Name: "a/b"})
	first := &Crash{Kind: "WARNING", Lines: []string{"WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2"}}
	second := &Crash{Kind: "BUG", Lines: []string{"BUG: kernel NULL pointer dereference, address: 0000000000000008"}}
	s.AttachCrash("a/b", first)
	s.AttachCrash("a/b", second)
	s.AttachCrash("", &Crash{Kind: "panic"})
	s.AttachCrash("gone", &Crash{Kind: "Oops"})
	if b := s.Lookup("a/b"); len(b.Crashes) != 2 || b.Crashes[0] != first || b.Crashes[1] != second || b.Result() != Fail || s.Lookup("a").Result() != Fail {
		t.Errorf("a/b = %+v", b)
	}
	if len(s.Crashes) != 2 || s.Crashes[0].Kind != "panic" || s.Crashes[1].Kind != "Oops" {
		t.Errorf("suite crashes = %+v", s.Crashes)
	}
	for c, want := range map[*Crash]string{
		first: "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2",
		{Kind: "hung task", Lines: []string{"INFO: task a:1 blocked for more than 2 seconds."}}: "hung task: INFO: task a:1 blocked for more than 2 seconds.",
		{Kind: "panic"}: "panic",
	} {
		if got := c.Title(); got != want {
			t.Errorf("Title = %q, want %q", got, want)
		}
	}
	top := s.topLevel()
	if h := top[len(top)-1]; h.Name != HarnessTest || len(h.Crashes) != 2 || h.Message != "kernel crash outside any test: panic" || h.Result() != Fail {
		t.Errorf("harness test = %+v", h)
	}
}

func TestJudge(t *testing.T) {
	pass := &Test{Name: "p"}
	skip := &Test{Name: "s", Status: Skip}
	fail := &Test{Name: "f", Status: Fail}
	mk := func(tests ...*Test) *Suite {
		s := &Suite{}
		for _, x := range tests {
			c := *x
			s.Add(&c)
		}
		return s
	}
	crashed := mk(pass)
	crashed.AttachCrash("p", &Crash{Kind: "KASAN"})
	outside := mk(pass)
	outside.AttachCrash("", &Crash{Kind: "panic", Lines: []string{"Kernel panic - not syncing: x"}})
	broken := mk(pass)
	broken.Error = "guest hung"
	tests := []struct {
		name       string
		s          *Suite
		requireAll bool
		code       int
		reason     string
	}{
		{"all pass", mk(pass, pass), false, 0, ""},
		{"all pass, require all", mk(pass), true, 0, ""},
		{"skip allowed", mk(pass, skip), false, 0, ""},
		{"skip required", mk(pass, skip), true, 1, "1 of 2 tests skipped and all are required"},
		{"failure", mk(pass, fail, skip), false, 1, "1 of 3 tests failed (0 with a kernel crash)"},
		{"crash", crashed, false, 1, "1 of 1 tests failed (1 with a kernel crash)"},
		{"crash outside tests", outside, false, 1, "kernel crash outside any test: Kernel panic - not syncing: x"},
		{"run error", broken, false, 1, "run failed: guest hung"},
		{"no tests", mk(), false, 1, "no tests ran"},
	}
	for _, tt := range tests {
		v := Judge(tt.s, tt.requireAll)
		if v.Code != tt.code || v.Reason != tt.reason || ExitCode(tt.s, tt.requireAll) != tt.code {
			t.Errorf("%s: Judge = %+v, want %d %q", tt.name, v, tt.code, tt.reason)
		}
	}
}

func TestClean(t *testing.T) {
	tests := map[string]string{
		"plain [  1.0] text":             "plain [  1.0] text",
		"crlf\r\n":                       "crlf",
		"\x1b[0;31mred\x1b[0m and \x1b7": "red and ",
		"nul\x00bel\x07":                 "nul\ufffdbel\ufffd",
		"tab\tkept":                      "tab\tkept",
		"inner\nbreak":                   "inner\ufffdbreak",
		"bad utf8 \xff\xfe":              "bad utf8 \ufffd\ufffd",
		"del\x7f c1\u0085":               "del\ufffd c1\ufffd",
		"nonchar \uffff ok é ✓ 🙂":        "nonchar \ufffd ok é ✓ 🙂",
		"real U+FFFD \ufffd stays":       "real U+FFFD \ufffd stays",
	}
	for in, want := range tests {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
