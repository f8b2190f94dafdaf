package selftest

import (
	"errors"
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
