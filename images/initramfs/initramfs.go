// Package initramfs writes Linux initramfs archives (cpio "newc") in pure Go.
// Archives are reproducible: entries are sorted, parent directories are
// implied, and every timestamp and owner is zero, so the same inputs give
// byte-identical output.
package initramfs

import (
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// entry is one file in the archive.
type entry struct {
	src     string // host file to copy, or
	data    []byte // literal content
	mode    cpio.FileMode
	symlink string
	dir     bool
}

// Builder collects the archive's entries.
type Builder struct {
	entries map[string]entry
}

// New returns an empty builder.
func New() *Builder { return &Builder{entries: map[string]entry{}} }

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// AddFile copies the host file src to dst with the given permissions.
func (b *Builder) AddFile(dst, src string, perm os.FileMode) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("initramfs: %s is not a regular file", src)
	}
	b.entries[clean(dst)] = entry{src: src, mode: cpio.FileMode(perm.Perm()) | cpio.TypeReg}
	return nil
}

// AddData adds a file with literal content.
func (b *Builder) AddData(dst string, data []byte, perm os.FileMode) {
	b.entries[clean(dst)] = entry{data: data, mode: cpio.FileMode(perm.Perm()) | cpio.TypeReg}
}

// AddDir adds an (empty) directory.
func (b *Builder) AddDir(dst string) {
	b.entries[clean(dst)] = entry{dir: true, mode: 0o755 | cpio.TypeDir}
}

// AddSymlink adds a symbolic link dst -> target.
func (b *Builder) AddSymlink(dst, target string) {
	b.entries[clean(dst)] = entry{symlink: target, mode: 0o777 | cpio.TypeSymlink}
}

// libDirs is where the dynamic loader of a Debian amd64 system looks.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// AddELF adds the executable src at dst together with its program
// interpreter and every shared library it needs (transitively), each at the
// path the loader will look for it.
func (b *Builder) AddELF(dst, src string) error {
	if err := b.AddFile(dst, src, 0o755); err != nil {
		return err
	}
	seen := map[string]bool{}
	var walk func(file string) error
	walk = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", file, err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			buf := make([]byte, p.Filesz)
			if _, err := p.ReadAt(buf, 0); err != nil {
				return fmt.Errorf("initramfs: %s: interpreter: %w", file, err)
			}
			interp := strings.TrimRight(string(buf), "\x00")
			if !seen[interp] {
				seen[interp] = true
				if err := b.AddFile(interp, interp, 0o755); err != nil {
					return err
				}
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", file, err)
		}
		dirs := runPaths(f, file)
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			found := ""
			for _, d := range append(dirs, libDirs...) {
				if p := filepath.Join(d, lib); fileExists(p) {
					found = p
					break
				}
			}
			if found == "" {
				return fmt.Errorf("initramfs: %s needs %s, not found in %v (install the package that ships it)", file, lib, libDirs)
			}
			if err := b.AddFile(found, found, 0o755); err != nil {
				return err
			}
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(src)
}

// runPaths returns the DT_RUNPATH and DT_RPATH directories of f.
func runPaths(f *elf.File, file string) []string {
	var out []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(d, "$ORIGIN", filepath.Dir(file))
				if d != "" {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Paths lists the archive's entries (without implied directories), sorted.
func (b *Builder) Paths() []string {
	var ps []string
	for p := range b.entries {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Write writes the archive to w, gzip-compressed if compress is set.
func (b *Builder) Write(w io.Writer, compress bool) error {
	var gz *gzip.Writer
	if compress {
		gz = gzip.NewWriter(w)
		w = gz
	}
	cw := cpio.NewWriter(w)
	// Every parent directory of every entry, then the entries, in order.
	all := map[string]entry{}
	for p, e := range b.entries {
		all[p] = e
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{dir: true, mode: 0o755 | cpio.TypeDir}
			}
		}
	}
	names := make([]string, 0, len(all))
	for p := range all {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeEntry(cw, name, all[name]); err != nil {
			return fmt.Errorf("initramfs: %s: %w", name, err)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("initramfs: close: %w", err)
	}
	if gz != nil {
		return gz.Close()
	}
	return nil
}

func writeEntry(cw *cpio.Writer, name string, e entry) error {
	h := &cpio.Header{Name: name, Mode: e.mode}
	switch {
	case e.dir:
		return cw.WriteHeader(h)
	case e.symlink != "":
		h.Linkname = e.symlink
		h.Size = int64(len(e.symlink))
		if err := cw.WriteHeader(h); err != nil {
			return err
		}
		_, err := cw.Write([]byte(e.symlink))
		return err
	case e.src != "":
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		h.Size = fi.Size()
		if err := cw.WriteHeader(h); err != nil {
			return err
		}
		_, err = io.Copy(cw, f)
		return err
	default:
		h.Size = int64(len(e.data))
		if err := cw.WriteHeader(h); err != nil {
			return err
		}
		_, err := cw.Write(e.data)
		return err
	}
}
