package selftest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHelpers(t *testing.T) {
	tests := []struct{ in, first, tail2 string }{
		{"", "", ""},
		{"one", "one", "one"},
		{"a\nb\nc", "a ...", "b\nc"},
		{"a\nb\nc\n", "a ...", "b\nc"},
	}
	for _, tc := range tests {
		if got := firstLine(tc.in); got != tc.first {
			t.Errorf("firstLine(%q) = %q, want %q", tc.in, got, tc.first)
		}
		if got := tail(tc.in, 2); got != tc.tail2 {
			t.Errorf("tail(%q, 2) = %q, want %q", tc.in, got, tc.tail2)
		}
	}
	for _, tc := range []struct {
		r    Result
		want string
	}{{Result{Pass: true}, "PASS"}, {Result{}, "FAIL"}, {Result{Skip: true}, "SKIP"}} {
		if got := status(tc.r); got != tc.want {
			t.Errorf("status(%+v) = %s", tc.r, got)
		}
	}
}

func TestRunWithoutDevice(t *testing.T) {
	rs := Run(Options{}, nil)
	if len(rs) != 1 || rs[0].Pass || rs[0].Name != "setup" {
		t.Fatalf("Run without device: %+v", rs)
	}
}

func TestRunOneBounds(t *testing.T) {
	old := TestTimeout
	TestTimeout = 50 * time.Millisecond
	defer func() { TestTimeout = old }()
	block := make(chan struct{})
	defer close(block)
	for _, tc := range []struct {
		name string
		fn   func(*env) (string, error)
		hung bool
		want string
	}{
		{"ok", func(*env) (string, error) { return "fine", nil }, false, ""},
		{"panics", func(*env) (string, error) { panic("boom") }, false, "panic: boom"},
		{"hangs", func(*env) (string, error) { <-block; return "", nil }, true, "still running after 50ms"},
	} {
		msg, err := runOne(test{tc.name, tc.fn}, nil)
		if errors.Is(err, errHung) != tc.hung {
			t.Errorf("%s: err %v, hung want %v", tc.name, err, tc.hung)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
		if tc.want == "" && (err != nil || msg != "fine") {
			t.Errorf("%s: %q, %v", tc.name, msg, err)
		}
	}
}

func TestSelected(t *testing.T) {
	ts := []test{{name: "verifier/accepts-chain"}, {name: "verifier/rejects/oob"}, {name: "chain/sizes"}, {name: "safety/hop-limit"}}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"verifier/accepts-chain", "verifier/rejects/oob", "chain/sizes", "safety/hop-limit"}},
		{"verifier/", []string{"verifier/accepts-chain", "verifier/rejects/oob"}},
		{"^chain/|hop", []string{"chain/sizes", "safety/hop-limit"}},
		{"nothing", nil},
	} {
		var re *regexp.Regexp
		if tc.filter != "" {
			re = regexp.MustCompile(tc.filter)
		}
		var got []string
		for _, s := range selected(ts, re) {
			got = append(got, s.name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("selected(%q) = %q, want %q", tc.filter, got, tc.want)
		}
	}
}

func TestRunNoMatch(t *testing.T) {
	var marks []string
	rs := Run(Options{Device: "/nonexistent", Filter: regexp.MustCompile("^no-such-test$"), Mark: func(l string) { marks = append(marks, l) }}, nil)
	if len(rs) != 1 || rs[0].Pass || rs[0].Name != "setup" || !strings.Contains(rs[0].Message, "no test matches") {
		t.Fatalf("Run with a filter matching nothing: %+v", rs)
	}
	if len(marks) != 0 {
		t.Errorf("markers without a test: %q", marks)
	}
}
