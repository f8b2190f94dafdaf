package workload

import (
	"fmt"
	"strings"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/kernel/selftest"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// runKTest runs the in-guest tests of the kernel feature (kernel/selftest).
// The point fails if any test fails; skipped tests are reported as such.
func runKTest(env *Env, ps proto.PointSpec, p *proto.Point) error {
	rs := selftest.Run(selftest.Options{
		Device: env.Job.Device, Serial: testdisk.DataSerial, BPFDir: bpfDir(env), Seed: env.Job.Seed + int64(ps.Rep), Quick: ps.Workload.Ops == 0,
	}, env.Logf)
	var failed []string
	for _, r := range rs {
		p.Tests = append(p.Tests, proto.TestResult{Name: r.Name, Pass: r.Pass, Skip: r.Skip, Message: r.Message, ElapsedNs: int64(r.Elapsed)})
		if !r.Pass && !r.Skip {
			failed = append(failed, r.Name)
		}
	}
	p.Ops = int64(len(rs))
	if len(rs) == 0 {
		return fmt.Errorf("ktest: no test ran")
	}
	if len(failed) > 0 {
		return fmt.Errorf("ktest: %d of %d tests failed: %s", len(failed), len(rs), strings.Join(failed, ", "))
	}
	return nil
}
