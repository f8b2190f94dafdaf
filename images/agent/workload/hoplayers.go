package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// hopSegments name hop_stats' entries (enum hop_segment in
// bpf/progs/hop_layers.c), in the order a driver hop passes them.
var hopSegments = [...]string{proto.SegHopWait, proto.SegHopCQE, proto.SegHopProg, proto.SegHopSubmit}

// The generated types match the ones this file converts and indexes.
var (
	_ = segStats(objs.HopLayersSegmentStats{})
	_ = [len(hopSegments)]struct{}{}
)

// hopProbes is the loaded hop trace and its attached probes.
type hopProbes struct {
	objs  *objs.HopLayersObjects
	links []link.Link
}

// loadHopProbes loads bpf/progs/hop_layers.c and attaches every program
// in it by its section (kprobe/F, kretprobe/F, raw_tracepoint/T).
func loadHopProbes() (*hopProbes, error) {
	spec, err := objs.LoadHopLayers()
	if err != nil {
		return nil, err
	}
	o := &objs.HopLayersObjects{}
	if err := objs.LoadHopLayersObjects(o, nil); err != nil {
		return nil, fmt.Errorf("hop_layers.c: %w", err)
	}
	hp := &hopProbes{objs: o}
	progs := map[string]*ebpf.Program{
		objs.HopLayersProgIrqEnter: o.IrqEnter, objs.HopLayersProgPollEnter: o.PollEnter,
		objs.HopLayersProgStepEnter: o.StepEnter, objs.HopLayersProgStepExit: o.StepExit,
		objs.HopLayersProgResubmit: o.Resubmit,
	}
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps, prog := spec.Programs[name], progs[name]
		if prog == nil {
			hp.close()
			return nil, fmt.Errorf("hop_layers.c: program %s is not attached by loadHopProbes (add it to its table)", name)
		}
		var l link.Link
		switch {
		case strings.HasPrefix(ps.SectionName, "raw_tracepoint/"):
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: ps.AttachTo, Program: prog})
		case strings.HasPrefix(ps.SectionName, "kretprobe/"):
			l, err = link.Kretprobe(ps.AttachTo, prog, nil)
		default:
			l, err = link.Kprobe(ps.AttachTo, prog, nil)
		}
		if err != nil {
			hp.close()
			fix := "the kernel needs CONFIG_KPROBES, CONFIG_KPROBE_EVENTS and CONFIG_BPF_EVENTS (kernel/config/base.config) and the series' nvme_chain_resubmit tracepoint"
			if errors.Is(err, os.ErrNotExist) {
				fix = "the function or tracepoint is not in this kernel: renamed or inlined; pick another point in bpf/progs/hop_layers.c"
			}
			return nil, fmt.Errorf("%s (program %s): %w (%s)", ps.SectionName, name, err, fix)
		}
		hp.links = append(hp.links, l)
	}
	return hp, nil
}

func (hp *hopProbes) close() {
	for _, l := range hp.links {
		l.Close()
	}
	hp.links = nil
	hp.objs.Close()
}

// traceHops runs a driver-mode chain point's chains again (the same
// chains: rng is drawn as for the measured run) with the probes of
// bpf/progs/hop_layers.c on, and splits the driver-resubmitted hops into
// their segments. The measured point's own numbers are untouched: the
// traced chains only give the split and what the probes cost
// (Layers.OverheadNs is per chain). Their answers are checked too.
func traceHops(fd, bs int, nblk uint64, depth int, flags uint32, prog *ebpf.Program, rng *rand.Rand, imageSeed uint64, warmup, ops int, p *proto.Point) (*proto.Layers, error) {
	hp, err := loadHopProbes()
	if err != nil {
		return nil, err
	}
	defer hp.close()
	var o tally
	var ch *chainThread
	_, errs := measureThreads(1, ops, warmup, func(int) (opFunc, func(), error) {
		var err error
		if ch, err = newChainThread(fd, bs, nblk, depth, flags, prog, rng, &o, warmup, ops); err != nil {
			return nil, nil, err
		}
		recording := false
		return func(i int) error {
			if i >= 0 && !recording {
				if err := hp.objs.Record.Set(uint64(1)); err != nil {
					return fmt.Errorf("set record: %w", err)
				}
				recording = true
			}
			return ch.op(i)
		}, func() {}, nil
	})
	if ch == nil {
		return nil, errs[0]
	}
	defer ch.close()
	for _, l := range hp.links { // nothing more is added from here on
		l.Close()
	}
	hp.links = nil
	if errs[0] != nil {
		return nil, errs[0]
	}
	if err := ch.check(imageSeed); err != nil {
		return nil, err
	}
	p.Checked += o.OK + o.Wrong
	p.Wrong += o.Wrong
	if o.Wrong > 0 && p.Error == "" {
		p.Error = "traced run: " + o.FirstWrong
	}
	var counts objs.HopLayersHopCounts
	if err := hp.objs.Counts.Get(&counts); err != nil {
		return nil, fmt.Errorf("get counts: %w", err)
	}
	l := &proto.Layers{Reads: int64(counts.Resubmits), Discarded: int64(counts.Discarded)}
	for i, name := range hopSegments {
		var st objs.HopLayersSegmentStats
		if err := hp.objs.HopStats.Lookup(uint32(i), &st); err != nil {
			return nil, fmt.Errorf("hop_stats[%d]: %w", i, err)
		}
		s := segStats(st)
		l.Segments = append(l.Segments, s.segment(name))
	}
	if o.Ops > 0 {
		var sum int64
		for _, d := range o.T.Lat[:o.Done] {
			sum += d
		}
		l.TracedMeanNs = float64(sum) / float64(o.Done)
	}
	if p.Summary != nil {
		l.UntracedMeanNs = p.Summary.MeanNs
		l.OverheadNs = l.TracedMeanNs - l.UntracedMeanNs
	}
	return l, nil
}

// traceHopsFor reports whether a chain point of these dispatch flags gets
// the hop split when the workload asks for trace_layers: only chains the
// driver resubmits, longer than one block, have driver hops to split.
func traceHopsFor(w proto.Workload, flags uint32) bool {
	return w.TraceLayers && flags&storfn.FlagDriver != 0 && w.Depth > 1
}
