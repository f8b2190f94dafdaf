// Package runner carries a spec through the pipeline, one direction:
// spec → kernel build → guest image → boot → run → results.
package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/guest"
	"github.com/bpfstor/bpfstor/harness/host"
	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/vm"
	"github.com/bpfstor/bpfstor/images/guestimg"
	"github.com/bpfstor/bpfstor/internal/fsutil"
)

// Env is where things are.
type Env struct {
	// Repo is the bpfstor source tree.
	Repo string
	// Cache is the cache root (…/bpfstor).
	Cache string
	// Results is where run directories go.
	Results string
	// KernelSrc, if set, is a kernel tree to build instead of the tarball.
	KernelSrc string
	// Patches overrides the patch directory (default Repo/kernel/patches).
	Patches *string
	// ConfigFragments, if set, replace the variant's config fragments.
	ConfigFragments []string
	// ForceKernel rebuilds the kernel even when it is cached.
	ForceKernel bool
	// Accel overrides the spec's accelerator ("" keeps it).
	Accel string
	// Progress receives progress lines.
	Progress io.Writer
}

// DefaultCache is ${XDG_CACHE_HOME:-~/.cache}/bpfstor.
func DefaultCache() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "bpfstor")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "bpfstor-cache")
	}
	return filepath.Join(home, ".cache", "bpfstor")
}

// FindRepo returns the bpfstor tree containing dir (or the executable).
func FindRepo(dir string) (string, error) {
	starts := []string{dir}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d, _ := filepath.Abs(s); ; d = filepath.Dir(d) {
			b, err := os.ReadFile(filepath.Join(d, "go.mod"))
			if err == nil && bytes.Contains(b, []byte("module github.com/bpfstor/bpfstor\n")) {
				return d, nil
			}
			if d == "/" || d == "." {
				break
			}
		}
	}
	return "", errors.New("bpfstor source tree not found: run bpfstor from inside it, or pass --repo DIR")
}

func (e *Env) progress() io.Writer {
	if e.Progress == nil {
		return io.Discard
	}
	return e.Progress
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.progress(), format+"\n", args...)
}

// CheckDirs checks, before anything is built or booted, that the running
// user can write the cache and, with results, the results directory; the
// error names the user and the fix.
func (e *Env) CheckDirs(results bool) error {
	if err := host.WritableDir(e.Cache, "cache", "--cache"); err != nil {
		return err
	}
	if results {
		return host.WritableDir(e.Results, "results", "--results")
	}
	return nil
}

// Fragments returns the config fragments of a kernel variant.
func (e *Env) Fragments(variant string) ([]string, error) {
	base := filepath.Join(e.Repo, "kernel", "config", "base.config")
	switch variant {
	case "default", "":
		return []string{base}, nil
	case "debug":
		return []string{base, filepath.Join(e.Repo, "kernel", "config", "debug.config")}, nil
	}
	return nil, fmt.Errorf("unknown kernel variant %q (default or debug)", variant)
}

// Kernel builds (or finds cached) the kernel of a variant.
func (e *Env) Kernel(ctx context.Context, variant string) (*kbuild.Kernel, error) {
	frags := e.ConfigFragments
	if len(frags) == 0 {
		var err error
		if frags, err = e.Fragments(variant); err != nil {
			return nil, err
		}
	}
	patches := filepath.Join(e.Repo, "kernel", "patches")
	if e.Patches != nil {
		patches = *e.Patches
	}
	if _, err := os.Stat(patches); err != nil && e.Patches == nil {
		patches = ""
	}
	k, err := kbuild.Build(ctx, kbuild.Options{
		Src: e.KernelSrc, Patches: patches, Fragments: frags,
		CacheDir: filepath.Join(e.Cache, "kernel"), Progress: e.progress(), Force: e.ForceKernel,
	})
	if err != nil {
		return nil, err
	}
	if k.Cached {
		e.logf("kernel: cached %s (%s, %d patches)", k.Key, k.Release, len(k.Patches))
	} else {
		e.logf("kernel: built %s (%s) in %.0fs", k.Key, k.Release, k.BuildSeconds)
	}
	return k, nil
}

// Initramfs builds the guest image; tools are added when the spec needs
// them. The BPF programs are in the guest binaries (bpf/objs, generated
// by bpf2go and committed): nothing is compiled here.
func (e *Env) Initramfs(ctx context.Context, tools []string) (*guestimg.Initramfs, error) {
	img, err := guestimg.Build(ctx, guestimg.Options{
		Repo: e.Repo, CacheDir: filepath.Join(e.Cache, "images"), Tools: tools,
	})
	if err != nil {
		return nil, err
	}
	e.logf("image: initramfs %s (%d files)", img.Hash, len(img.Files))
	return img, nil
}

