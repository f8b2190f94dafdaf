package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bpfstor/bpfstor/harness/guest"
	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/host"
	"github.com/bpfstor/bpfstor/harness/nvmetrace"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/spec"
	"github.com/bpfstor/bpfstor/harness/vm"
	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/images/guestimg"
)

// GuestDevice is the NVMe namespace the workloads use.
const GuestDevice = "/dev/nvme0n1"

// Options change how a spec is run.
type Options struct {
	// Force measures every point, even those an earlier run of the same
	// spec measured with the same inputs.
	Force bool
	// RemeasureSteal, if above 0, is the share of the host's CPU time
	// stolen by the hypervisor above which a point is measured again, once,
	// in a second boot after the first one's points (its Remeasured says
	// so; a report still warns if the second was as bad).
	RemeasureSteal float64
}

// heavySteal returns the specs of the ok points measured under more host
// steal than limit.
func heavySteal(points []*results.Point, specs map[string]proto.PointSpec, limit float64) []proto.PointSpec {
	var out []proto.PointSpec
	for _, p := range points {
		if p.Status == proto.StatusOK && p.ReusedFrom == "" && p.Steal != nil && p.Steal.Host != nil && *p.Steal.Host > limit {
			out = append(out, specs[p.ID])
		}
	}
	return out
}

