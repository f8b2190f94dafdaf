// Package kbuild builds the patched guest kernel: Debian's linux-source
// tarball (or a tree the user names), the patch series, config fragments
// merged onto tinyconfig with the kernel's own merge_config.sh, and
// `make bzImage`. Results are cached by a content hash of everything that
// goes in, so an unchanged second build returns at once.
package kbuild

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bpfstor/bpfstor/internal/fsutil"
)

// DefaultTarball is Debian's kernel source package's tarball.
const DefaultTarball = "/usr/src/linux-source-6.12.tar.xz"

// LockPath serialises kernel builds on this machine (2 cores: one at a
// time). Every user shares it: it is made mode 0666. A variable for tests.
var LockPath = "/tmp/bpfstor-kbuild.lock"

// keyVersion changes when the way kernels are built changes.
const keyVersion = "bpfstor-kbuild-v1"

// Options says what to build.
type Options struct {
	// Src is a kernel tree to build instead of the Debian tarball.
	Src string
	// Tarball is the source tarball (default DefaultTarball).
	Tarball string
	// Patches is a directory with a git format-patch series ("" for none).
	Patches string
	// Fragments are config fragments merged onto tinyconfig, in order.
	Fragments []string
	// CacheDir holds built kernels (…/bpfstor/kernel).
	CacheDir string
	// Jobs is make's -j (default: number of CPUs).
	Jobs int
	// Progress receives human-readable progress lines (may be nil).
	Progress io.Writer
	// Force rebuilds even when a cached kernel exists.
	Force bool
}

// Kernel is a built kernel and what it was built from.
type Kernel struct {
	// BzImage, Config and Log are absolute; a reader takes them from
	// kernel.json's own directory, so the cache can be moved.
	BzImage string `json:"bzimage"`
	// BzImageSHA256 is checked before a cached kernel is used.
	BzImageSHA256 string   `json:"bzimage_sha256,omitempty"`
	Key           string   `json:"key"`
	Release       string   `json:"release"`
	Source        string   `json:"source"`
	PatchHash     string   `json:"patch_series_hash"`
	Patches       []string `json:"patches"`
	// FragmentHash hashes the requested fragments; ConfigHash the final .config.
	FragmentHash string  `json:"fragment_hash"`
	ConfigHash   string  `json:"config_hash"`
	Config       string  `json:"config"`
	Log          string  `json:"log"`
	BuildSeconds float64 `json:"build_seconds"`
	Toolchain    string  `json:"toolchain"`
	// Cached is true when this call built nothing.
	Cached bool `json:"-"`
}

// PatchFiles lists the series in dir in apply order (the cover letter,
// which has no diff, is skipped).
func PatchFiles(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kernel build: patches: %w", err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".patch") || strings.HasPrefix(n, "0000-") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	return out, nil
}

// hashFiles hashes the files' contents in order (names do not change a
// build, so they do not change the hash).
func hashFiles(h io.Writer, files []string) error {
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%d %d\n", i, len(b))
		h.Write(b)
	}
	return nil
}

