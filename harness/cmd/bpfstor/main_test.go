package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/images/guestimg"
	"github.com/bpfstor/bpfstor/internal/testfs"
)

// runCLI runs the CLI with args and returns its error.
func runCLI(t *testing.T, args ...string) error {
	t.Helper()
	a := app()
	return a.RunContext(context.Background(), reorderArgs(a, append([]string{"bpfstor"}, args...)))
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
		{"missing kernel", nil, "no-bzImage: no such file"},
	}
	leftBefore, _ := filepath.Glob(filepath.Join(os.TempDir(), "bpfstor-vm-run-*"))
	defer func() { // a boot that never started leaves no temporary directory
		if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "bpfstor-vm-run-*")); len(left) > len(leftBefore) {
			t.Errorf("temporary directories left: %v", left)
		}
	}()
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
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "bpfstor-vm-run-*"))
	err = runCLI(t, "--accel", "tcg", "vm", "run", "--preads", "200", "--nvme-image", img.Path)
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "bpfstor-vm-run-*"))
	for _, d := range after { // the failed boot keeps its console for the user; not for the test
		if !slices.Contains(before, d) {
			os.RemoveAll(d)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "pread") || !strings.Contains(err.Error(), "FAILED") {
		t.Fatalf("err = %v, want the failed pread point", err)
	}
}

// A cache or results directory the user cannot write ends the command at
// once, naming the directory, the user and the fix (it used to be a bare
// "permission denied", or a hang for the results directory).
func TestUnwritableDirs(t *testing.T) {
	spec := filepath.Join("..", "..", "..", "experiments", "baseline.toml")
	tests := []struct {
		name string
		args func(ro string) []string
		want string
	}{
		{"cache, run", func(ro string) []string { return []string{"--cache", ro, "run", spec} }, "cache directory"},
		{"cache, kernel build", func(ro string) []string { return []string{"--cache", ro, "kernel", "build"} }, "cache directory"},
		{"cache, image build", func(ro string) []string { return []string{"--cache", ro, "image", "build"} }, "cache directory"},
		{"results, run", func(ro string) []string { return []string{"--cache", t.TempDir(), "--results", ro, "run", spec} }, "results directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := filepath.Join(testfs.Unwritable(t), "bpfstor")
			err := runCLI(t, tt.args(ro)...)
			if err == nil || !strings.Contains(err.Error(), tt.want+" "+ro+" is not writable by") || !strings.Contains(err.Error(), "(fix: ") {
				t.Fatalf("err = %v, want %q naming %s and the fix", err, tt.want, ro)
			}
		})
	}
}

// The same for a user who is not root, on a cache root made.
func TestCacheOfAnotherUser(t *testing.T) {
	testfs.NeedRoot(t, "make a cache owned by root and use it as another user")
	cache := testfs.PublicTempDir(t)
	repo, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	testfs.AsOtherUser(t, "TestCacheAsOtherUser", "BPFSTOR_TEST_CACHE="+cache, "BPFSTOR_TEST_REPO="+repo)
}

// TestCacheAsOtherUser is run by TestCacheOfAnotherUser.
func TestCacheAsOtherUser(t *testing.T) {
	cache := os.Getenv("BPFSTOR_TEST_CACHE")
	if cache == "" {
		t.Skip("run by TestCacheOfAnotherUser")
	}
	repo := os.Getenv("BPFSTOR_TEST_REPO")
	err := runCLI(t, "--repo", repo, "--cache", cache, "--results", t.TempDir(), "run", filepath.Join(repo, "experiments", "baseline.toml"))
	want := "cache directory " + cache + " is not writable by " + testfs.OtherUser
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "fix: sudo chown -R "+testfs.OtherUser+" "+cache) {
		t.Fatalf("err = %v, want %q, permission denied and the fix", err, want)
	}
}

// Flags are accepted where users put them: global flags after the
// subcommand, command flags after the spec files (they used to be
// "flag provided but not defined", or taken as spec paths).
func TestFlagsWhereUsersPutThem(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"run --results X a.toml", "--results X run a.toml"},
		{"run a.toml --force b.toml", "run --force a.toml b.toml"},
		{"run a.toml --suite default --results=X --accel tcg", "--results=X --accel tcg run --suite default a.toml"},
		{"--cache C run a.toml", "--cache C run a.toml"},
		{"vm run --boots 2 --cache C", "--cache C vm run --boots 2"},
		{"kernel build --config a --config b", "kernel build --config a --config b"},
		{"report R1 R2 --suite-out S --text", "report --suite-out S --text R1 R2"},
		{"run -- --odd.toml --force", "run -- --odd.toml --force"},
		{"nosuch --force", "nosuch --force"},
	}
	a := app()
	for _, tt := range tests {
		got := strings.Join(reorderArgs(a, append([]string{"bpfstor"}, strings.Fields(tt.in)...))[1:], " ")
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
	// And through the CLI: --results after run is the run's.
	ro := filepath.Join(testfs.Unwritable(t), "r")
	spec := filepath.Join("..", "..", "..", "experiments", "baseline.toml")
	err := runCLI(t, "run", spec, "--cache", t.TempDir(), "--results", ro)
	if err == nil || !strings.Contains(err.Error(), "results directory "+ro) {
		t.Errorf("run SPEC --results RO: %v, want the results directory named", err)
	}
}

func TestOneLine(t *testing.T) {
	err := errors.Join(errors.New("report: a: x"), errors.New("report: b:\ty"))
	if got := oneLine(err); got != "report: a: x; report: b: y" {
		t.Errorf("oneLine = %q", got)
	}
}