// Run carries one spec through the pipeline and writes its run directory.
// The result is returned (and written) even when the run failed part way;
// the error is set only when nothing could be run (bad build, no QEMU...).
func Run(ctx context.Context, e *Env, s *spec.Spec, opt Options) (*results.Result, string, error) {
	specText, err := os.ReadFile(s.File)
	if err != nil {
		return nil, "", err
	}
	k, err := e.Kernel(ctx, s.Kernel.Variant)
	if err != nil {
		return nil, "", err
	}
	img, err := e.Initramfs(ctx, s.HostTools())
	if err != nil {
		return nil, "", err
	}
	var data *guestimg.Data
	switch s.Data.Kind {
	case "btree":
		var info btree.Info
		data, info, err = guestimg.BuildBTree(filepath.Join(e.Cache, "images"),
			btree.Params{Keys: s.Data.Keys, Fanout: s.Data.Fanout, Seed: s.Data.Seed})
		if err == nil {
			e.logf("image: %s", info)
		}
	default:
		data, err = guestimg.BuildPattern(filepath.Join(e.Cache, "images"), s.Data.SizeMB, s.Data.Seed)
	}
	// With a data file system the VM has the raw image as its data disk
	// and the file system holding it as a second disk (proto.FSSerial):
	// a workload's "on" picks the one it reads, so one run measures both.
	raw := data
	if err == nil {
		data, err = guestimg.WithFS(ctx, data, s.Data.FS)
	}
	if err != nil {
		return nil, "", err
	}
	if data.FS != proto.FSRaw {
		e.logf("image: %s on %s (%d MiB), the data as /%s", filepath.Base(data.Path), data.FS, data.SizeBytes>>20, proto.DataFile)
	}
	accel, accelNote := e.ResolveAccel(ctx, s.VM.Accel, k, img)
	qv, err := host.QEMUVersion(vm.DefaultQEMU)
	if err != nil {
		return nil, "", fmt.Errorf("qemu: %w (apt-get install qemu-system-x86)", err)
	}
	dir, err := results.NewRunDir(e.Results, s.Name, time.Now())
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(specText)
	points := s.Points()
	res := &results.Result{
		Schema: results.Schema, Name: s.Name, Status: results.StatusRunning, Expected: len(points),
		Meta: results.Meta{
			Spec: s.File, SpecSHA256: hex.EncodeToString(sum[:]),
			KernelRelease: k.Release, KernelKey: k.Key, KernelSource: k.Source, KernelVariant: s.Kernel.Variant,
			PatchSeriesHash: k.PatchHash, Patches: k.Patches, FragmentHash: k.FragmentHash, ConfigHash: k.ConfigHash,
			Toolchain:   k.Toolchain,
			QEMUVersion: qv, Accel: accel, AccelNote: accelNote,
			InitramfsHash: img.Hash, DataImage: filepath.Base(data.Path), DataKind: data.Kind, DataFS: data.FS, DataSeed: data.Seed,
			HostName: host.Name(), HostKernel: host.Kernel(), HostCPU: host.CPUModel(), HostCPUs: host.CPUs(),
			HostLoadStart: host.LoadAvg(),
			Seed:          s.Run.Seed, Repetitions: s.Run.Repetitions, BpfstorRev: host.GitRev(e.Repo),
			Started: time.Now().UTC(),
		},
	}
	rec := &recorder{res: res, dir: dir}
	if err := res.Write(dir); err != nil {
		return nil, dir, fmt.Errorf("run %s: %w", dir, err)
	}
	// Specs are copied beside their results so a run directory stands alone.
	if err := os.WriteFile(filepath.Join(dir, "spec.toml"), specText, 0o644); err != nil {
		return nil, dir, fmt.Errorf("run: copy the spec beside its results: %w", err)
	}

	// Points measured before with the same inputs are taken over (resume);
	// only the rest are measured.
	b := built{KernelKey: k.Key, InitramfsHash: img.Hash, DataImage: filepath.Base(data.Path), Accel: accel, DataSeed: data.Seed}
	inputs := func(ps proto.PointSpec) string { return pointInputs(s, b, ps).Hash() }
	var todo []proto.PointSpec
	hashes := map[string]string{}
	var old map[string]*reused
	if !opt.Force {
		old = measured(e.Results, s.Name)
	}
	for _, ps := range points {
		h := inputs(ps)
		hashes[ps.ID] = h
		if r, ok := old[h]; ok {
			p := *r.point
			p.ReusedFrom = r.dir
			res.Points = append(res.Points, &p)
			continue
		}
		todo = append(todo, ps)
	}
	if n := len(points) - len(todo); n > 0 {
		e.logf("run: %s: %d of %d point(s) already measured with the same inputs, reused (--force to redo)", s.Name, n, len(points))
	}
	if len(todo) == 0 {
		res.Meta.HostLoadEnd = host.LoadAvg()
		return res, dir, rec.finish("")
	}
	cfg := vm.Config{
		Kernel: k.BzImage, Initramfs: img.Path, CPUs: s.VM.CPUs, MemoryMB: s.VM.MemoryMB, Accel: accel,
		Disks: []vm.Disk{{Path: raw.Path, Cache: s.Data.Cache, Paths: s.VM.NVMePaths}}, Dir: dir,
		Append: append([]string(nil), s.VM.Cmdline...),
	}
	if data.FS != proto.FSRaw {
		cfg.Disks = append(cfg.Disks, vm.Disk{Path: data.Path, Cache: s.Data.Cache, Serial: proto.FSSerial})
	}
	if needsTestDisks(todo) {
		if err := e.addTestDisks(&cfg); err != nil {
			return nil, dir, err
		}
	}
	tracePath := filepath.Join(dir, "nvme-trace.log")
	if s.VM.TraceNVMe {
		cfg.Extra = append(cfg.Extra, nvmetrace.Args(tracePath)...)
	}
	e.logf("run: %s: %d point(s) on %s, %d vCPU, results in %s", s.Name, len(todo), accel, s.VM.CPUs, dir)
	interference := host.StartInterference()
	// Each boot's points in arrival order, and the host's clock at the
	// boot and at each arrival: point i's commands in the QEMU trace are
	// those completed between arrivals i-1 and i (a second boot's trace
	// replaces the first's).
	var traced []*results.Point
	var arrivals []time.Time
	// One boot measures points: each point gets the host's steal since the
	// previous one (or the boot); a point measured again replaces the
	// first measurement.
	boot := func(points []proto.PointSpec, again bool) (*guest.Outcome, error) {
		job := &proto.Job{Name: s.Name, Device: GuestDevice, FS: data.FS, Seed: int64(data.Seed), RunSeed: s.Run.Seed, Points: points}
		bar := newProgress(e.progress(), len(points), s.Name)
		defer bar.done()
		steal := host.NewStealMeter()
		traced, arrivals = nil, []time.Time{time.Now()}
		return guest.Run(ctx, cfg, job, guest.Options{
			BootTimeout: s.VM.BootTimeout.Duration, JobTimeout: s.VM.JobTimeout.Duration,
			OnPoint: func(wp *proto.Point) {
				p := results.FromWire(wp)
				p.InputHash = hashes[p.ID]
				traced, arrivals = append(traced, p), append(arrivals, time.Now())
				if share, ok := steal.Lap(); ok {
					if p.Steal == nil {
						p.Steal = &proto.Steal{}
					}
					p.Steal.Host = &share
				}
				replaced := false
				for i, old := range res.Points {
					if again && old.ID == p.ID {
						p.Remeasured = old.Remeasured + 1
						res.Points[i], replaced = p, true
					}
				}
				if !replaced {
					res.Points = append(res.Points, p)
				}
				bar.point(PointLine(p))
				if rec.write(p.ID) != nil { // keep every point as soon as it is measured
					e.logf("run: %v (kept in memory; the run will be partial)", rec.err)
				}
			},
			OnLog: func(l string) { e.logf("guest: %s", l) },
		})
	}
	out, err := boot(todo, false)
	if err == nil && out.Complete && opt.RemeasureSteal > 0 {
		specs := map[string]proto.PointSpec{}
		for _, ps := range todo {
			specs[ps.ID] = ps
		}
		if again := heavySteal(res.Points, specs, opt.RemeasureSteal); len(again) > 0 {
			e.logf("run: %s: %d point(s) measured while the hypervisor stole more than %.0f%% of the host's CPU time: measuring them again",
				s.Name, len(again), 100*opt.RemeasureSteal)
			if out2, err2 := boot(again, true); err2 != nil || !out2.Complete {
				e.logf("run: %s: measuring again did not complete (%v %s): the first measurements stay where none replaced them", s.Name, err2, reasonOf(out2))
			}
		}
	}
	if other, ok := interference.Stop(); ok {
		res.Meta.HostOtherCPUs = &other
	}
	if st, ok := interference.Steal(); ok {
		res.Meta.HostSteal = &st
	}
	if err != nil {
		return res, dir, rec.finish(err.Error())
	}
	res.Meta.QEMUCmdline = out.Cmdline
	if h := out.Hello; h != nil {
		res.Meta.KernelVersion = h.KernelVersion
		res.Meta.GuestCmdline = h.Cmdline
		res.Meta.GuestCPUs = h.CPUs
		res.Meta.GuestMemKB = h.MemTotalKB
		res.Meta.GuestClocksource = h.Clocksource
		res.Meta.BootNs = int64(out.BootTime)
	}
	res.Meta.HostLoadEnd = host.LoadAvg()
	if s.VM.TraceNVMe {
		if f, err := os.Open(tracePath); err == nil {
			var windows []*hist.Histogram
			if res.Device, windows, err = nvmetrace.ParseSplit(f, arrivals); err != nil {
				e.logf("run: %v", err)
			}
			for i, h := range windows {
				if h != nil {
					sum := h.Summarize()
					traced[i].DeviceService = &sum
				}
			}
			f.Close()
			if res.Device != nil && res.Device.Paired > 0 {
				os.Remove(tracePath) // large; the histogram keeps what it measured
			}
		}
	}
	return res, dir, rec.finish(out.Reason)
}

