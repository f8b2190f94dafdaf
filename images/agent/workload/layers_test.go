package workload

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/harness/proto"
)

func TestSegStatsAdd(t *testing.T) {
	tests := []struct {
		ns     uint64
		bucket int
	}{
		{0, 0}, {1, 0}, {2, 1}, {3, 1}, {1023, 9}, {1024, 10}, {90_000, 16}, {1 << 45, log2Buckets - 1},
	}
	for _, tt := range tests {
		var s segStats
		s.add(tt.ns)
		if s.Count != 1 || s.SumNs != tt.ns || s.Log2[tt.bucket] != 1 {
			t.Errorf("add(%d): count %d sum %d, bucket %d = %d, want 1", tt.ns, s.Count, s.SumNs, tt.bucket, s.Log2[tt.bucket])
		}
	}
	var s segStats
	for _, d := range []uint64{1000, 3000} {
		s.add(d)
	}
	got := s.segment(proto.SegBlock)
	want := proto.LayerSegment{Name: proto.SegBlock, MeanNs: 2000, Count: 2, Log2: []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("segment = %+v, want %+v", got, want)
	}
	if e := (&segStats{}).segment(proto.SegFile); e.MeanNs != 0 || e.Count != 0 || e.Log2 != nil {
		t.Errorf("empty segment = %+v", e)
	}
}

func TestCrossings(t *testing.T) {
	tests := []struct {
		name        string
		seq         uint64
		last        layerLast
		in, out     uint64 // crossing times when counted
		counted     bool
		stale, skew int64
	}{
		{"kept", 7, layerLast{Seq: 7, Kept: 1, EnterNs: 1300, ExitNs: 8500}, 300, 500, true, 0, 0},
		{"same instant", 7, layerLast{Seq: 7, Kept: 1, EnterNs: 1000, ExitNs: 9000}, 0, 0, true, 0, 0},
		{"entry not seen", 8, layerLast{Seq: 7, Kept: 1, EnterNs: 1300, ExitNs: 8500}, 0, 0, false, 1, 0},
		{"discarded by the probes", 7, layerLast{Seq: 7, EnterNs: 1300, ExitNs: 8500}, 0, 0, false, 0, 0},
		{"entry before user space", 7, layerLast{Seq: 7, Kept: 1, EnterNs: 900, ExitNs: 8500}, 0, 0, false, 0, 1},
		{"exit after user space", 7, layerLast{Seq: 7, Kept: 1, EnterNs: 1300, ExitNs: 9100}, 0, 0, false, 0, 1},
	}
	for _, tt := range tests {
		var c crossings
		c.add(tt.seq, 1000, 9000, tt.last) // user space: 1000 → 9000 ns
		if got := c.in.Count == 1 && c.out.Count == 1; got != tt.counted || c.in.SumNs != tt.in || c.out.SumNs != tt.out {
			t.Errorf("%s: in %+v out %+v", tt.name, c.in.segment("in"), c.out.segment("out"))
		}
		if c.stale != tt.stale || c.skew != tt.skew {
			t.Errorf("%s: stale %d skew %d, want %d %d", tt.name, c.stale, c.skew, tt.stale, tt.skew)
		}
	}
}

func TestLayerRunLayers(t *testing.T) {
	var r layerRun
	// 10 reads: 8 kept by the probes and user space, 1 discarded by the
	// probes (its nvme_irq missing), 1 whose entry was not seen.
	for i := uint64(1); i <= 10; i++ {
		u0 := int64(i * 1_000_000)
		last := layerLast{Seq: i, Kept: 1, EnterNs: uint64(u0 + 2000), ExitNs: uint64(u0 + 96_000)}
		switch i {
		case 9:
			last.Kept = 0
		case 10:
			last.Seq = 9
		}
		r.cross.add(i, u0, u0+100_000, last)
		r.reads++
		r.sumNs += 100_000
	}
	for i := range r.kernel {
		for range 8 {
			r.kernel[i].add(uint64(1000 * (i + 1)))
		}
	}
	r.counts = layerCounts{Reads: 9, Kept: 8, Discarded: 1}
	r.counts.Missing[5] = 1
	l := r.layers(80_000)
	var names []string
	for _, s := range l.Segments {
		names = append(names, s.Name)
		if s.Count != 8 {
			t.Errorf("%s: count %d, want 8", s.Name, s.Count)
		}
	}
	want := []string{proto.SegCrossIn, proto.SegSyscall, proto.SegFile, proto.SegBlock, proto.SegDriver,
		proto.SegDeviceIRQ, proto.SegIRQ, proto.SegWake, proto.SegCrossOut}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("segments %v, want %v", names, want)
	}
	if l.Segments[0].MeanNs != 2000 || l.Segments[8].MeanNs != 4000 || l.Segments[3].MeanNs != 3000 {
		t.Errorf("means: in %v block %v out %v", l.Segments[0].MeanNs, l.Segments[3].MeanNs, l.Segments[8].MeanNs)
	}
	if l.Reads != 10 || l.Discarded != 2 || l.TracedMeanNs != 100_000 || l.UntracedMeanNs != 80_000 || l.OverheadNs != 20_000 {
		t.Errorf("layers %+v", l)
	}
	if !reflect.DeepEqual(l.Missing, map[string]int64{"nvme_irq": 1, noRecord: 1}) || l.Disorder != nil {
		t.Errorf("missing %v disorder %v", l.Missing, l.Disorder)
	}
}

