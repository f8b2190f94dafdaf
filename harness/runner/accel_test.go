package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/images/guestimg"
)

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
