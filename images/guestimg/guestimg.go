// Package guestimg builds what a VM boots with besides the kernel: the
// initramfs (static guest agent as /init, the in-guest kernel tests as
// proto.KTestPath, optional tools with their shared libraries) and the NVMe
// backing image with the data the workloads read. Both are
// content-addressed in the cache. The BPF programs are not files here:
// bpf2go embeds them in the binaries (bpf/objs).
package guestimg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/images/initramfs"
	"github.com/bpfstor/bpfstor/images/pattern"
	"github.com/bpfstor/bpfstor/internal/fsutil"
)

// Options says what goes into the initramfs.
type Options struct {
	// Repo is the bpfstor source tree (holds go.mod).
	Repo string
	// CacheDir receives the images (…/bpfstor/images).
	CacheDir string
	// Tools are host executables copied with their libraries (e.g. fio).
	Tools []string
	// Compress gzips the archive (smaller, but slower to unpack under TCG).
	Compress bool
}

// Initramfs is a built archive.
type Initramfs struct {
	Path  string
	Hash  string
	Files []string
}

// The guest's own binaries: static, built from the repository. go build
// names each after its package's last path element.
const (
	agentPkg = "./images/agent"
	ktestPkg = "./kernel/selftest/cmd/bpfstor-ktest"
)

var guestPkgs = []string{agentPkg, ktestPkg}

// BuildAgent compiles the static guest agent into dst.
func BuildAgent(ctx context.Context, repo, dst string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".build-")
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := buildStatic(ctx, repo, tmp, agentPkg); err != nil {
		return err
	}
	return os.Rename(filepath.Join(tmp, path.Base(agentPkg)), dst)
}

