package report

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/stats"
)

// go test ./harness/report/ -run TestFixtures -update rewrites testdata/.
var update = flag.Bool("update", false, "rewrite the recorded runs in testdata/")

// synth makes one ok point whose latencies are lognormal around mean.
func synth(rng *rand.Rand, id string, rep int, w proto.Workload, mean time.Duration, n int) *results.Point {
	h := hist.New()
	var sum time.Duration
	for i := 0; i < n; i++ {
		v := time.Duration(float64(mean) * math.Exp(0.15*rng.NormFloat64()-0.0113))
		if rng.IntN(100) == 0 { // a tail
			v *= 3
		}
		v = v.Round(100 * time.Nanosecond)
		h.Record(v)
		sum += v
	}
	s := h.Summarize()
	// A real point's clock also holds what runs between operations (the
	// loop, the next draw): synthGap per operation, the same in every
	// mode, so that IOPS ratios differ from latency ratios and a report
	// that took one for the other fails its tests.
	elapsed := sum + time.Duration(n)*synthGap
	return &results.Point{ID: id, Rep: rep, Workload: w, Status: proto.StatusOK, Ops: int64(n), Checked: int64(n),
		ElapsedNs: int64(elapsed), IOPS: float64(n) / elapsed.Seconds(), Latency: h, Summary: &s,
		ClocksourceBefore: "tsc", ClocksourceAfter: "tsc"}
}

// synthGap is the time between two operations of a synthetic point.
const synthGap = 4 * time.Microsecond

func meta(accel string) results.Meta {
	t := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return results.Meta{
		Spec: "experiments/depth.toml", SpecSHA256: "5e2c0d1f00aa",
		KernelRelease: "6.12.57-bpfstor", KernelVersion: "#1 SMP PREEMPT_DYNAMIC", KernelKey: "k3y0123456789abcdef",
		KernelVariant: "chain", PatchSeriesHash: "p47c4e5e71e5abcdef", Patches: []string{"0001-chain.patch", "0002-nvme.patch"},
		FragmentHash: "f7a9000000", ConfigHash: "c0ff1900000000",
		QEMUVersion: "QEMU emulator version 7.2.19", Accel: accel,
		GuestCPUs: 2, GuestMemKB: 1 << 20, GuestClocksource: "tsc",
		DataKind: "btree", DataImage: "/cache/data-1234.img", DataSeed: 7,
		HostName: "box", HostKernel: "6.1.0-40-amd64", HostCPU: "Intel(R) Xeon(R) CPU @ 2.20GHz", HostCPUs: 2,
		HostLoadStart: [3]float64{0.12, 0.2, 0.3}, HostLoadEnd: [3]float64{0.9, 0.4, 0.3},
		Seed: 1, Repetitions: 3, BpfstorRev: "test", Started: t, Finished: t.Add(95 * time.Second),
	}
}

// chainRun is a run of chain lookups at depths 1..maxDepth in the three
// dispatch modes plus the pread/fio fidelity pair, reps repetitions
// interleaved; the in-kernel modes are faster per hop, as in the papers.
func chainRun(maxDepth, reps, samples int) *results.Result {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &results.Result{Schema: results.Schema, Name: "depth", Meta: meta("kvm")}
	perHop := map[string]float64{"pread": 12, "syscall": 10.2, "driver": 5.5}
	for rep := 0; rep < reps; rep++ {
		drift := 1 + 0.03*rng.NormFloat64()
		for _, bs := range []string{proto.KindPread, proto.KindFio} {
			w := proto.Workload{Kind: bs, BlockSize: 512, Ops: samples}
			p := synth(rng, fmt.Sprintf("%s/rep%d", bs, rep), rep, w, time.Duration(11.8e3*drift), samples)
			if bs == proto.KindFio {
				p.Latency = nil
				*p.Summary = hist.Summary{Count: p.Summary.Count, MinNs: p.Summary.MinNs, MeanNs: p.Summary.MeanNs * 1.02,
					P50Ns: p.Summary.P50Ns * 102 / 100, P90Ns: p.Summary.P90Ns, P99Ns: p.Summary.P99Ns, P999Ns: p.Summary.P999Ns, MaxNs: p.Summary.MaxNs}
			}
			r.Points = append(r.Points, p)
		}
		for d := 1; d <= maxDepth; d++ {
			for _, mode := range []string{"pread", "syscall", "driver"} {
				w := proto.Workload{Kind: "chain", BlockSize: 512, Depth: d, Mode: mode, Ops: samples}
				mean := (12 + float64(d-1)*perHop[mode]) * 1e3 * drift
				r.Points = append(r.Points, synth(rng, fmt.Sprintf("chain/d%d/%s/rep%d", d, mode, rep), rep, w, time.Duration(mean), samples))
			}
		}
	}
	r.Expected = len(r.Points)
	r.Meta.Repetitions = reps
	r.Finish("")
	r.Meta.Finished = r.Meta.Started.Add(95 * time.Second)
	return r
}

