package workload

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sort"
	"strings"
	_ "unsafe" // go:linkname

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/pattern"
)

// nanotime is the Go runtime's monotonic clock: CLOCK_MONOTONIC read
// through the vDSO (runtime·nanotime1, runtime/sys_linux_amd64.s), which
// is the clock bpf_ktime_get_ns() reads in the kernel
// (ktime_get_mono_fast_ns(): both are tk_core's tkr_mono, the vDSO through
// the copy update_vsyscall() keeps). time.Now reads the same clock but
// keeps it relative to the process's start, so the absolute times the
// probes' timestamps are compared with come from here; the runtime keeps
// this linkname for such uses (go.dev/issue/67401).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Mirrors of bpf/progs/layers.c.
const (
	nrPoints    = 8  // enum layer_point
	log2Buckets = 40 // LOG2_BUCKETS
)

// pointNames are enum layer_point's probe points, by index.
var pointNames = [nrPoints]string{
	"__x64_sys_pread64", "blkdev_read_iter", "submit_bio", "nvme_queue_rq(s)",
	"nvme_queue_rq(s) return", "nvme_irq", "submit_bio_wait_endio", "__x64_sys_pread64 return",
}

// kernelSegments name layer_stats' entries: segment i runs from point i to
// point i+1.
var kernelSegments = [nrPoints - 1]string{
	proto.SegSyscall, proto.SegFile, proto.SegBlock, proto.SegDriver,
	proto.SegDeviceIRQ, proto.SegIRQ, proto.SegWake,
}

// segStats is struct segment_stats (generated): one segment's sum, count
// and log2 histogram of durations in ns (SumNs, Count, Log2).
type segStats objs.LayersSegmentStats

// add records one duration of d ns (d >= 0), as finish() in layers.c does.
func (s *segStats) add(d uint64) {
	b := max(bits.Len64(d)-1, 0)
	s.SumNs += d
	s.Count++
	s.Log2[min(b, log2Buckets-1)]++
}

// segment is s as the named segment of proto.Layers.
func (s *segStats) segment(name string) proto.LayerSegment {
	seg := proto.LayerSegment{Name: name, Count: int64(s.Count)}
	if s.Count > 0 {
		seg.MeanNs = float64(s.SumNs) / float64(s.Count)
	}
	n := len(s.Log2)
	for n > 0 && s.Log2[n-1] == 0 {
		n--
	}
	for _, c := range s.Log2[:n] {
		seg.Log2 = append(seg.Log2, int64(c))
	}
	return seg
}

// layerReq is struct layer_req: written before each read.
type layerReq = objs.LayersLayerReq

// layerLast is struct layer_last: the probes' record of the last read.
type layerLast = objs.LayersLayerLast

// layerCounts is struct layer_counts (Missing and Disorder have nrPoints
// entries).
type layerCounts = objs.LayersLayerCounts

// The generated arrays have the lengths this file indexes them with.
var (
	_ = [log2Buckets]uint64(segStats{}.Log2)
	_ = [nrPoints]uint64(layerCounts{}.Missing)
)

// crossings times the two user/kernel crossings of the traced reads: from
// user space's clock before the syscall to the probes' syscall entry, and
// from their syscall exit to user space's clock after it.
type crossings struct {
	in, out segStats
	// stale counts reads the probes published no record of (their
	// syscall entry or return was not seen); skew those with a crossing
	// below zero (the two clocks disagree: never seen, but not averaged
	// in).
	stale, skew int64
}

// Names of the reads user space discards, in proto.Layers.Missing and
// Disorder.
const (
	noRecord  = "__x64_sys_pread64 entry or return"
	clockSkew = "user-space clock"
)

// add takes one read with sequence number seq, timed from u0 to u1 ns in
// user space, and the record the probes published after it. A read the
// probes discarded is counted by them.
func (c *crossings) add(seq uint64, u0, u1 int64, last layerLast) {
	enter, exit := int64(last.EnterNs), int64(last.ExitNs)
	switch {
	case last.Seq != seq:
		c.stale++
	case last.Kept == 0:
	case enter < u0 || exit > u1:
		c.skew++
	default:
		c.in.add(uint64(enter - u0))
		c.out.add(uint64(u1 - exit))
	}
}

// layerRun is what one traced run measured.
type layerRun struct {
	kernel [nrPoints - 1]segStats
	cross  crossings
	counts layerCounts
	// reads and sumNs: every traced read and its total latency in user space.
	reads, sumNs int64
}

