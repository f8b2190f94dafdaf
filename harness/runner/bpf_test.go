package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/images/guestimg"
)

func bpfEnv(t *testing.T) *Env {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang not installed (apt-get install clang llvm)")
	}
	wd, _ := os.Getwd()
	repo, err := FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Repo: repo, Cache: t.TempDir()}
}

// The BPF objects' key does not depend on where clang is found (PATH used
// to change it: clang --version prints its InstalledDir); damaged objects
// are recompiled; concurrent compiles into one cache both succeed.
func TestBPFCache(t *testing.T) {
	e := bpfEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	dirs, errs := make([]string, 2), make([]error, 2)
	for i := range dirs {
		wg.Add(1)
		go func() { defer wg.Done(); dirs[i], errs[i] = e.BPF(ctx) }()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil {
			t.Fatalf("concurrent compile %d: %v", i, errs[i])
		}
	}
	if dirs[0] != dirs[1] || checkObjects(dirs[0]) != nil {
		t.Fatalf("concurrent compiles gave %v (check: %v)", dirs, checkObjects(dirs[0]))
	}
	// The same clang through another PATH entry.
	clang, _ := exec.LookPath("clang")
	real, _ := filepath.EvalSymlinks(clang)
	bin := t.TempDir()
	os.Symlink(real, filepath.Join(bin, "clang"))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir, err := e.BPF(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != dirs[0] {
		t.Errorf("clang found at %s gave key dir %s, want %s", bin, dir, dirs[0])
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "*.o"))
	if len(objs) == 0 {
		t.Fatal("no objects")
	}
	os.Truncate(objs[0], 10)
	if err := checkObjects(dir); err == nil {
		t.Fatal("a truncated object passed the check")
	}
	if _, err := e.BPF(ctx); err != nil {
		t.Fatal(err)
	}
	if err := checkObjects(dir); err != nil {
		t.Errorf("the damaged object was not recompiled: %v", err)
	}
}

// A KVM probe that could not boot for reasons that are not KVM's (a
// missing kernel, an interrupt) is not cached as "KVM unusable" for
// every later run of this host.
func TestProbeFailureNotCached(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		t.Skipf("needs an openable /dev/kvm to reach the probe: %v", err)
	} else {
		f.Close()
	}
	e := &Env{Cache: t.TempDir()}
	missing := filepath.Join(t.TempDir(), "no-bzImage")
	accel, note := e.ResolveAccel(context.Background(), "auto", &kbuild.Kernel{BzImage: missing}, &guestimg.Initramfs{Path: missing})
	if accel != "tcg" || !strings.Contains(note, "KVM not probed") {
		t.Errorf("accel %s (%s), want tcg, not probed", accel, note)
	}
	if _, err := os.Stat(filepath.Join(e.Cache, "accel.json")); err == nil {
		t.Error("a probe that never booted was cached as a verdict")
	}
}
