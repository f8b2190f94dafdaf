package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/internal/testfs"
)

func TestSeal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	if err := CheckSeal(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if err := WriteSealed(p, []byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := CheckSeal(p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("dat4"), 0o644)
	if err := CheckSeal(p); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("changed file: %v, want damaged", err)
	}
	os.Remove(p + SealExt)
	if err := CheckSeal(p); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no recorded hash") {
		t.Errorf("unsealed file: %v, want no recorded hash", err)
	}
}

// Two writers of one path each use their own temporary file.
func TestCreateUniqueAndClean(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	a, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() == b.Name() {
		t.Fatalf("both writers got %s", a.Name())
	}
	a.Write([]byte("a"))
	b.Write([]byte("b"))
	if err := a.Commit(false); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "b" || CheckSeal(p) != nil {
		t.Errorf("content %q, seal %v", got, CheckSeal(p))
	}
}

// A failed write leaves neither a temporary file nor a half file behind.
func TestWriteFullDisk(t *testing.T) {
	full, _ := testfs.Full(t)
	q := filepath.Join(full, "y")
	if err := WriteFile(q, make([]byte, 1<<20)); err == nil {
		t.Fatal("a write to a full disk succeeded")
	}
	if ents, _ := os.ReadDir(full); len(ents) != 1 { // the filler only
		t.Errorf("left behind on a failed write: %v", ents)
	}
}
