package guestimg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/internal/fsutil"
	"github.com/bpfstor/bpfstor/internal/testfs"
)

// A damaged cached data image is written again, not believed (a same-size
// image used to be taken as it was).
func TestPatternImageDamaged(t *testing.T) {
	ref, err := BuildPattern(t.TempDir(), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fsutil.SHA256(ref.Path)
	tests := []struct {
		name   string
		damage func(p string)
	}{
		{"changed byte", func(p string) {
			f, _ := os.OpenFile(p, os.O_WRONLY, 0)
			f.WriteAt([]byte{0xff}, 5000)
			f.Close()
		}},
		{"truncated", func(p string) { os.Truncate(p, 4096) }},
		{"no recorded hash", func(p string) { os.Remove(p + fsutil.SealExt) }},
		{"missing", func(p string) { os.Remove(p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := BuildPattern(dir, 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(d.Path)
			if d, err = BuildPattern(dir, 1, 3); err != nil {
				t.Fatal(err)
			}
			if got, _ := fsutil.SHA256(d.Path); got != want {
				t.Errorf("image after rebuild has sha256 %.16s, want %.16s", got, want)
			}
		})
	}
}

// Concurrent builds of the same images on one cache all succeed (two runs
// of one B+-tree spec used to collide on one .tmp name: "rename image into
// place: … no such file or directory").
func TestConcurrentImageBuilds(t *testing.T) {
	dir := t.TempDir()
	p := btree.Params{Keys: 20000, Fanout: 8, Seed: 5}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _, err := BuildBTree(dir, p)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := BuildPattern(dir, 2, 1)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "data", "*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	d, _, err := BuildBTree(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := btree.OpenFile(d.Path)
	if err != nil {
		t.Fatalf("the tree written concurrently does not read back: %v", err)
	}
	f.Close()
}

// goCounter puts a go wrapper first on PATH that logs each command it
// runs, and returns a function counting the "go build" runs.
func goCounter(t *testing.T) func() int {
	t.Helper()
	real, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := "#!/bin/sh\necho \"$1\" >> " + log + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "build\n")
	}
}

// The guest agent and bpfstor-ktest are built in one go build, once per
// change of their sources, not on every command (0.6–1 s before anything happened), a
// damaged cached agent is rebuilt, and a damaged initramfs is written
// again.
func TestAgentAndInitramfsCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the guest agent")
	}
	builds := goCounter(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Repo: repo, CacheDir: t.TempDir()}
	ctx := context.Background()
	img, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := builds(); n != 1 {
		t.Fatalf("%d go build(s) for the first image, want 1 (agent and bpfstor-ktest together)", n)
	}
	if _, err := Build(ctx, o); err != nil {
		t.Fatal(err)
	}
	if n := builds(); n != 1 {
		t.Errorf("the guest binaries were built again with their sources unchanged (%d builds)", n)
	}
	os.Truncate(img.Path, 1000)
	again, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(again.Path); again.Path != img.Path || fi == nil || fi.Size() <= 1000 {
		t.Errorf("the truncated initramfs %s was not written again", img.Path)
	}
	agents, _ := filepath.Glob(filepath.Join(o.CacheDir, "agent", "*"))
	for _, a := range agents {
		if !strings.HasSuffix(a, fsutil.SealExt) {
			os.Truncate(a, 100)
		}
	}
	if _, err := Build(ctx, o); err != nil {
		t.Fatal(err)
	}
	if n := builds(); n != 2 {
		t.Errorf("a damaged cached agent was used (%d builds, want 2)", n)
	}
	for _, name := range []string{"agent", "bpfstor-ktest"} {
		if bins, _ := filepath.Glob(filepath.Join(o.CacheDir, name, "*"+fsutil.SealExt)); len(bins) != 1 {
			t.Errorf("cache holds %d sealed %s binaries, want 1", len(bins), name)
		}
	}
}

// The agent builds, as a user who is not root, in a git repository root
// owns (Go's VCS stamping used to fail there: "error obtaining VCS status:
// exit status 128. Use -buildvcs=false to disable VCS stamping.").
func TestAgentBuildsInAnotherUsersRepo(t *testing.T) {
	testfs.NeedRoot(t, "build as another user in a repository root owns")
	if testing.Short() {
		t.Skip("builds the guest agent")
	}
	src, _ := filepath.Abs("../..")
	files, err := exec.Command("git", "-C", src, "ls-files", "go.mod", "go.sum", "images", "harness", "bpf", "kernel/selftest", "internal").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	top := testfs.PublicTempDir(t)
	repo, home := filepath.Join(top, "repo"), filepath.Join(top, "home")
	for _, f := range strings.Fields(string(files)) {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			continue // deleted in the work tree
		}
		os.MkdirAll(filepath.Dir(filepath.Join(repo, f)), 0o755)
		os.WriteFile(filepath.Join(repo, f), b, 0o644)
	}
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	run("git", "init", "-q")
	run("git", "add", ".")
	run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
	run("go", "mod", "vendor") // the other user has no module cache
	run("chmod", "-R", "a+rX", repo)
	os.MkdirAll(home, 0o755)
	run("chown", testfs.OtherUser, home)
	testfs.AsOtherUser(t, "TestAgentBuildAsOtherUser", "BPFSTOR_TEST_REPO="+repo, "HOME="+home,
		"GOCACHE="+filepath.Join(home, "cache"), "GOPATH="+filepath.Join(home, "go"), "GOFLAGS=-mod=vendor")
}

// TestAgentBuildAsOtherUser is run by TestAgentBuildsInAnotherUsersRepo.
func TestAgentBuildAsOtherUser(t *testing.T) {
	repo := os.Getenv("BPFSTOR_TEST_REPO")
	if repo == "" {
		t.Skip("run by TestAgentBuildsInAnotherUsersRepo")
	}
	if err := BuildAgent(context.Background(), repo, filepath.Join(os.Getenv("HOME"), "agent")); err != nil {
		t.Fatal(err)
	}
}
