package workload

import (
	"fmt"
	"slices"
	"testing"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/btree"
)

// TestRunSeedDrives every draw: the same run seed draws the same blocks,
// chain starts, keys and queries; another run seed draws others. The image
// seed (Job.Seed) stays what the answers are checked against.
func TestRunSeedDrawsEverything(t *testing.T) {
	const n = 50
	pat := patternFile(t, 1<<14, 1)
	d, err := openRaw(pat, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer d.f.Close()
	tree := btreeFile(t, btree.Params{Keys: 20000, Fanout: 31, Seed: 2})
	job := func(runSeed int64, dist string) *btreeJob {
		j, err := openBTreeJob(&Env{Job: &proto.Job{Device: tree, Seed: 2, RunSeed: runSeed}},
			proto.PointSpec{Workload: proto.Workload{Kind: proto.KindBTree, Ops: n, Mode: ModePread, Dist: dist, Span: 8}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(j.Close)
		return j
	}
	draws := map[string]func(runSeed int64) string{
		"pread offsets": func(s int64) string {
			th, err := newPreadThread(d, &tally{}, uint64(s), 0, 0, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			defer th.close()
			return fmt.Sprint(th.offs)
		},
		"chain starts": func(s int64) string {
			ch, err := newChainThread(d.fd, 512, d.nblk, 3, 0, nil, drawRNG(uint64(s), 0, 1<<15|3), &tally{}, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			defer ch.close()
			return fmt.Sprint(ch.slots)
		},
		"uniform keys": func(s int64) string { return lookupKeys(t, job(s, "uniform"), n) },
		"zipf keys":    func(s int64) string { return lookupKeys(t, job(s, "zipf"), n) },
		"absent keys":  func(s int64) string { return fmt.Sprint(job(s, "").Absent) },
		"range queries": func(s int64) string {
			j := job(s, "")
			th, err := newRangeThread(j, nil, 0, btreeScanSum, btreeScanHdr, &tally{}, 0, n, j.rng(0), prefixSums(j.Keys))
			if err != nil {
				t.Fatal(err)
			}
			defer th.close()
			var qs []btreeScanQuery
			for _, s := range th.slots {
				qs = append(qs, s.q.Q)
			}
			return fmt.Sprint(qs)
		},
		"scan check queries": func(s int64) string {
			j := job(s, "")
			return fmt.Sprint(btreeScanQueries(drawRNG(j.Seed, j.Rep, 0xffff), j.Keys, j.SB.ImageSize(), n))
		},
	}
	names := make([]string, 0, len(draws))
	for k := range draws {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		draw := draws[name]
		t.Run(name, func(t *testing.T) {
			a, again, b := draw(1), draw(1), draw(2)
			if a != again {
				t.Errorf("run seed 1 drew differently twice")
			}
			if a == b {
				t.Errorf("run seeds 1 and 2 drew the same: %.80s", a)
			}
		})
	}
}

// lookupKeys is the keys a lookup thread of j measures.
func lookupKeys(t *testing.T, j *btreeJob, n int) string {
	th, err := newLookupThread(j, nil, 0, &tally{}, 0, n, j.drawer(0))
	if err != nil {
		t.Fatal(err)
	}
	defer th.close()
	return fmt.Sprint(th.slots)
}
