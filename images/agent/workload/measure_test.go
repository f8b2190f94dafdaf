package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/images/pattern"
)

// patternFile writes a pattern data image of nblocks blocks to a file: the
// workloads read it as they read the guest's NVMe device (O_DIRECT).
func patternFile(t *testing.T, nblocks, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pattern.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pattern.Write(f, nblocks, seed); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// btreeFile writes a B+-tree data image to a file.
func btreeFile(t *testing.T, p btree.Params) string {
	t.Helper()
	img, _ := memImage(t, p)
	path := filepath.Join(t.TempDir(), "tree.img")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// missing skips a test whose host lacks what it needs, except under make
// test (BPFSTOR_E2E=1), which installs everything: there a test that
// skips would pass without testing anything, so it fails.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("BPFSTOR_E2E") == "1" {
		t.Fatalf(format+" (make test installs it: this must not be skipped)", args...)
	}
	t.Skipf(format, args...)
}

// uringWorks says whether this host has io_uring.
func uringWorks(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rio, err := newRingIO(int(f.Fd()), 1)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	rio.close()
	return true
}

// TestAnswerChecksOutsideIOPSClock runs each user-space workload for real
// on an image file with every answer check made slow (checkDelay): the
// throughput clock must not see it, so IOPS stays what the I/O gives,
// where a check inside the clock adds ops × checkDelay to it.
func TestAnswerChecksOutsideIOPSClock(t *testing.T) {
	pat := patternFile(t, 4096, 7)
	tree := btreeFile(t, btree.Params{Keys: 5000, Fanout: 31, Seed: 3})
	const ops = 40
	tests := []struct {
		name  string
		dev   string
		w     proto.Workload
		uring bool
	}{
		{"pread", pat, proto.Workload{Kind: proto.KindPread, BlockSize: 512, Ops: ops, Warmup: 4, Threads: 1}, false},
		{"pread threads", pat, proto.Workload{Kind: proto.KindPread, BlockSize: 512, Ops: ops, Warmup: 4, Threads: 2}, false},
		{"chain", pat, proto.Workload{Kind: proto.KindChain, BlockSize: 512, Ops: ops, Warmup: 4, Depth: 4, Mode: ModePread}, false},
		{"btree lookup", tree, proto.Workload{Kind: proto.KindBTree, Ops: ops, Warmup: 4, Threads: 1, Mode: ModePread}, false},
		{"btree range", tree, proto.Workload{Kind: proto.KindBTree, Ops: ops, Warmup: 4, Threads: 1, Mode: ModePread, Op: OpRange, Span: 20}, false},
		{"btree sum", tree, proto.Workload{Kind: proto.KindBTree, Ops: ops, Warmup: 4, Threads: 2, Mode: ModePread, Op: OpSum, Span: 40}, false},
		{"btree uring", tree, proto.Workload{Kind: proto.KindBTree, Ops: ops, Warmup: 4, Threads: 1, Mode: ModeURing, Batch: 4}, true},
	}
	const delay = 5 * time.Millisecond
	checkDelay = delay
	defer func() { checkDelay = 0 }()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.uring && !uringWorks(t, tt.dev) {
				missing(t, "io_uring is not available on this host")
			}
			env := &Env{Job: &proto.Job{Device: tt.dev, Seed: 7}, Logf: t.Logf}
			if tt.dev == tree {
				env.Job.Seed = 3
			}
			p := RunPoint(env, proto.PointSpec{ID: tt.name, Workload: tt.w})
			if p.Status != proto.StatusOK || p.Checked != ops || p.Wrong != 0 {
				t.Fatalf("status %s (%s), %d checked, %d wrong", p.Status, p.Error, p.Checked, p.Wrong)
			}
			checks := time.Duration(ops) * delay / time.Duration(max(tt.w.Threads, 1))
			if el := time.Duration(p.ElapsedNs); el >= checks {
				t.Errorf("measured window %v holds the answer checks (%v of them)", el, checks)
			}
			if min := float64(ops) / checks.Seconds(); p.IOPS <= min {
				t.Errorf("IOPS %.0f: no more than checking alone allows (%.0f)", p.IOPS, min)
			}
		})
	}
}

// TestMeasuredOpsAllocateNothing: a measured operation of every user-space
// workload allocates nothing (a GC there would stop every thread while one
// blocks in a RawSyscall holding its P).
func TestMeasuredOpsAllocateNothing(t *testing.T) {
	const n = 60
	pat := patternFile(t, 1024, 5)
	d, err := openRaw(pat, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer d.f.Close()
	tree := btreeFile(t, btree.Params{Keys: 3000, Fanout: 31, Seed: 4})
	j, err := openBTreeJob(&Env{Job: &proto.Job{Device: tree, Seed: 4}}, proto.PointSpec{Workload: proto.Workload{Kind: proto.KindBTree, Ops: n, Mode: ModePread, Span: 30}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	prefix := prefixSums(j.Keys)

	tests := []struct {
		name string
		op   func(t *testing.T, o *tally) (opFunc, func())
	}{
		{"pread", func(t *testing.T, o *tally) (opFunc, func()) {
			th, err := newPreadThread(d, o, 5, 0, 0, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			return th.op, th.close
		}},
		{"chain", func(t *testing.T, o *tally) (opFunc, func()) {
			ch, err := newChainThread(d.fd, 512, d.nblk, 6, 0, nil, rand.New(rand.NewPCG(1, 2)), o, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			return ch.op, ch.close
		}},
		{"btree lookup", func(t *testing.T, o *tally) (opFunc, func()) {
			th, err := newLookupThread(j, nil, 0, o, 0, n, j.drawer(0))
			if err != nil {
				t.Fatal(err)
			}
			return th.op, th.close
		}},
		{"btree range", func(t *testing.T, o *tally) (opFunc, func()) {
			th, err := newRangeThread(j, nil, 0, btreeScanCollect, btreeScanSize, o, 0, n, j.rng(0), prefix)
			if err != nil {
				t.Fatal(err)
			}
			return th.op, th.close
		}},
		{"btree sum", func(t *testing.T, o *tally) (opFunc, func()) {
			th, err := newRangeThread(j, nil, 0, btreeScanSum, btreeScanHdr, o, 0, n, j.rng(0), prefix)
			if err != nil {
				t.Fatal(err)
			}
			return th.op, th.close
		}},
		{"btree uring", func(t *testing.T, o *tally) (opFunc, func()) {
			if !uringWorks(t, tree) {
				missing(t, "io_uring is not available on this host")
			}
			uj := *j
			uj.W.Batch = 4
			th, err := newURingThread(&uj, 0, 0, o, 0, n, j.drawer(0))
			if err != nil {
				t.Fatal(err)
			}
			return th.op, th.close
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o tally
			op, done := tt.op(t, &o)
			defer done()
			i := 0
			var err error
			allocs := testing.AllocsPerRun(n-1, func() {
				if e := op(i); e != nil && err == nil {
					err = fmt.Errorf("op %d: %w", i, e)
				}
				i++
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per measured operation, want 0", allocs)
			}
		})
	}
}