// TestLayersObject checks the generated layer-trace object (bpf/objs,
// bpf/progs/layers.c): one kprobe per probe point, and globals and map
// values of the sizes user space reads and writes.
func TestLayersObject(t *testing.T) {
	spec, err := objs.LoadLayers()
	if err != nil {
		t.Fatal(err)
	}
	var sections []string
	for name, ps := range spec.Programs {
		if ps.Type != ebpf.Kprobe {
			t.Errorf("%s: type %v, want a kprobe", name, ps.Type)
		}
		sections = append(sections, ps.SectionName)
	}
	sort.Strings(sections)
	want := []string{ // the functions of pointNames, both driver entries
		"kprobe/__x64_sys_pread64", "kprobe/blkdev_read_iter", "kprobe/nvme_irq", "kprobe/nvme_queue_rq", "kprobe/nvme_queue_rqs",
		"kprobe/submit_bio", "kprobe/submit_bio_wait_endio",
		"kretprobe/__x64_sys_pread64", "kretprobe/nvme_queue_rq", "kretprobe/nvme_queue_rqs",
	}
	if !slices.Equal(sections, want) {
		t.Errorf("probes %v, want %v", sections, want)
	}
	sizes := map[string]uintptr{
		"target_tgid": 4, "target_pid": 4, "req": unsafe.Sizeof(layerReq{}),
		"last": unsafe.Sizeof(layerLast{}), "counts": unsafe.Sizeof(layerCounts{}),
	}
	for name, size := range sizes {
		v := spec.Variables[name]
		if v == nil || uintptr(v.Size()) != size {
			t.Errorf("variable %s: %v, want %d bytes", name, v, size)
		}
	}
	m := spec.Maps["layer_stats"]
	if m == nil || m.MaxEntries != uint32(len(kernelSegments)) || uintptr(m.ValueSize) != unsafe.Sizeof(segStats{}) {
		t.Errorf("layer_stats %v, want %d entries of %d bytes", m, len(kernelSegments), unsafe.Sizeof(segStats{}))
	}
}

// nanotime is CLOCK_MONOTONIC itself (not relative to the process's
// start), so the probes' bpf_ktime_get_ns() times can be compared with it.
func TestNanotime(t *testing.T) {
	var c0, c1 unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &c0); err != nil {
		t.Fatal(err)
	}
	n := nanotime()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &c1); err != nil {
		t.Fatal(err)
	}
	if n < c0.Nano() || n > c1.Nano() {
		t.Errorf("nanotime %d outside CLOCK_MONOTONIC [%d, %d]", n, c0.Nano(), c1.Nano())
	}
}

// The traced reads and the prime read the blocks runPread's thread 0 reads
// (both take them from rawDevice.draws): a fixed sequence per seed,
// repetition and thread.
func TestDraws(t *testing.T) {
	d := &rawDevice{bs: 4096, nblk: 1000}
	next := d.draws(7, 2, 0)
	rng := rand.New(rand.NewPCG(7, uint64(2)<<16|uint64(0)))
	for i := range 100 {
		if got, want := next(), int64(rng.Uint64N(1000))*4096; got != want {
			t.Fatalf("draw %d: %d, want %d", i, got, want)
		}
	}
}