func hexsum(files []string) (string, error) {
	h := sha256.New()
	if err := hashFiles(h, files); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// snapshot copies files into dir (as dir/<position>/<base name>, so a copy
// keeps the user's file name) and returns the copies: a build applies and
// merges exactly the bytes its key was computed from, even if the
// originals change while it waits for the build lock.
func snapshot(files []string, dir string) ([]string, error) {
	var out []string
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d := filepath.Join(dir, fmt.Sprintf("%02d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		dst := filepath.Join(d, filepath.Base(f))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return nil, err
		}
		out = append(out, dst)
	}
	return out, nil
}

func toolchain() string {
	out, err := exec.Command("gcc", "--version").Output()
	if err != nil {
		return "gcc: not found"
	}
	l, _, _ := strings.Cut(string(out), "\n")
	return l
}

// sourceID identifies the source: for the tarball its name, size and
// mtime; for a git tree its HEAD and a hash of uncommitted changes.
func sourceID(o *Options) (string, bool, error) {
	if o.Src == "" {
		fi, err := os.Stat(o.Tarball)
		if err != nil {
			return "", false, fmt.Errorf("kernel build: %s not found (apt-get install linux-source-6.12, or pass --src DIR)", o.Tarball)
		}
		return fmt.Sprintf("tarball:%s:%d:%d", filepath.Base(o.Tarball), fi.Size(), fi.ModTime().Unix()), true, nil
	}
	if _, err := os.Stat(filepath.Join(o.Src, "arch/x86/boot")); err != nil {
		return "", false, fmt.Errorf("kernel build: --src %s is not a Linux kernel tree (no arch/x86/boot); pass the top directory of a kernel source tree", o.Src)
	}
	if b, err := os.ReadFile(filepath.Join(o.Src, "Makefile")); err != nil || !strings.Contains(string(b), "VERSION =") {
		return "", false, fmt.Errorf("kernel build: --src %s has no kernel Makefile; pass the top directory of a kernel source tree", o.Src)
	}
	head, err := exec.Command("git", "-C", o.Src, "rev-parse", "HEAD").Output()
	if err != nil {
		// Not a git tree: nothing identifies its content cheaply; build
		// every time (make is incremental in the cached output tree).
		abs, _ := filepath.Abs(o.Src)
		return "dir:" + abs, false, nil
	}
	diff, _ := exec.Command("git", "-C", o.Src, "diff", "HEAD").Output()
	sum := sha256.Sum256(diff)
	return fmt.Sprintf("git:%s:%x", strings.TrimSpace(string(head)), sum[:8]), true, nil
}

// Build builds (or returns the cached) kernel.
func Build(ctx context.Context, o Options) (*Kernel, error) {
	if o.Tarball == "" {
		o.Tarball = DefaultTarball
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if len(o.Fragments) == 0 {
		return nil, errors.New("kernel build: no config fragment (pass --config FILE, e.g. kernel/config/base.config)")
	}
	src, cacheable, err := sourceID(&o)
	if err != nil {
		return nil, err
	}
	patches, err := PatchFiles(o.Patches)
	if err != nil {
		return nil, err
	}
	// Snapshot the inputs first, then hash and use only the snapshot.
	snapDir, err := os.MkdirTemp("", "bpfstor-kinputs-")
	if err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	defer os.RemoveAll(snapDir)
	if patches, err = snapshot(patches, filepath.Join(snapDir, "patches")); err != nil {
		return nil, fmt.Errorf("kernel build: patches: %w", err)
	}
	userFrags := o.Fragments
	if o.Fragments, err = snapshot(o.Fragments, filepath.Join(snapDir, "config")); err != nil {
		return nil, fmt.Errorf("kernel build: config fragment: %w", err)
	}
	// Requests are parsed from the snapshot but named by the user's file.
	var requested []Option
	for i, f := range o.Fragments {
		opts, err := parseConfigAs(f, absPath(userFrags[i]))
		if err != nil {
			return nil, fmt.Errorf("kernel build: config fragment: %w", err)
		}
		requested = append(requested, opts...)
	}
	k := &Kernel{Source: src, Toolchain: toolchain()}
	if k.PatchHash, err = hexsum(patches); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	if k.FragmentHash, err = hexsum(o.Fragments); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	for _, p := range patches {
		k.Patches = append(k.Patches, filepath.Base(p))
	}
	kh := sha256.New()
	fmt.Fprintf(kh, "%s\n%s\n%s\n%s\n%s\n", keyVersion, src, k.PatchHash, k.FragmentHash, k.Toolchain)
	k.Key = hex.EncodeToString(kh.Sum(nil))[:20]
	dir := filepath.Join(o.CacheDir, k.Key)
	metaPath := filepath.Join(dir, "kernel.json")

	if cacheable && !o.Force {
		if cached, err := cachedKernel(metaPath, o.Progress); err == nil {
			return cached, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	unlock, err := lock(ctx, o.Progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// With the lock held no other build runs: trees that failed builds
	// left behind (1.7 GB each) can go.
	sweepFailed(o.CacheDir, dir, o.Progress)
	// Another process may have built it while we waited for the lock.
	if cacheable && !o.Force {
		if cached, err := cachedKernel(metaPath, o.Progress); err == nil {
			return cached, nil
		}
	}
	k.Log = filepath.Join(dir, "build.log")
	logf, err := os.Create(k.Log)
	if err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	defer logf.Close()
	b := &builder{ctx: ctx, o: &o, log: logf, dir: dir}
	built, err := b.build(patches, requested, k)
	if err != nil {
		// An interrupted build keeps its tree (the next one continues
		// it); a failed one removes it: its inputs must change anyway.
		if ctx.Err() == nil && o.Src == "" {
			os.RemoveAll(filepath.Join(dir, "src"))
			os.Remove(filepath.Join(dir, "prepared"))
		}
		return nil, err
	}
	return built, nil
}

// build unpacks, patches, configures and makes the kernel into b.dir.
func (b *builder) build(patches []string, requested []Option, k *Kernel) (*Kernel, error) {
	o, dir, start := b.o, b.dir, time.Now()
	metaPath := filepath.Join(dir, "kernel.json")
	tree, out, err := b.prepare(patches)
	if err != nil {
		return nil, err
	}
	if err := b.configure(tree, out, requested); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "kernel build: make -j%d bzImage (log: %s)\n", o.Jobs, k.Log)
	if err := b.make(tree, out, fmt.Sprintf("-j%d", o.Jobs), "bzImage"); err != nil {
		if b.ctx.Err() != nil {
			return nil, fmt.Errorf("kernel build: interrupted (%w); the next build continues from %s", b.ctx.Err(), tree)
		}
		return nil, fmt.Errorf("kernel build: make failed: %s (full log: %s)", errorLines(k.Log, 6), k.Log)
	}
	rel, _ := os.ReadFile(filepath.Join(out, "include/config/kernel.release"))
	k.Release = strings.TrimSpace(string(rel))
	k.BzImage = filepath.Join(dir, "bzImage")
	k.Config = filepath.Join(dir, "config")
	if err := copyFile(filepath.Join(out, "arch/x86/boot/bzImage"), k.BzImage); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	if err := copyFile(filepath.Join(out, ".config"), k.Config); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	if k.ConfigHash, err = hexsum([]string{k.Config}); err != nil {
		return nil, err
	}
	if k.BzImageSHA256, err = fsutil.SHA256(k.BzImage); err != nil {
		return nil, fmt.Errorf("kernel build: %w", err)
	}
	k.BuildSeconds = time.Since(start).Seconds()
	if err := writeMeta(metaPath, k); err != nil {
		return nil, err
	}
	return k, nil
}

type builder struct {
	ctx context.Context
	o   *Options
	log io.Writer
	dir string
}

func (b *builder) run(dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(b.ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = b.log, b.log
	cmd.Env = append(os.Environ(), env...)
	fmt.Fprintf(b.log, "\n$ %s %s\n", name, strings.Join(args, " "))
	return cmd.Run()
}

// prepare returns the source tree and the output tree (the same for the
// tarball, whose tree is private to this build).
func (b *builder) prepare(patches []string) (tree, out string, err error) {
	if b.o.Src != "" {
		if len(patches) > 0 {
			return "", "", fmt.Errorf("kernel build: --src with a patch series is not supported: apply the series in your tree (git am %s/*.patch), or pass --patches ''", b.o.Patches)
		}
		out = filepath.Join(b.dir, "build")
		return b.o.Src, out, os.MkdirAll(out, 0o755)
	}
	srcDir := filepath.Join(b.dir, "src")
	marker := filepath.Join(b.dir, "prepared")
	name := strings.TrimSuffix(filepath.Base(b.o.Tarball), ".tar.xz")
	tree = filepath.Join(srcDir, name)
	if _, err := os.Stat(marker); err == nil {
		return tree, tree, nil // interrupted earlier: make continues
	}
	os.RemoveAll(srcDir)
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return "", "", err
	}
	fmt.Fprintf(b.o.Progress, "kernel build: unpacking %s\n", b.o.Tarball)
	if err := b.run(srcDir, nil, "tar", "xf", b.o.Tarball); err != nil {
		return "", "", fmt.Errorf("kernel build: unpack %s: %w", b.o.Tarball, err)
	}
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		return "", "", fmt.Errorf("kernel build: %s did not unpack to %s", b.o.Tarball, tree)
	}
	for _, p := range patches {
		fmt.Fprintf(b.o.Progress, "kernel build: applying %s\n", filepath.Base(p))
		if err := applyPatch(b.ctx, tree, p, b.log); err != nil {
			return "", "", err
		}
	}
	return tree, tree, nil
}

var hunkRE = regexp.MustCompile(`(?m)^error: .*$`)

// applyPatch applies one patch with git apply, naming the failing hunk.
func applyPatch(ctx context.Context, tree, patch string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "git", "apply", "-p1", "--whitespace=nowarn", patch)
	cmd.Dir = tree
	// Never let git find an enclosing repository and apply there.
	cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(tree))
	outb, err := cmd.CombinedOutput()
	log.Write(outb)
	if err != nil {
		why := strings.Join(hunkRE.FindAllString(string(outb), 3), "; ")
		if why == "" {
			why = strings.TrimSpace(string(outb))
		}
		return fmt.Errorf("kernel build: patch %s does not apply: %s (rebase the series onto %s)", filepath.Base(patch), why, filepath.Base(tree))
	}
	return nil
}

func (b *builder) configure(tree, out string, requested []Option) error {
	var names []string
	for _, f := range b.o.Fragments {
		names = append(names, filepath.Base(f))
	}
	fmt.Fprintf(b.o.Progress, "kernel build: config = tinyconfig + %s\n", strings.Join(names, " + "))
	if err := b.make(tree, out, "tinyconfig"); err != nil {
		return fmt.Errorf("kernel build: make tinyconfig failed (log: %s)", filepath.Join(b.dir, "build.log"))
	}
	args := []string{"-m", "-O", out, filepath.Join(out, ".config")}
	for _, f := range b.o.Fragments {
		abs, _ := filepath.Abs(f)
		args = append(args, abs)
	}
	if err := b.run(tree, nil, "scripts/kconfig/merge_config.sh", args...); err != nil {
		return fmt.Errorf("kernel build: merge_config.sh failed (log: %s)", filepath.Join(b.dir, "build.log"))
	}
	if err := b.make(tree, out, "olddefconfig"); err != nil {
		return fmt.Errorf("kernel build: make olddefconfig failed (log: %s)", filepath.Join(b.dir, "build.log"))
	}
	final, err := ParseConfigFile(filepath.Join(out, ".config"))
	if err != nil {
		return fmt.Errorf("kernel build: %w", err)
	}
	known, err := KconfigSymbols(tree)
	if err != nil {
		return fmt.Errorf("kernel build: %w", err)
	}
	if err := CheckConfig(requested, final, known); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.dir, "prepared"), nil, 0o644)
}