// buildStatic compiles the static guest binaries of pkgs into dir, in one
// go build (the packages share most of their dependencies). VCS stamping
// is off: the guest does not need it, and it fails in a repository
// another user owns.
func buildStatic(ctx context.Context, repo, dir string, pkgs ...string) error {
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", dir + "/"}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("image build: go build %s: %w: %s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// agentKey hashes what the guest binaries are built from: the Go toolchain
// and environment, go.mod and go.sum, and every non-test Go file of the
// repository (a superset of their packages, cheap to read), with the BPF
// objects bpf2go generated (bpf/objs/*.o, embedded).
func agentKey(repo string) (string, error) {
	h := sha256.New()
	gov, err := exec.Command("go", "env", "GOVERSION", "GOROOT", "GOFLAGS", "GOEXPERIMENT").Output()
	if err != nil {
		return "", fmt.Errorf("image build: go env: %w (install Go >= 1.26 and put it on PATH)", err)
	}
	h.Write(gov)
	var files []string
	err = filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if d.IsDir() {
			if p != repo && (strings.HasPrefix(n, ".") || n == "results" || n == "bin" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go")) || (p == filepath.Join(repo, n) && (n == "go.mod" || n == "go.sum")) ||
			(strings.HasSuffix(n, ".o") && filepath.Dir(p) == filepath.Join(repo, "bpf", "objs")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("image build: agent sources: %w", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("image build: agent sources: %w", err)
		}
		rel, _ := filepath.Rel(repo, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// cachedBinaries returns the static guest binaries of guestPkgs for the
// repository's sources, by package: built once per change, in one go
// build, into cacheDir/NAME/KEY, and checked against their recorded hash
// before use (a damaged one makes them all rebuilt).
func cachedBinaries(ctx context.Context, repo, cacheDir string) (map[string]string, error) {
	key, err := agentKey(repo)
	if err != nil {
		return nil, err
	}
	paths := map[string]string{}
	fresh := true
	for _, pkg := range guestPkgs {
		dir := filepath.Join(cacheDir, path.Base(pkg))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
		paths[pkg] = filepath.Join(dir, key)
		if fsutil.CheckSeal(paths[pkg]) != nil {
			fresh = false
		}
	}
	if fresh {
		return paths, nil
	}
	tmp, err := os.MkdirTemp(cacheDir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := buildStatic(ctx, repo, tmp, guestPkgs...); err != nil {
		return nil, err
	}
	for _, pkg := range guestPkgs {
		b, err := os.ReadFile(filepath.Join(tmp, path.Base(pkg)))
		if err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
		if err := fsutil.WriteSealed(paths[pkg], b); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
	}
	return paths, nil
}

// Build builds the initramfs.
func Build(ctx context.Context, o Options) (*Initramfs, error) {
	bins, err := cachedBinaries(ctx, o.Repo, o.CacheDir)
	if err != nil {
		return nil, err
	}
	b := initramfs.New()
	if err := b.AddFile("/init", bins[agentPkg], 0o755); err != nil {
		return nil, err
	}
	if err := b.AddFile(proto.KTestPath, bins[ktestPkg], 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp"} {
		b.AddDir(d)
	}
	for _, t := range o.Tools {
		p, err := exec.LookPath(t)
		if err != nil {
			return nil, fmt.Errorf("image build: tool %s not found on the host (apt-get install %s)", t, filepath.Base(t))
		}
		if err := b.AddELF(filepath.Join("/usr/bin", filepath.Base(p)), p); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := b.Write(&buf, o.Compress); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	h := hex.EncodeToString(sum[:])[:20]
	ext := ".cpio"
	if o.Compress {
		ext += ".gz"
	}
	dir := filepath.Join(o.CacheDir, "initramfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, h+ext)
	// The name is the content's hash: a file there with other bytes
	// (truncated, changed) is replaced.
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, buf.Bytes()) {
		if err := fsutil.WriteFile(path, buf.Bytes()); err != nil {
			return nil, fmt.Errorf("image build: %w", err)
		}
	}
	return &Initramfs{Path: path, Hash: h, Files: b.Paths()}, nil
}

// Data is a built NVMe backing image.
type Data struct {
	Path string
	// Kind is "pattern" or "btree": the data the workloads read.
	Kind string
	// FS is the file system holding the data as proto.DataFile
	// (proto.FSExt4), or proto.FSRaw: the image is the data (WithFS).
	FS string
	// SizeBytes is the image's size.
	SizeBytes int64
	Seed      uint64
	// FileBytes is the size of the data file on a file system (FS set).
	FileBytes int64
}

// CheckData checks that path can back an emulated NVMe namespace: a
// readable regular file of whole 512 B blocks, not empty.
func CheckData(path string) error {
	f, fi, err := fsutil.OpenStat(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (give a raw disk image)", path)
	case fi.Size() == 0:
		return fmt.Errorf("%s is empty (give a raw disk image, e.g. one bpfstor image build made)", path)
	case fi.Size()%512 != 0:
		return fmt.Errorf("%s is %d bytes, not a whole number of 512 B blocks", path, fi.Size())
	}
	if _, err := f.ReadAt(make([]byte, 512), 0); err != nil {
		return fmt.Errorf("%s cannot be read: %w", path, err)
	}
	return nil
}

// BuildPattern returns (building once) a pattern image of sizeMB MiB.
func BuildPattern(cacheDir string, sizeMB int, seed uint64) (*Data, error) {
	if sizeMB <= 0 {
		return nil, fmt.Errorf("image build: data size %d MiB must be positive", sizeMB)
	}
	dir := filepath.Join(cacheDir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	size := int64(sizeMB) << 20
	path := filepath.Join(dir, fmt.Sprintf("pattern-%dM-seed%d.img", sizeMB, seed))
	d := &Data{Path: path, Kind: "pattern", SizeBytes: size, Seed: seed}
	if fsutil.CheckSeal(path) == nil {
		return d, nil
	}
	// Missing, damaged or unsealed (an older bpfstor): written again.
	f, err := fsutil.Create(path)
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	if err := pattern.Write(f, uint64(size/pattern.BlockSize), seed); err != nil {
		f.Abort()
		return nil, fmt.Errorf("image build: %s: %w", path, err)
	}
	if err := f.Commit(true); err != nil {
		return nil, fmt.Errorf("image build: %s: %w", path, err)
	}
	return d, nil
}

// BuildBTree returns (building once) a B+-tree image (images/btree format).
func BuildBTree(cacheDir string, p btree.Params) (*Data, btree.Info, error) {
	if _, err := p.Check(); err != nil {
		return nil, btree.Info{}, fmt.Errorf("image build: %w", err)
	}
	dir := filepath.Join(cacheDir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, btree.Info{}, err
	}
	path := filepath.Join(dir, fmt.Sprintf("btree-keys%d-f%d-seed%d.img", p.Keys, p.Fanout, p.Seed))
	info, err := btree.WriteFile(path, p)
	if err != nil {
		return nil, btree.Info{}, fmt.Errorf("image build: %w", err)
	}
	return &Data{Path: path, Kind: "btree", SizeBytes: int64(info.ImageSize), Seed: p.Seed}, info, nil
}

// ParseBTree parses "keys=N,fanout=F,seed=S" (fanout defaults to 31, seed
// to 1; depth=D may be given as a check).
func ParseBTree(s string) (btree.Params, error) {
	p := btree.Params{Fanout: 31, Seed: 1}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return p, fmt.Errorf("--btree %q: %q is not key=value (want keys=N,fanout=F,seed=S)", s, kv)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return p, fmt.Errorf("--btree %q: %s=%q is not a number", s, k, v)
		}
		switch k {
		case "keys":
			p.Keys = n
		case "fanout":
			p.Fanout = int(n)
		case "seed":
			p.Seed = n
		case "depth":
			p.Depth = int(n)
		default:
			return p, fmt.Errorf("--btree %q: unknown key %q (keys, fanout, seed, depth)", s, k)
		}
	}
	if p.Keys == 0 {
		return p, fmt.Errorf("--btree %q: keys=N is required", s)
	}
	_, err := p.Check()
	return p, err
}
