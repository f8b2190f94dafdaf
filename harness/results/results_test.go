package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/internal/testfs"
)

func pt(status string) *Point { return &Point{ID: "p", Status: status} }

func TestFinish(t *testing.T) {
	tests := []struct {
		name     string
		points   []*Point
		expected int
		reason   string
		want     string
	}{
		{"all ok", []*Point{pt("ok"), pt("ok")}, 2, "", StatusOK},
		{"one failed", []*Point{pt("ok"), pt("failed")}, 2, "", StatusPartial},
		{"missing", []*Point{pt("ok")}, 2, "", StatusPartial},
		{"crash after points", []*Point{pt("ok"), pt("ok")}, 2, "kernel crash", StatusPartial},
		{"nothing", nil, 2, "boot timeout", StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Points: tt.points, Expected: tt.expected}
			r.Finish(tt.reason)
			if r.Status != tt.want {
				t.Errorf("status %s, want %s", r.Status, tt.want)
			}
			if r.Status != StatusOK && r.Reason == "" {
				t.Error("a non-ok result has no reason")
			}
		})
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	h := hist.New()
	h.Record(150 * time.Microsecond)
	s := h.Summarize()
	r := &Result{Schema: Schema, Name: "x", Expected: 1, Points: []*Point{{ID: "a", Status: "ok", Latency: h, Summary: &s}}}
	r.Meta.Accel = "tcg"
	r.Finish("")
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Accel != "tcg" || got.Points[0].Latency.Count() != 1 || got.Status != StatusOK {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("Read(empty dir) err = %v", err)
	}
}

func TestNewRunDir(t *testing.T) {
	root := t.TempDir() + "/results"
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a, err := NewRunDir(root, "baseline", now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRunDir(root, "baseline", now)
	if !strings.HasSuffix(a, "20261125-100000-baseline") || a == b {
		t.Errorf("dirs %s %s", a, b)
	}
}

// A results directory that cannot be made ends NewRunDir at once with the
// path and the errno (it used to retry forever at 100 % CPU).
func TestNewRunDirFaults(t *testing.T) {
	tests := []struct {
		name string
		root func(t *testing.T) string
		want string
	}{
		{"read-only", func(t *testing.T) string { return testfs.Unwritable(t) }, "results: mkdir "},
		{"root is a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o644)
			return p
		}, "not a directory"},
		{"under a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o644)
			return filepath.Join(p, "results")
		}, "not a directory"},
		{"out of inodes", func(t *testing.T) string {
			dir := testfs.Mount(t, "size=1m,nr_inodes=2")
			os.WriteFile(filepath.Join(dir, "last-inode"), nil, 0o644)
			return dir
		}, "no space left on device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.root(t)
			done := make(chan error, 1)
			go func() {
				_, err := NewRunDir(root, "baseline", time.Now())
				done <- err
			}()
			select {
			case err := <-done:
				path := root
				if tt.name == "under a file" {
					path = filepath.Dir(root) // the file in the way
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and %q", err, path, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("NewRunDir did not return in 5 s (retry loop)")
			}
		})
	}
}