func (b *builder) make(tree, out string, args ...string) error {
	if out != tree {
		args = append([]string{"O=" + out}, args...)
	}
	done := make(chan struct{})
	defer close(done)
	start := time.Now()
	go func() { // progress every 20 s for long steps
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(b.o.Progress, "kernel build: make %s: %s elapsed\n", args[len(args)-1], time.Since(start).Round(time.Second))
			}
		}
	}()
	return b.run(tree, nil, "make", args...)
}

// errorLines returns the last compiler/linker error lines of a build log.
func errorLines(log string, n int) string {
	f, err := os.Open(log)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var errs, last []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "error:") || strings.Contains(l, "Error ") || strings.Contains(l, "undefined reference") {
			errs = append(errs, strings.TrimSpace(l))
		}
		last = append(last, l)
		if len(last) > n {
			last = last[1:]
		}
	}
	if len(errs) == 0 {
		errs = last
	}
	if len(errs) > n {
		errs = errs[len(errs)-n:]
	}
	return strings.Join(errs, " | ")
}

// openLock opens (creating, mode 0666 whatever the umask) the lock file.
// A lock file another user made without write permission for others is
// opened read-only: flock needs no write permission.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
	if err == nil {
		f.Chmod(0o666) // the umask took some bits; every user needs it
		return f, nil
	}
	if f, err = os.OpenFile(path, os.O_RDWR, 0); err == nil {
		return f, nil
	}
	if f, err2 := os.Open(path); err2 == nil {
		return f, nil
	}
	return nil, fmt.Errorf("kernel build: lock %w (remove it, or make it readable by every user: chmod 0666 %s)", err, path)
}

