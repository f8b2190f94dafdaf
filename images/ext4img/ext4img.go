// Package ext4img builds ext4 file system images from a directory of
// files, reproducibly and without root or loop mounts: the same files and
// options give the same bytes (issue 14's data image: the B+-tree as a
// file on ext4, beside other files).
//
// It drives e2fsprogs (mkfs.ext4 -d, which copies a directory tree into
// the new file system, then debugfs): mkfs takes a fixed UUID and
// directory hash seed, and E2FSPROGS_FAKE_TIME for the times it stamps
// itself; the inode times mkfs copies from the source (ctime and atime
// cannot be set on the host) are set afterwards with debugfs.
package ext4img

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options shape the file system.
type Options struct {
	// SizeMB is the image size.
	SizeMB int
	// UUID and HashSeed are the file system UUID and the directory hash
	// seed (RFC 4122 strings).
	UUID, HashSeed string
	// Time is every timestamp in the image (seconds since the epoch).
	Time int64
	// BlockSize is the file system block size (4096 if 0).
	BlockSize int
	// Features are mkfs.ext4 -O features beside the defaults
	// ("inline_data", "^has_journal", ...).
	Features []string
}

// Defaults are the options bpfstor's data images use.
var Defaults = Options{
	UUID:      "b9f5704e-4a3c-4e8b-9d1a-000000000001",
	HashSeed:  "b9f5704e-4a3c-4e8b-9d1a-000000000002",
	Time:      1700000000, // 2023-11-14T22:13:20Z
	BlockSize: 4096,
}

// Tools are the e2fsprogs commands Build runs (Debian package e2fsprogs).
var Tools = []string{"mkfs.ext4", "debugfs"}

// Build writes an ext4 image of o.SizeMB MiB to dst holding the files
// and directories below src (src itself is the root directory).
func Build(ctx context.Context, dst, src string, o Options) error {
	if o.BlockSize == 0 {
		o.BlockSize = 4096
	}
	if o.SizeMB <= 0 || o.UUID == "" || o.HashSeed == "" {
		return fmt.Errorf("ext4img: size %d MiB, UUID %q, hash seed %q: all are required", o.SizeMB, o.UUID, o.HashSeed)
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("ext4img: %s not found: install e2fsprogs (apt-get install e2fsprogs): %w", t, err)
		}
	}
	paths, err := tree(src)
	if err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	when := time.Unix(o.Time, 0)
	for _, p := range paths { // the times mkfs copies from the source
		if err := os.Chtimes(filepath.Join(src, p), when, when); err != nil {
			return fmt.Errorf("ext4img: %w", err)
		}
	}
	if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("ext4img: %w", err)
	}
	f, err := os.Create(dst)
	if err == nil {
		err = f.Truncate(int64(o.SizeMB) << 20)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	env := append(os.Environ(), "E2FSPROGS_FAKE_TIME="+strconv.FormatInt(o.Time, 10))
	args := []string{"-q", "-F", "-b", strconv.Itoa(o.BlockSize), "-m", "0", "-U", o.UUID,
		"-E", "hash_seed=" + o.HashSeed + ",root_owner=0:0,nodiscard", "-d", src}
	if len(o.Features) > 0 {
		args = append(args, "-O", strings.Join(o.Features, ","))
	}
	if err := run(ctx, env, nil, "mkfs.ext4", append(args, dst)...); err != nil {
		return err
	}
	// Every inode mkfs made from the source, and the two it made itself:
	// its times, and its owner (mkfs copies the source's, which is the
	// building user's) root's.
	var cmds strings.Builder
	for _, p := range append([]string{"/lost+found"}, paths...) {
		for _, field := range []string{"atime", "ctime", "mtime", "crtime"} {
			fmt.Fprintf(&cmds, "set_inode_field %s %s @%d\n", quote(p), field, o.Time)
		}
		for _, field := range []string{"uid", "gid"} {
			fmt.Fprintf(&cmds, "set_inode_field %s %s 0\n", quote(p), field)
		}
	}
	return run(ctx, env, strings.NewReader(cmds.String()), "debugfs", "-w", "-f", "-", dst)
}

// tree lists src's root ("/") and everything below it as absolute paths
// inside the image, in lexical order.
func tree(src string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return fmt.Errorf("%s: only regular files and directories go into the image", p)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		out = append(out, "/"+filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// quote is a path as debugfs reads it (double quotes around names with
// spaces).
func quote(p string) string {
	if strings.ContainsAny(p, " \t\"") {
		return `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return p
}

func run(ctx context.Context, env []string, stdin *strings.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ext4img: %s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	// debugfs echoes each command ("debugfs: ...") and its banner
	// ("debugfs 1.47.0 ..."), reports a failed command on the next line and
	// exits 0.
	if name == "debugfs" {
		for _, l := range strings.Split(out.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "debugfs") {
				return fmt.Errorf("ext4img: debugfs: %s", l)
			}
		}
	}
	return nil
}