// accelVerdict is the cached outcome of the KVM boot probe on one host.
type accelVerdict struct {
	Key   string    `json:"key"`
	KVM   bool      `json:"kvm"`
	Note  string    `json:"note"`
	Taken time.Time `json:"taken"`
}

func hostKey() string {
	qv, _ := host.QEMUVersion(vm.DefaultQEMU)
	return strings.Join([]string{host.Kernel(), host.CPUModel(), qv}, "|")
}

// ResolveAccel resolves "auto" to kvm or tcg. KVM counts only if a real guest
// boots under it and reports within a short timeout (on hosts without
// nested virtualisation /dev/kvm exists but the guest hangs). The verdict is
// cached per host kernel, CPU and QEMU version.
func (e *Env) ResolveAccel(ctx context.Context, want string, k *kbuild.Kernel, img *guestimg.Initramfs) (string, string) {
	if e.Accel != "" {
		want = e.Accel
	}
	if want == "kvm" || want == "tcg" {
		return want, "requested"
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg", fmt.Sprintf("KVM unusable (%v); TCG used", err)
	}
	f.Close()
	cachePath := filepath.Join(e.Cache, "accel.json")
	key := hostKey()
	var v accelVerdict
	if b, err := os.ReadFile(cachePath); err == nil && json.Unmarshal(b, &v) == nil && v.Key == key {
		if v.KVM {
			return "kvm", v.Note + " (cached probe)"
		}
		return "tcg", v.Note + " (cached probe)"
	}
	v, err = ProbeKVM(ctx, k, img)
	if err != nil { // no verdict on KVM: nothing cached
		e.logf("accel: %v", err)
		return "tcg", fmt.Sprintf("KVM not probed (%v); TCG used", err)
	}
	v.Key = key
	if b, err := json.MarshalIndent(v, "", " "); err == nil {
		os.MkdirAll(e.Cache, 0o755)
		if err := fsutil.WriteFile(cachePath, b); err != nil {
			e.logf("accel: verdict not cached: %v", err)
		}
	}
	e.logf("accel: %s", v.Note)
	if v.KVM {
		return "kvm", v.Note
	}
	return "tcg", v.Note
}

// CachedAccel returns the cached KVM probe verdict for this host, if any.
func (e *Env) CachedAccel() (string, bool) {
	var v accelVerdict
	b, err := os.ReadFile(filepath.Join(e.Cache, "accel.json"))
	if err != nil || json.Unmarshal(b, &v) != nil || v.Key != hostKey() {
		return "", false
	}
	if v.KVM {
		return "kvm: " + v.Note, true
	}
	return "tcg: " + v.Note, true
}

// ProbeTimeout bounds the KVM boot probe.
const ProbeTimeout = 15 * time.Second

// ProbeKVM boots the guest under KVM with an empty job. The error is set
// when the probe says nothing about KVM (interrupted, a kernel or image
// missing, no QEMU): such an outcome must not be cached as a verdict.
func ProbeKVM(ctx context.Context, k *kbuild.Kernel, img *guestimg.Initramfs) (accelVerdict, error) {
	dir, err := os.MkdirTemp("", "bpfstor-probe-")
	if err != nil {
		return accelVerdict{}, fmt.Errorf("KVM probe: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	out, err := guest.Run(ctx, vm.Config{
		Kernel: k.BzImage, Initramfs: img.Path, CPUs: 1, MemoryMB: 256, Accel: "kvm", Dir: dir,
	}, &proto.Job{Name: "kvm-probe"}, guest.Options{BootTimeout: ProbeTimeout, JobTimeout: 10 * time.Second})
	switch {
	case err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) || ctx.Err() != nil):
		return accelVerdict{}, fmt.Errorf("KVM probe: %w", err)
	case err != nil:
		return accelVerdict{Taken: start, Note: fmt.Sprintf("KVM unusable: %v; TCG used", strings.TrimPrefix(err.Error(), "vm: "))}, nil
	case errors.Is(out.Err, guest.ErrInterrupted):
		return accelVerdict{}, fmt.Errorf("KVM probe: %w", out.Err)
	case errors.Is(out.Err, guest.ErrNoHello):
		return accelVerdict{Taken: start, Note: fmt.Sprintf("KVM unusable: a KVM guest did not report within %v; TCG used", ProbeTimeout)}, nil
	case !out.Complete:
		return accelVerdict{Taken: start, Note: fmt.Sprintf("KVM unusable: %v under KVM (%s); TCG used", out.Err, firstSentence(out.Reason))}, nil
	}
	return accelVerdict{Taken: start, KVM: true, Note: fmt.Sprintf("KVM works: guest booted and reported in %v", out.BootTime.Round(time.Millisecond))}, nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ";"); i > 0 {
		return s[:i]
	}
	return s
}