// lock takes the machine-wide kernel build lock, reporting if it waits.
func lock(ctx context.Context, progress io.Writer) (func(), error) {
	f, err := openLock(LockPath)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(progress, "kernel build: waiting for another kernel build (lock %s)\n", LockPath)
		start, said := time.Now(), time.Now()
		for {
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
			if time.Since(said) >= time.Minute { // a CI log shows it is waiting, not hung
				fmt.Fprintf(progress, "kernel build: still waiting for another kernel build after %v (lock %s; Ctrl-C to give up)\n",
					time.Since(start).Round(time.Second), LockPath)
				said = time.Now()
			}
		}
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// sweepFailed removes the unpacked trees of builds that never finished
// (no kernel.json) in the cache, except keep's. Only call it holding the
// build lock.
func sweepFailed(cacheDir, keep string, progress io.Writer) {
	ents, _ := os.ReadDir(cacheDir)
	for _, e := range ents {
		d := filepath.Join(cacheDir, e.Name())
		if d == keep {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "kernel.json")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "src")); err != nil {
			continue
		}
		fmt.Fprintf(progress, "kernel build: removing %s, the tree of a build that did not finish\n", filepath.Join(d, "src"))
		os.RemoveAll(filepath.Join(d, "src"))
		os.Remove(filepath.Join(d, "prepared"))
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// cachedKernel returns the cached kernel of metaPath if it is intact. A
// damaged one (truncated or changed bzImage) is said so and not used: the
// caller rebuilds it.
func cachedKernel(metaPath string, progress io.Writer) (*Kernel, error) {
	k, err := readMeta(metaPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(progress, "kernel build: cached kernel not used, rebuilding: %v\n", err)
		}
		return nil, err
	}
	if k.BzImageSHA256 == "" { // cached by an older bpfstor: record it now
		if k.BzImageSHA256, err = fsutil.SHA256(k.BzImage); err == nil {
			writeMeta(metaPath, k)
		}
	}
	k.Cached = true
	return k, nil
}