// layers builds the point's split; untracedMean is the point's own mean.
func (r *layerRun) layers(untracedMean float64) *proto.Layers {
	l := &proto.Layers{
		Reads:          r.reads,
		Discarded:      int64(r.counts.Discarded) + r.cross.stale + r.cross.skew,
		Overlapped:     int64(r.counts.Overlapped),
		UntracedMeanNs: untracedMean,
	}
	l.Segments = append(l.Segments, r.cross.in.segment(proto.SegCrossIn))
	for i, name := range kernelSegments {
		l.Segments = append(l.Segments, r.kernel[i].segment(name))
	}
	l.Segments = append(l.Segments, r.cross.out.segment(proto.SegCrossOut))
	if r.reads > 0 {
		l.TracedMeanNs = float64(r.sumNs) / float64(r.reads)
		l.OverheadNs = l.TracedMeanNs - untracedMean
	}
	count := func(m *map[string]int64, k string, n int64) {
		if n == 0 {
			return
		}
		if *m == nil {
			*m = map[string]int64{}
		}
		(*m)[k] += n
	}
	for i, name := range pointNames {
		count(&l.Missing, name, int64(r.counts.Missing[i]))
		count(&l.Disorder, name, int64(r.counts.Disorder[i]))
	}
	count(&l.Missing, noRecord, r.cross.stale)
	count(&l.Disorder, clockSkew, r.cross.skew)
	return l
}

// runPreadWithLayers runs a pread point and, when the workload asks for
// the layer trace, the same reads again with the probes on.
//
// The traced reads read the untraced reads' blocks, which are then in the
// host's page cache (QEMU's writeback cache); so that both runs find them
// there, the blocks are read once, untimed, before the untraced run.
// Otherwise host disk reads would land in the untraced run only and hide
// what the probes cost.
func runPreadWithLayers(env *Env, ps proto.PointSpec, p *proto.Point) error {
	if !ps.Workload.TraceLayers {
		return runPread(env, ps, p)
	}
	if t := ps.Workload.Threads; t > 1 {
		return fmt.Errorf("pread layers: the layer trace follows one thread, not %d", t)
	}
	if err := primeBlocks(env, ps); err != nil {
		return fmt.Errorf("pread layers: %w", err)
	}
	if err := runPread(env, ps, p); err != nil {
		return err
	}
	r, err := traceLayers(env, ps, p)
	if err != nil {
		return fmt.Errorf("pread layers: %w", err)
	}
	var mean float64
	if p.Summary != nil {
		mean = p.Summary.MeanNs
	}
	p.Layers = r.layers(mean)
	return nil
}

// layerProbes is the loaded program and what user space reads and writes.
type layerProbes struct {
	objs                         *objs.LayersObjects
	tgid, pid, req, last, counts *ebpf.Variable
	stats                        *ebpf.Map
	links                        []link.Link
}

// loadLayers loads the layer-trace object (bpf/objs) and attaches every
// probe in it: each program's section names the function (kprobe/F,
// kretprobe/F).
func loadLayers() (*layerProbes, error) {
	spec, err := objs.LoadLayers()
	if err != nil {
		return nil, err
	}
	o := &objs.LayersObjects{}
	if err := storfn.LoadObjects(objs.LoadLayers, o); err != nil {
		return nil, fmt.Errorf("layers.c: %w", err)
	}
	lp := &layerProbes{objs: o, tgid: o.TargetTgid, pid: o.TargetPid, req: o.Req, last: o.Last, counts: o.Counts, stats: o.LayerStats}
	progs := map[string]*ebpf.Program{
		objs.LayersProgSysEnter: o.SysEnter, objs.LayersProgSysExit: o.SysExit, objs.LayersProgFileEnter: o.FileEnter,
		objs.LayersProgBioSubmit: o.BioSubmit, objs.LayersProgBioEnd: o.BioEnd,
		objs.LayersProgDriverEnter: o.DriverEnter, objs.LayersProgDriverExit: o.DriverExit,
		objs.LayersProgDriverListEnter: o.DriverListEnter, objs.LayersProgDriverListExit: o.DriverListExit,
		objs.LayersProgIrqEnter: o.IrqEnter,
	}
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps := spec.Programs[name]
		prog := progs[name]
		if prog == nil {
			lp.close()
			return nil, fmt.Errorf("layers.c: program %s is not attached by loadLayers (add it to its table)", name)
		}
		attach, kind := link.Kprobe, "kprobe"
		if strings.HasPrefix(ps.SectionName, "kretprobe/") {
			attach, kind = link.Kretprobe, "kretprobe"
		}
		l, err := attach(ps.AttachTo, prog, nil)
		if err != nil {
			lp.close()
			fix := "the kernel needs CONFIG_KPROBES, CONFIG_KPROBE_EVENTS and CONFIG_BPF_EVENTS (kernel/config/base.config) and /sys mounted"
			if errors.Is(err, os.ErrNotExist) {
				fix = "the function is not in /proc/kallsyms: renamed or inlined in this kernel; pick another probe point in bpf/progs/layers.c"
			}
			return nil, fmt.Errorf("%s on %s (program %s): %w (%s)", kind, ps.AttachTo, name, err, fix)
		}
		lp.links = append(lp.links, l)
	}
	return lp, nil
}

