package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("bad flag"), 1},
		{&exitError{exitFail, errors.New("2 of 40 tests failed")}, 1},
		{&exitError{exitSkip, errors.New("patch does not apply")}, 125},
		{fmt.Errorf("wrapped: %w", &exitError{exitSkip, errors.New("x")}), 125},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// bpfstor test exits 125 (git bisect's skip) when the kernel under test
// cannot be had, and 1 on bad options, which fail before any build.
func TestTestCommandExits(t *testing.T) {
	tmp := t.TempDir()
	base := []string{"test", "--cache", filepath.Join(tmp, "cache"), "--results", filepath.Join(tmp, "results")}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a kernel tree", []string{"--src", tmp}, 125, "is not a Linux kernel tree"},
		{"bad regexp", []string{"--run", "("}, 1, "--run \"(\" is not a regular expression"},
		{"bad variant", []string{"--variant", "kasan"}, 1, "unknown kernel variant"},
		{"argument", []string{"verifier/"}, 1, "select tests with --run"},
		{"unwritable junit", []string{"--junit", filepath.Join(tmp, "no", "dir", "j.xml")}, 1, "--junit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCLI(t, append(append([]string(nil), base...), tc.args...)...)
			if exitCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.want)
			}
		})
	}
}