// readMeta reads kernel.json and checks the bzImage it names: a complete
// bzImage (its setup header's sizes), with the recorded hash if any.
func readMeta(path string) (*Kernel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k Kernel
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	k.BzImage, k.Config, k.Log = filepath.Join(dir, "bzImage"), filepath.Join(dir, "config"), filepath.Join(dir, "build.log")
	if err := CheckBzImage(k.BzImage); err != nil {
		return nil, err
	}
	if k.BzImageSHA256 != "" {
		sum, err := fsutil.SHA256(k.BzImage)
		if err != nil {
			return nil, err
		}
		if sum != k.BzImageSHA256 {
			return nil, fmt.Errorf("%s is damaged: sha256 %s, recorded %s", k.BzImage, sum[:16], k.BzImageSHA256[:min(16, len(k.BzImageSHA256))])
		}
	}
	return &k, nil
}

// CheckBzImage checks that path is a whole x86 bzImage: the "HdrS" setup
// header, and at least as many bytes as its setup sectors and syssize say.
func CheckBzImage(path string) error {
	f, fi, err := fsutil.OpenStat(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return fmt.Errorf("%s is not a bzImage (%d bytes, shorter than its header)", path, fi.Size())
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return fmt.Errorf("%s is not a bzImage (no HdrS setup header)", path)
	}
	setup := int64(hdr[0x1f1])
	if setup == 0 {
		setup = 4
	}
	want := (setup+1)*512 + int64(binary.LittleEndian.Uint32(hdr[0x1f4:]))*16
	if fi.Size() < want {
		return fmt.Errorf("%s is truncated: %d bytes, its header says %d", path, fi.Size(), want)
	}
	return nil
}

// writeMeta writes kernel.json atomically. Its paths stay absolute for
// older bpfstor versions sharing the cache; readMeta ignores them.
func writeMeta(path string, k *Kernel) error {
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, b)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return fsutil.WriteFile(dst, b)
}
