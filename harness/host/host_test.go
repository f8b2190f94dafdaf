package host

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunChecks(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		wantOK bool
		want   string
	}{
		{"pass", []Check{{Name: "a", Required: true, Run: func() (string, error) { return "found", nil }}}, true, "ok    a"},
		{"required fails", []Check{{Name: "q", Required: true, Fix: "apt-get install q", Run: func() (string, error) { return "", errors.New("q not found") }}}, false, "FAIL  q                      q not found; fix: apt-get install q"},
		{"optional fails", []Check{{Name: "f", Fix: "apt-get install f", Run: func() (string, error) { return "", errors.New("nope") }}}, true, "warn  f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			_, ok := RunChecks(&b, tt.checks)
			if ok != tt.wantOK || !strings.Contains(b.String(), tt.want) {
				t.Errorf("ok=%v out=%q", ok, b.String())
			}
		})
	}
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{"/a/b/c": "/a/b", "/a": "/", "/": "/", "/a/b/": "/a"} {
		if got := parent(in); got != want {
			t.Errorf("parent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFacts(t *testing.T) {
	if CPUModel() == "" || CPUs() < 1 || Kernel() == "" {
		t.Error("empty host facts")
	}
}