// partialRun is a TCG run that stopped early: one failed point, a
// clocksource change, an in-guest test point and missing points.
func partialRun() *results.Result {
	rng := rand.New(rand.NewPCG(3, 4))
	r := &results.Result{Schema: results.Schema, Name: "baseline", Meta: meta("tcg")}
	r.Meta.AccelNote = "no /dev/kvm: TCG software emulation"
	r.Meta.Spec = "experiments/baseline.toml"
	for rep := 0; rep < 2; rep++ {
		r.Points = append(r.Points,
			synth(rng, fmt.Sprintf("pread/rep%d", rep), rep, proto.Workload{Kind: proto.KindPread, BlockSize: 4096, Ops: 500}, 180*time.Microsecond, 500))
		f := synth(rng, fmt.Sprintf("fio/rep%d", rep), rep, proto.Workload{Kind: proto.KindFio, BlockSize: 4096, Ops: 500}, 170*time.Microsecond, 500)
		f.Latency = nil
		r.Points = append(r.Points, f)
	}
	r.Points[2].ClocksourceAfter = "hpet"
	r.Points = append(r.Points,
		&results.Point{ID: "ktest/rep0", Workload: proto.Workload{Kind: proto.KindKTest}, Status: proto.StatusOK,
			Tests:             []proto.TestResult{{Name: "chain_bounds", Pass: true}, {Name: "chain_isolation", Pass: false, Message: "offset escaped the file"}, {Name: "uring", Skip: true}},
			ClocksourceBefore: "tsc", ClocksourceAfter: "tsc"},
		&results.Point{ID: "pread/rep2", Rep: 2, Workload: proto.Workload{Kind: proto.KindPread, BlockSize: 4096, Ops: 500}, Status: proto.StatusFailed,
			Error: "pread /dev/nvme0n1: input/output error (guest dmesg: nvme0: I/O 12 QID 1 timeout)", ClocksourceBefore: "tsc", ClocksourceAfter: "tsc"})
	r.Expected = 8
	r.Finish("guest kernel crashed (see console.log)")
	r.Meta.Finished = r.Meta.Started.Add(40 * time.Second)
	return r
}

// withBTree gives a point the BTree section the guest's btree workload reports.
func withBTree(p *results.Point, depth int) *results.Point {
	p.BTree = &proto.BTree{Depth: depth, Keys: 30000, Fanout: 31, Dist: p.Workload.Dist, Threads: max(p.Workload.Threads, 1)}
	return p
}

// btreeRun is a run of depth-3 B+-tree workloads: every repetition
// measures each of ws in order (interleaved) with mean latency lat(w) in
// ns; a workload with threads or an io_uring batch keeps that many
// lookups in flight, which sets its IOPS.
func btreeRun(name string, seed uint64, reps, samples int, ws []proto.Workload, lat func(proto.Workload) float64) *results.Result {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	r := &results.Result{Schema: results.Schema, Name: name, Meta: meta("kvm")}
	for rep := 0; rep < reps; rep++ {
		for i, w := range ws {
			w.Ops = samples
			l := lat(w)
			p := synth(rng, fmt.Sprintf("btree-%d/rep%d", i, rep), rep, w, time.Duration(l), samples)
			if inFlight := max(w.Threads, 1) * max(w.Batch, 1); inFlight > 1 {
				p.IOPS = float64(inFlight) / l * 1e9
			}
			r.Points = append(r.Points, withBTree(p, 3))
		}
	}
	r.Expected = len(r.Points)
	r.Finish("")
	return r
}

// lookups are B+-tree point lookups (uniform keys, one thread) in modes,
// each changed by set.
func lookups(set func(*proto.Workload), modes ...string) []proto.Workload {
	var ws []proto.Workload
	for _, m := range modes {
		w := proto.Workload{Kind: proto.KindBTree, Mode: m, Dist: "uniform", Threads: 1}
		if set != nil {
			set(&w)
		}
		ws = append(ws, w)
	}
	return ws
}

