package host

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// UserName names the user running bpfstor ("alice (uid 1000)").
func UserName() string {
	uid := os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

func userShort() string {
	if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil {
		return u.Username
	}
	return "$USER"
}

// WritableDir makes dir if needed and checks that the running user can
// create files in it. what names the directory's role ("cache") and flag
// the option that moves it. The error names the user and the fix.
func WritableDir(dir, what, flag string) error {
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".bpfstor-write-check-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return nil
		}
	}
	fix := fmt.Sprintf("sudo chown -R %s %s, or pass %s DIR", userShort(), existingParent(dir), flag)
	switch {
	case errors.Is(err, syscall.EROFS):
		fix = fmt.Sprintf("its filesystem is read-only: pass %s DIR on a writable one", flag)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		fix = fmt.Sprintf("free space or inodes there, or pass %s DIR on another disk", flag)
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EEXIST):
		fix = fmt.Sprintf("a file is in the way: remove it, or pass %s DIR", flag)
	}
	return fmt.Errorf("%s directory %s is not writable by %s: %w (fix: %s)", what, dir, UserName(), err, fix)
}

// existingParent is dir or its nearest existing ancestor: what to chown.
func existingParent(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" || d == "." {
			return d
		}
	}
}

// KVMUsable says whether the running user can open /dev/kvm (its existence
// is not enough: the device is usually group kvm, mode 0660).
func KVMUsable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%s cannot open /dev/kvm: %w", UserName(), err)
	}
	f.Close()
	return nil
}
