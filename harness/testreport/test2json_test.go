package testreport

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParseTest2JSON reads real go test -json streams (testdata/*.jsonl,
// from a test package with subtests, a skip, a failure, a repeated name
// and a panic; hang.jsonl is run.jsonl cut where a guest would have hung)
// and checks every test's result and message.
func TestParseTest2JSON(t *testing.T) {
	type want struct {
		status  Status
		result  Status
		message string
		output  int // number of output lines; -1: do not check
	}
	tests := []struct {
		file  string
		err   string
		tests map[string]want
	}{
		{"run.jsonl", "", map[string]want{
			"uring":                         {Pass, Pass, "", 0},
			"uring/teardown":                {Pass, Pass, "", 1},
			"uring/cancel":                  {Skip, Skip, "IORING_OP_CHAIN_READ not in this kernel", 1},
			"chain":                         {Fail, Fail, "", 0},
			"chain/driver":                  {Fail, Fail, "", 0},
			"chain/driver/pread-identical":  {Fail, Fail, "chain 17: block 9 = 0x1200, want 0x1400", 2},
			"chain/driver/hop-limit":        {Pass, Pass, "", 0},
			"chain/syscall/pread-identical": {Pass, Pass, "", 0},
			"verifier/rejects-oob":          {Pass, Pass, "", 0},
			"verifier/rejects-oob#01":       {Pass, Pass, "", 0},
			"panic":                         {Skip, Skip, "set KTEST_PANIC to panic", 1},
		}},
		{"panic.jsonl", "", map[string]want{
			"uring":       {Pass, Pass, "", 0},
			"panic":       {Fail, Fail, "panic: assignment to entry in nil map [recovered, repanicked]", -1},
			"panic/inner": {Fail, Fail, "", 0},
		}},
		// The test binary's -test.v=test2json output through `go tool
		// test2json -t`, as a guest would run it: no Package field.
		{"binary.jsonl", "", map[string]want{
			"uring/teardown":          {Pass, Pass, "", 1},
			"uring/cancel":            {Skip, Skip, "IORING_OP_CHAIN_READ not in this kernel", 1},
			"verifier/rejects-oob#01": {Pass, Pass, "", 0},
		}},
		{"hang.jsonl", "", map[string]want{
			"uring/cancel":                 {Skip, Skip, "IORING_OP_CHAIN_READ not in this kernel", 1},
			"chain":                        {Fail, Fail, NotFinished, 0},
			"chain/driver/pread-identical": {Fail, Fail, NotFinished, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := parsed(t, tt.file)
			if s.Error != tt.err {
				t.Errorf("Error = %q, want %q", s.Error, tt.err)
			}
			for name, w := range tt.tests {
				x := s.Lookup(name)
				if x == nil {
					t.Errorf("no test %q", name)
					continue
				}
				if x.Status != w.status || x.Result() != w.result || x.Message != w.message || (w.output >= 0 && len(x.Output) != w.output) {
					t.Errorf("%s: status %v result %v message %q output %q; want %v %v %q %d lines",
						name, x.Status, x.Result(), x.Message, x.Output, w.status, w.result, w.message, w.output)
				}
			}
		})
	}
}

// TestParseTest2JSONStream covers what a live stream does: lines split
// across output events, stray text, a package failure no test explains,
// an early end and a broken event.
func TestParseTest2JSONStream(t *testing.T) {
	ev := func(action, test, out string, elapsed float64) string {
		return `{"Time":"2026-12-03T11:00:00Z","Action":"` + action + `","Package":"ktest","Test":"` + test + `","Output":` + quoteJSON(out) + `,"Elapsed":` + ftoa(elapsed) + "}\n"
	}
	tests := []struct {
		name, in string
		check    func(t *testing.T, s *Suite)
		err      string
	}{
		{"split line", ev("run", "TestA", "", 0) + ev("output", "TestA", "    a_test.go:3: half ", 0) + ev("output", "TestA", "and half\n", 0) +
			ev("output", "TestA", "no newline at the end", 0) + ev("fail", "TestA", "", 1.25),
			func(t *testing.T, s *Suite) {
				a := s.Lookup("a")
				if a == nil || strings.Join(a.Output, "|") != "a_test.go:3: half and half|no newline at the end" || a.Message != "half and half" || a.Duration != 1250*time.Millisecond {
					t.Errorf("a = %+v", a)
				}
			}, ""},
		{"stray text and package failure", "ktest binary started\n" + ev("run", "TestA", "", 0) + ev("pass", "TestA", "", 0) +
			ev("output", "", "exit status 2\n", 0) + ev("output", "", "FAIL\tktest\t0.1s\n", 0) + ev("fail", "", "", 0.1),
			func(t *testing.T, s *Suite) {
				if s.Error != "the test binary failed outside any test: exit status 2" || strings.Join(s.Output, "|") != "ktest binary started|exit status 2" {
					t.Errorf("Error %q, Output %q", s.Error, s.Output)
				}
				if s.Duration != 100*time.Millisecond {
					t.Errorf("Duration = %v", s.Duration)
				}
			}, ""},
		{"stream ends early", ev("run", "TestA", "", 0) + ev("pass", "TestA", "", 0),
			func(t *testing.T, s *Suite) {
				if s.Error != "the event stream ended before the test binary did" {
					t.Errorf("Error = %q", s.Error)
				}
			}, ""},
		{"no events", "", func(t *testing.T, s *Suite) {
			if len(s.Tests) != 0 || s.Error != "" || ExitCode(s, false) != 1 {
				t.Errorf("empty stream: %+v", s)
			}
		}, ""},
		{"broken event", ev("run", "TestA", "", 0) + `{"Action":"pass","Test":` + "\n", nil, "test2json: line 2: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseTest2JSON(strings.NewReader(tt.in), ParseOptions{Rename: TrimTestPrefix})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != "ktest" && tt.in != "" && !strings.HasPrefix(tt.in, "ktest binary") {
				t.Errorf("Name = %q, want the package", s.Name)
			}
			tt.check(t, s)
		})
	}
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func TestTrimTestPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"TestUring/teardown":      "uring/teardown",
		"TestChain/driver/TestX":  "chain/driver/TestX",
		"Test":                    "Test",
		"Example":                 "Example",
		"TestÜber/x":              "über/x",
		"TestVerifier/rejects#01": "verifier/rejects#01",
	} {
		if got := TrimTestPrefix(in); got != want {
			t.Errorf("TrimTestPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
