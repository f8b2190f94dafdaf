package host

import (
	"bytes"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/internal/testfs"
)

func TestRunChecks(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		wantOK bool
		want   string
	}{
		{"pass", []Check{{Name: "a", Required: true, Run: func() (string, error) { return "found", nil }}}, true, "ok    a"},
		{"required fails", []Check{{Name: "q", Required: true, Fix: "apt-get install q", Run: func() (string, error) { return "", errors.New("q not found") }}}, false, "FAIL  q                      q not found; fix: apt-get install q"},
		{"optional fails", []Check{{Name: "f", Fix: "apt-get install f", Run: func() (string, error) { return "", errors.New("nope") }}}, true, "warn  f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			_, ok := RunChecks(&b, tt.checks)
			if ok != tt.wantOK || !strings.Contains(b.String(), tt.want) {
				t.Errorf("ok=%v out=%q", ok, b.String())
			}
		})
	}
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{"/a/b/c": "/a/b", "/a": "/", "/": "/", "/a/b/": "/a"} {
		if got := parent(in); got != want {
			t.Errorf("parent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFacts(t *testing.T) {
	if CPUModel() == "" || CPUs() < 1 || Kernel() == "" {
		t.Error("empty host facts")
	}
}

func TestBusySeconds(t *testing.T) {
	tests := []struct {
		stat    string
		want    float64
		wantErr string
	}{
		{"cpu  100 20 30 5000 40 1 2 3 0 0\ncpu0 50 10 15 2500 20 1 1 2 0 0\n", 1.53, ""}, // 100+20+30+1+2 ticks: steal (3) is not busy
		{"cpu  0 0 0 10 0 0 0 0 0 0\n", 0, ""},
		{"", 0, "empty"},
		{"cpu0 1 2 3 4 5 6 7 8\n", 0, "not the cpu total"},
		{"cpu  1 2 x 4 5 6 7 8 9\n", 0, "field 3"},
	}
	for _, tt := range tests {
		got, err := busySeconds(tt.stat)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.stat, err, tt.wantErr)
			}
			continue
		}
		if err != nil || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%q: %v, %v; want %v", tt.stat, got, err, tt.want)
		}
	}
}

func TestOtherCPUs(t *testing.T) {
	tests := []struct{ busy, own, wall, want float64 }{
		{10, 10, 5, 0},   // only us
		{12, 10, 4, 0.5}, // others kept half a CPU busy
		{9, 10, 5, 0},    // tick rounding: never below 0
	}
	for _, tt := range tests {
		if got := otherCPUs(tt.busy, tt.own, tt.wall); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("otherCPUs(%v, %v, %v) = %v, want %v", tt.busy, tt.own, tt.wall, got, tt.want)
		}
	}
}

// TestInterferenceSeesABusyProcess: a CPU-bound process that is not ours
// shows up as about one CPU of interference.
func TestInterferenceSeesABusyProcess(t *testing.T) {
	m := StartInterference()
	cmd := exec.Command("sh", "-c", "end=$(($(date +%s)+2)); while [ $(date +%s) -lt $end ]; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	got, ok := m.Stop() // the busy shell is still running: not ours yet
	cmd.Wait()
	if !ok {
		t.Skip("/proc/stat not readable here")
	}
	if got < 0.3 {
		t.Errorf("interference %.2f CPUs while a shell loop ran, want about 1", got)
	}
}

// doctor checks what a run needs as the user who runs it: the cache and
// results directories writable, /dev/kvm openable (not only present).
func TestDoctorChecksAccess(t *testing.T) {
	ro := filepath.Join(testfs.Unwritable(t), "cache")
	ok := t.TempDir()
	var b bytes.Buffer
	var cs []Check
	for _, c := range Checks("/nonexistent.tar.xz", ro, ok, nil) {
		if c.Name == "cache directory" || c.Name == "results directory" || c.Name == "/dev/kvm" {
			cs = append(cs, c)
		}
	}
	if len(cs) != 3 {
		t.Fatalf("doctor has %d of the 3 access checks", len(cs))
	}
	_, pass := RunChecks(&b, cs)
	out := b.String()
	if pass || !strings.Contains(out, "FAIL  cache directory        cache directory "+ro+" is not writable by") {
		t.Errorf("an unwritable cache passed:\n%s", out)
	}
	if !strings.Contains(out, "ok    results directory      "+ok+" writable by") {
		t.Errorf("a writable results directory failed:\n%s", out)
	}
	kvm := KVMUsable()
	if (kvm == nil) != strings.Contains(out, "ok    /dev/kvm") {
		t.Errorf("/dev/kvm check disagrees with opening it (%v):\n%s", kvm, out)
	}
}

// TestCPUTimesSteal: steal is read from its own column of /proc/stat
// (the 8th number), apart from busy time, and its share is over all CPU
// time. The stat lines are Linux's format (proc(5)).
func TestCPUTimesSteal(t *testing.T) {
	a, err := ParseCPUTimes("cpu  100 0 100 700 0 0 0 100 50 0\ncpu0 50 0 50 350 0 0 0 50 25 0\ncpu1 50 0 50 350 0 0 0 50 25 0\nintr 5\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.Steal != 1 || a.Busy != 2 || a.All != 10 || a.CPUs != 2 {
		t.Errorf("parsed %+v, want steal 1 s, busy 2 s, all 10 s, 2 CPUs", a)
	}
	// 2 s more of CPU time, 0.5 s of it stolen: a quarter.
	b, err := ParseCPUTimes("cpu  120 0 110 820 0 0 0 150 60 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := StealShare(a, b); math.Abs(got-0.25) > 1e-9 {
		t.Errorf("StealShare = %v, want 0.25", got)
	}
	if got := StealShare(a, a); got != 0 {
		t.Errorf("StealShare over no time = %v, want 0", got)
	}
	m := NewStealMeter()
	if s, ok := m.Lap(); !ok || s < 0 || s > 1 {
		t.Errorf("Lap = %v, %v on this host", s, ok)
	}
}
