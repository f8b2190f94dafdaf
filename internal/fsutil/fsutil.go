// Package fsutil writes cache files safely: through a temporary file of
// its own (concurrent writers never share a name) and an atomic rename,
// and sealed with a recorded sha256 that is checked before a cached file
// is believed.
package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is a file being written; Commit puts it at its path.
type File struct {
	*os.File
	path string
	h    io.Writer
	sum  func() string
}

// Create starts writing path: the bytes go to a unique temporary file in
// path's directory until Commit.
func Create(path string) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	return &File{File: f, path: path, h: h, sum: func() string { return hex.EncodeToString(h.Sum(nil)) }}, nil
}

// Write writes to the file and its running hash.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.h.Write(p[:n])
	return n, err
}

// Commit closes the file, makes it mode 0644 and renames it into place;
// with seal, it also records its sha256 (see CheckSeal). On error the
// temporary file is removed.
func (f *File) Commit(seal bool) error {
	err := f.File.Close()
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if seal {
		return WriteFile(f.path+SealExt, []byte(f.sum()+"\n"))
	}
	return nil
}

// Abort closes and removes the temporary file.
func (f *File) Abort() {
	f.File.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to path atomically (mode 0644).
func WriteFile(path string, data []byte) error { return write(path, data, false) }

// WriteSealed writes data to path atomically and seals it.
func WriteSealed(path string, data []byte) error { return write(path, data, true) }

func write(path string, data []byte, seal bool) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit(seal)
}

// OpenStat opens path for reading and stats it.
func OpenStat(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// SHA256 is the hex sha256 of a file's content.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SealExt is the suffix of the file recording a sealed file's sha256.
const SealExt = ".sha256"

// CheckSeal checks path against its recorded sha256. The error wraps
// fs.ErrNotExist when path or its seal is missing.
func CheckSeal(path string) error {
	want, err := os.ReadFile(path + SealExt)
	if err != nil {
		return fmt.Errorf("%s has no recorded hash: %w", path, err)
	}
	got, err := SHA256(path)
	if err != nil {
		return err
	}
	if w := strings.TrimSpace(string(want)); got != w {
		return fmt.Errorf("%s is damaged: sha256 %.16s, recorded %.16s", path, got, w)
	}
	return nil
}

// IsMissing reports whether err says a file is not there.
func IsMissing(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }
