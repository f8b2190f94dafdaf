// Package workload holds the measurements the guest agent runs. Each kind
// turns one proto.PointSpec into one proto.Point; a failure becomes a point
// with status "failed" and the reason, never a lost point.
package workload

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/host"
	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
)

// Env is what every workload may use.
type Env struct {
	Job *proto.Job
	// Data is the data image as a file on the job's data file system
	// (MountData), which the workloads on the file read, and DataDevice
	// the disk holding it, whose diskstats count their commands; both ""
	// without a data file system.
	Data, DataDevice string
	Logf             func(format string, args ...any)
}

// logf logs through Logf, when set.
func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// runner measures one point, filling p.
type runner func(env *Env, ps proto.PointSpec, p *proto.Point) error

// runners has one runner per kind of the model (model.Kinds).
var runners = map[string]runner{
	model.KindPread:  runPreadWithLayers,
	model.KindFio:    runFio,
	model.KindSleep:  runSleep,
	model.KindCrash:  runCrash,
	model.KindFailIO: runFailIO,
	model.KindChain:  runChain,
	model.KindBTree:  runBTree,
	model.KindKTest:  runKTest,
}

const clocksourcePath = "/sys/devices/system/clocksource/clocksource0/current_clocksource"

// Clocksource is the guest's current clocksource.
func Clocksource() string {
	b, err := os.ReadFile(clocksourcePath)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// PinnedClocksource is the clocksource the kernel command line asks for
// (clocksource=X), or "".
func PinnedClocksource() string {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "clocksource="); ok {
			return v
		}
	}
	return ""
}

// WaitClocksource waits until the pinned clocksource is in use (the kernel
// switches from tsc-early to tsc about a second after boot) and returns the
// one in use when it gave up or succeeded.
func WaitClocksource(timeout time.Duration) string {
	want := PinnedClocksource()
	deadline := time.Now().Add(timeout)
	for {
		cur := Clocksource()
		if want == "" || cur == want || time.Now().After(deadline) {
			return cur
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RunPoint runs one point. The clocksource is read before and after: a
// change (TSC dropped for jiffies) makes the latencies meaningless, so the
// point fails.
func RunPoint(env *Env, ps proto.PointSpec) *proto.Point {
	p := &proto.Point{ID: ps.ID, Rep: ps.Rep, Order: ps.Order, Workload: ps.Workload, Status: proto.StatusOK}
	p.ClocksourceBefore = Clocksource()
	cpu0, cpuErr := host.ReadCPUTimes()
	defer func() {
		if cpu1, err := host.ReadCPUTimes(); err == nil && cpuErr == nil {
			s := host.StealShare(cpu0, cpu1)
			if p.Steal == nil {
				p.Steal = &proto.Steal{}
			}
			p.Steal.Guest = &s
		}
	}()
	r, ok := runners[ps.Workload.Kind]
	var err error
	if !ok {
		err = fmt.Errorf("agent: %w", model.UnknownKind(ps.Workload.Kind))
	} else {
		err = r(env, ps, p)
	}
	p.ClocksourceAfter = Clocksource()
	switch {
	case err != nil:
		p.Status, p.Error = proto.StatusFailed, err.Error()
	case p.Wrong > 0:
		p.Status = proto.StatusFailed
		if p.Error == "" {
			p.Error = fmt.Sprintf("%d of %d answers wrong", p.Wrong, p.Checked)
		}
	case PinnedClocksource() != "" && p.ClocksourceBefore != PinnedClocksource():
		p.Status = proto.StatusFailed
		p.Error = fmt.Sprintf("clocksource is %s, not the pinned %s: latencies would be wrong", p.ClocksourceBefore, PinnedClocksource())
	case p.ClocksourceBefore != p.ClocksourceAfter:
		p.Status = proto.StatusFailed
		p.Error = fmt.Sprintf("clocksource changed during the run: %s -> %s", p.ClocksourceBefore, p.ClocksourceAfter)
	}
	return p
}

func runSleep(env *Env, ps proto.PointSpec, p *proto.Point) error {
	time.Sleep(time.Duration(ps.Workload.Ops) * time.Millisecond)
	return nil
}

// runCrash kills init, which panics the kernel: used by the harness's tests
// of crash detection.
func runCrash(env *Env, ps proto.PointSpec, p *proto.Point) error {
	fmt.Fprintln(os.Stderr, "bpfstor-agent: crash workload: exiting init on purpose")
	os.Exit(3)
	return nil
}

func runFailIO(env *Env, ps proto.PointSpec, p *proto.Point) error {
	f, err := os.Open("/dev/bpfstor-no-such-device")
	if err != nil {
		return fmt.Errorf("failio: %w", err)
	}
	f.Close()
	return nil
}
