// Package testfs makes the filesystem faults the harness must survive, for
// tests: a directory the running user cannot write, a filesystem that is
// full, and running a test binary as another user. The faults are real
// (read-only and size-limited tmpfs mounts, file modes, setpriv); tests that
// need root to make them skip with the reason when not root.
package testfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Root reports whether the test runs as root.
func Root() bool { return os.Geteuid() == 0 }

// NeedRoot skips the test when not root, saying why.
func NeedRoot(t *testing.T, why string) {
	t.Helper()
	if !Root() {
		t.Skipf("needs root (%s); CI runs the tests as root", why)
	}
}

// Mount mounts a tmpfs with the given options on a new directory and
// unmounts it when the test ends. Root only.
func Mount(t *testing.T, opts string) string {
	t.Helper()
	NeedRoot(t, "mount a tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "bpfstor-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs -o %s: %v: %s", opts, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Unwritable returns an existing directory the running user cannot create
// anything in: a read-only tmpfs as root (root ignores file modes), a mode
// 0555 directory otherwise.
func Unwritable(t *testing.T) string {
	t.Helper()
	if Root() {
		return Mount(t, "ro,size=1m")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	return dir
}

// Full returns a directory on a small tmpfs that is already full: it
// holds one file (filler) taking all the space. Remove filler to
// free it. Root only.
func Full(t *testing.T) (dir, filler string) {
	t.Helper()
	dir = Mount(t, "size=256k")
	filler = filepath.Join(dir, "filler")
	Fill(t, filler)
	return dir, filler
}

// Fill writes path until its filesystem has no space left.
func Fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return // ENOSPC: full
		}
	}
}

// OtherUser is the unprivileged user tests run as.
const OtherUser = "nobody"

// PublicTempDir is a new temporary directory every user can enter (mode
// 0755, t.TempDir's is 0700), removed when the test ends.
func PublicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bpfstor-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// AsOtherUser re-runs the current test binary as OtherUser with only the
// named test and env added, and fails t unless that test passed there.
// The test binary is copied where that user can execute it. Root only.
func AsOtherUser(t *testing.T, test string, env ...string) {
	t.Helper()
	NeedRoot(t, "run a test as another user")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := PublicTempDir(t)
	bin := filepath.Join(dir, "test.bin")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid="+OtherUser, "--regid=nogroup", "--clear-groups",
		bin, "-test.run", "^"+test+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HOME="+dir), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Errorf("%s as %s: %v\n%s", test, OtherUser, err, strings.TrimSpace(string(out)))
	}
}
