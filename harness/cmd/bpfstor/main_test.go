package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/images/guestimg"
)

// runCLI runs the CLI with args and returns its error.
func runCLI(t *testing.T, args ...string) error {
	t.Helper()
	return app().RunContext(context.Background(), append([]string{"bpfstor"}, args...))
}

// Bad vm run inputs fail before anything boots (they used to do nothing,
// or boot, and exit 0).
func TestVMRunBadInput(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty.img")
	os.WriteFile(empty, nil, 0o644)
	odd := filepath.Join(tmp, "odd.img")
	os.WriteFile(odd, make([]byte, 1000), 0o644)
	// No kernel is built: every case must fail on its flags first.
	base := []string{"vm", "run", "--kernel", filepath.Join(tmp, "no-bzImage"), "--initramfs", filepath.Join(tmp, "no-initrd")}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no boots", []string{"--boots", "0"}, "--boots 0: want at least 1"},
		{"negative preads", []string{"--preads", "-1"}, "--preads -1"},
		{"missing image", []string{"--nvme-image", filepath.Join(tmp, "none.img")}, "--nvme-image: open " + tmp},
		{"empty image", []string{"--nvme-image", empty}, "is empty"},
		{"partial block", []string{"--nvme-image", odd}, "not a whole number of 512 B blocks"},
		{"directory image", []string{"--nvme-image", tmp}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runCLI(t, append(append([]string{"--cache", t.TempDir()}, base...), tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// A pread point that fails in the guest fails vm run (it used to exit 0):
// an image of another seed fails every block check.
func TestVMRunFailedPreadsE2E(t *testing.T) {
	if os.Getenv("BPFSTOR_E2E") != "1" {
		t.Skip("end-to-end test: set BPFSTOR_E2E=1 (make test does)")
	}
	img, err := guestimg.BuildPattern(t.TempDir(), 1, 2) // vm run's job checks seed 1
	if err != nil {
		t.Fatal(err)
	}
	err = runCLI(t, "--accel", "tcg", "vm", "run", "--preads", "200", "--nvme-image", img.Path)
	if err == nil || !strings.Contains(err.Error(), "pread") || !strings.Contains(err.Error(), "FAILED") {
		t.Fatalf("err = %v, want the failed pread point", err)
	}
}