// close detaches the probes and releases the program and maps.
func (lp *layerProbes) close() {
	for _, l := range lp.links {
		l.Close()
	}
	lp.links = nil
	lp.objs.Close()
}

// primeBlocks reads, untimed and unchecked, every block the point's
// reads will read.
func primeBlocks(env *Env, ps proto.PointSpec) error {
	d, err := openRaw(env.dataPath(ps.Workload), ps.Workload.BlockSize)
	if err != nil {
		return err
	}
	defer d.f.Close()
	buf, err := alignedBuf(d.bs)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf[:cap(buf)])
	next := d.draws(uint64(env.Job.RunSeed), ps.Rep, 0)
	for range ps.Workload.Warmup + ps.Workload.Ops {
		off := next()
		if _, err := preadRaw(d.fd, buf, off); err != nil {
			return fmt.Errorf("prime: pread at %d: %w", off, err)
		}
	}
	return nil
}

// traceLayers runs the point's reads again (as many, the same blocks)
// with the probes of bpf/progs/layers.c following the reading thread, and
// checks every block it reads (p.Checked, p.Wrong).
func traceLayers(env *Env, ps proto.PointSpec, p *proto.Point) (*layerRun, error) {
	w := ps.Workload
	d, err := openRaw(env.dataPath(ps.Workload), w.BlockSize)
	if err != nil {
		return nil, err
	}
	defer d.f.Close()
	lp, err := loadLayers()
	if err != nil {
		return nil, err
	}
	defer lp.close()
	if err := lp.tgid.Set(uint32(os.Getpid())); err != nil {
		return nil, fmt.Errorf("set target_tgid: %w", err)
	}
	seed := uint64(env.Job.Seed)
	r := &layerRun{}
	var ok, wrong int64
	_, errs := measureThreads(1, w.Ops, w.Warmup, func(int) (opFunc, func(), error) {
		buf, err := alignedBuf(d.bs)
		if err != nil {
			return nil, nil, err
		}
		if err := lp.pid.Set(uint32(unix.Gettid())); err != nil {
			unix.Munmap(buf[:cap(buf)])
			return nil, nil, fmt.Errorf("set target_pid: %w", err)
		}
		next := d.draws(uint64(env.Job.RunSeed), ps.Rep, 0)
		var seq uint64
		read := func(i int) error {
			record := i >= 0
			off := next()
			seq++
			rec := uint64(0)
			if record {
				rec = 1
			}
			if err := lp.req.Set(layerReq{Seq: seq, Record: rec}); err != nil {
				return fmt.Errorf("set req: %w", err)
			}
			u0 := nanotime()
			err := preadFull(d.fd, buf, off)
			u1 := nanotime()
			if err != nil {
				return err
			}
			if !record {
				return nil
			}
			var last layerLast
			if err := lp.last.Get(&last); err != nil {
				return fmt.Errorf("get last: %w", err)
			}
			r.cross.add(seq, u0, u1, last)
			r.reads++
			r.sumNs += u1 - u0
			if pattern.Check(buf, uint64(off)/pattern.BlockSize, seed) != nil {
				wrong++
			} else {
				ok++
			}
			return nil
		}
		return read, func() {
			lp.pid.Set(uint32(0))
			unix.Munmap(buf[:cap(buf)])
		}, nil
	})
	p.Checked += ok + wrong
	p.Wrong += wrong
	if errs[0] != nil {
		return nil, errs[0]
	}
	for _, l := range lp.links { // nothing more is added from here on
		l.Close()
	}
	lp.links = nil
	if err := lp.counts.Get(&r.counts); err != nil {
		return nil, fmt.Errorf("get counts: %w", err)
	}
	for i := range r.kernel {
		if err := lp.stats.Lookup(uint32(i), &r.kernel[i]); err != nil {
			return nil, fmt.Errorf("layer_stats[%d]: %w", i, err)
		}
	}
	return r, nil
}
