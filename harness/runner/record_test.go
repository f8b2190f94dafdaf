package runner

import (
	"os"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/internal/testfs"
)

// A point that cannot be written to result.json (full disk) makes the run
// partial, says which point, keeps every point in memory, and fails the
// command if even the last write fails; once there is room, the last write
// records them all.
func TestRecorderFullDisk(t *testing.T) {
	dir, filler := testfs.Full(t)
	res := &results.Result{Schema: results.Schema, Name: "full", Status: results.StatusRunning, Expected: 2}
	rec := &recorder{res: res, dir: dir}
	for i, id := range []string{"a", "b"} {
		res.Points = append(res.Points, &results.Point{ID: id, Status: proto.StatusOK})
		if err := rec.write(id); (err != nil) != (i == 0) {
			t.Errorf("write after %s: %v; want the error said once, at the first failure", id, err)
		}
	}
	err := rec.finish("")
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "2 point(s)") {
		t.Fatalf("finish on a full disk: %v, want an error naming the points and ENOSPC", err)
	}
	if res.Status != results.StatusPartial || !strings.Contains(res.Reason, "point a could not be recorded") {
		t.Errorf("status %s (%s), want partial naming point a", res.Status, res.Reason)
	}
	if len(res.Points) != 2 {
		t.Errorf("%d points kept, want 2", len(res.Points))
	}
	os.Remove(filler)
	if err := rec.finish(""); err != nil {
		t.Fatal(err)
	}
	got, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != results.StatusPartial || len(got.Points) != 2 {
		t.Errorf("on disk: %s with %d points, want partial with 2", got.Status, len(got.Points))
	}
}