// recorder keeps result.json in step with the points. A point that could
// not be written (full disk, I/O error) stays in memory, the run ends
// partial saying so, and the last write is tried once more; if that fails
// too, finish returns the error, so the command fails while its caller
// still holds (and prints) every point.
type recorder struct {
	res *results.Result
	dir string
	err error // the first failed write
}

// write writes the result after point after; it returns the error only
// the first time a write fails.
func (r *recorder) write(after string) error {
	if err := r.res.Write(r.dir); err != nil && r.err == nil {
		r.err = fmt.Errorf("point %s could not be recorded: %w", after, err)
		return r.err
	}
	return nil
}

// finish sets the run's status from reason (why the guest stopped, "" if
// it completed) and any failed write, and writes the final result.
func (r *recorder) finish(reason string) error {
	if r.err != nil {
		if reason != "" {
			reason += "; "
		}
		reason += r.err.Error()
	}
	r.res.Finish(reason)
	if err := r.res.Write(r.dir); err != nil {
		return fmt.Errorf("run %s: %s measured %d point(s) but could not record them: %w (free space there, then run the spec again)",
			r.res.Name, r.dir, len(r.res.Points), err)
	}
	return nil
}

func reasonOf(out *guest.Outcome) string {
	if out == nil {
		return ""
	}
	return out.Reason
}

// PointLine is a one-line summary of a point.
func PointLine(p *results.Point) string {
	if p.Status != proto.StatusOK {
		return fmt.Sprintf("%s FAILED: %s", p.ID, p.Error)
	}
	if len(p.Tests) > 0 {
		pass := 0
		for _, t := range p.Tests {
			if t.Pass {
				pass++
			}
		}
		return fmt.Sprintf("%s: %d/%d tests passed", p.ID, pass, len(p.Tests))
	}
	if p.Summary == nil {
		return p.ID + ": ok"
	}
	us := func(ns int64) string { return fmt.Sprintf("%.1fµs", float64(ns)/1e3) }
	return fmt.Sprintf("%s: n=%d p50=%s p99=%s mean=%s iops=%.0f checked=%d", p.ID, p.Summary.Count,
		us(p.Summary.P50Ns), us(p.Summary.P99Ns), us(int64(p.Summary.MeanNs)), p.IOPS, p.Checked)
}
