package kbuild

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bpfstor/bpfstor/internal/testfs"
)

// The kernel-build lock is shared by every user: it is created 0666 (it
// used to be 0644 under the usual umask, so only its creator could open
// it), and a lock file another user made 0644 still locks.
func TestLockSharedByUsers(t *testing.T) {
	testfs.NeedRoot(t, "make a lock file as one user and take it as another")
	dir := testfs.PublicTempDir(t)
	os.Chmod(dir, 0o1777) // like /tmp
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	tests := []struct {
		name string
		make func(path string)
		mode os.FileMode
	}{
		{"created by lock", func(string) {}, 0o666},
		{"made 0644 by root before", func(p string) { os.WriteFile(p, nil, 0o644) }, 0o644},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			LockPath = filepath.Join(dir, "lock"+string(rune('a'+i)))
			defer func() { LockPath = "/tmp/bpfstor-kbuild.lock" }()
			tt.make(LockPath)
			unlock, err := lock(context.Background(), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			fi, err := os.Stat(LockPath)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("lock file mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
			testfs.AsOtherUser(t, "TestLockAsOtherUser", "BPFSTOR_TEST_LOCK="+LockPath)
		})
	}
}

// TestLockAsOtherUser is run by TestLockSharedByUsers as another user.
func TestLockAsOtherUser(t *testing.T) {
	p := os.Getenv("BPFSTOR_TEST_LOCK")
	if p == "" {
		t.Skip("run by TestLockSharedByUsers")
	}
	LockPath = p
	unlock, err := lock(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}