var syncModes = []string{"pread", "syscall", "driver"}

var modeLat = map[string]float64{"pread": 36e3, "syscall": 32e3, "driver": 21e3}

// uringRun is the uring experiment: depth-3 B+-tree lookups in the three
// sync modes (one lookup at a time) and in mode uring at batch sizes 1..64.
func uringRun() *results.Result {
	ws := lookups(nil, syncModes...)
	for _, b := range []int{1, 2, 4, 8, 16, 32, 64} {
		ws = append(ws, lookups(func(w *proto.Workload) { w.Batch = b }, "uring")...)
	}
	return btreeRun("uring", 5, 3, 500, ws, func(w proto.Workload) float64 {
		if w.Mode == "uring" { // per-lookup latency grows with the batch, IOPS saturates
			return 37e3 * (1 + float64(w.Batch)/8)
		}
		return modeLat[w.Mode]
	})
}

var fixtures = map[string]func() *results.Result{
	"chain":   func() *results.Result { return chainRun(3, 3, 400) },
	"partial": partialRun,
}

// TestFixtures checks the recorded runs in testdata/ read back (and
// rewrites them with -update).
func TestFixtures(t *testing.T) {
	for name, mk := range fixtures {
		dir := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := mk().Write(dir); err != nil {
				t.Fatal(err)
			}
		}
		r, err := results.Read(dir)
		if err != nil {
			t.Fatalf("%v (run go test ./harness/report/ -run TestFixtures -update)", err)
		}
		// The recorded run is what its generator makes today: every point's
		// identity, status, counts, IOPS and summary (histograms are in the
		// summaries). A generator changed without -update fails here.
		want := mk()
		if len(r.Points) != len(want.Points) || r.Status != want.Status {
			t.Fatalf("%s: %d points (%s), the generator makes %d (%s): run with -update", name, len(r.Points), r.Status, len(want.Points), want.Status)
		}
		for i, p := range r.Points {
			w := want.Points[i]
			same := p.ID == w.ID && p.Status == w.Status && p.Ops == w.Ops && p.Checked == w.Checked &&
				math.Abs(p.IOPS-w.IOPS) <= 1e-9*w.IOPS && (p.Summary == nil) == (w.Summary == nil) &&
				(p.Summary == nil || *p.Summary == *w.Summary)
			if !same {
				t.Errorf("%s: point %d (%s) differs from the generator's (%s): run with -update", name, i, p.ID, w.ID)
			}
		}
	}
}

// TestSpeedupIsIOPS: the IOPS speedup is the ratio of IOPS and the latency
// ratio that of mean latencies; the fixtures keep them apart (synthGap),
// so a report that used one for the other would show it.
func TestSpeedupIsIOPS(t *testing.T) {
	r := fixture(t, "chain")
	byMode := map[string]Group{}
	for _, g := range Groups(r) {
		if g.Points[0].Workload.Depth == 3 {
			byMode[g.Points[0].Workload.Mode] = g
		}
	}
	drv, base := byMode["driver"], byMode["pread"]
	if len(drv.Points) == 0 || len(base.Points) == 0 {
		t.Fatal("no depth-3 driver and pread groups in the chain fixture")
	}
	var iops, lat []float64
	for i := range drv.Points {
		iops = append(iops, drv.Points[i].IOPS/base.Points[i].IOPS)
		lat = append(lat, base.Points[i].Summary.MeanNs/drv.Points[i].Summary.MeanNs)
	}
	sp, lr := Speedup(drv, base), LatencyRatio(drv, base)
	if math.Abs(sp.Median-stats.Median(iops)) > 1e-9 || math.Abs(lr.Median-stats.Median(lat)) > 1e-9 {
		t.Errorf("speedup %.4f (IOPS ratios say %.4f), latency ratio %.4f (latencies say %.4f)", sp.Median, stats.Median(iops), lr.Median, stats.Median(lat))
	}
	if math.Abs(sp.Median-lr.Median) < 0.01 {
		t.Errorf("IOPS speedup %.4f and latency ratio %.4f agree: the fixture cannot tell them apart", sp.Median, lr.Median)
	}
}

// fixture reads a recorded run.
func fixture(t testing.TB, name string) *results.Result {
	t.Helper()
	r, err := results.Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
