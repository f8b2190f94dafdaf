package selftest

import "testing"

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
