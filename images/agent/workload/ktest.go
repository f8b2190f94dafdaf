package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// runKTest runs the in-guest tests of the kernel feature: it execs
// bpfstor-ktest (kernel/selftest/cmd/bpfstor-ktest, at proto.KTestPath in
// the initramfs) and collects the results it streams as JSON lines. The
// point fails if any test fails; skipped tests are reported as such.
func runKTest(env *Env, ps proto.PointSpec, p *proto.Point) error {
	return runKTestBinary(env, proto.KTestPath, ps, p)
}

func runKTestBinary(env *Env, bin string, ps proto.PointSpec, p *proto.Point) error {
	if _, err := os.Stat(bin); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ktest: %s is not in the initramfs (images/guestimg puts it there): %w", bin, err)
	}
	args := []string{"-serial", testdisk.DataSerial, "-seed", strconv.FormatInt(env.Job.Seed+int64(ps.Rep), 10)}
	if ps.Workload.Ops == 0 {
		args = append(args, "-quick")
	}
	if ps.Workload.Tests != "" {
		args = append(args, "-run", ps.Workload.Tests)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("ktest: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ktest: start %s: %w", bin, err)
	}
	var failed []string
	var bad error
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20) // a verifier log in a message can be long
	for sc.Scan() {
		var l proto.KTestLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			if bad == nil {
				bad = fmt.Errorf("ktest: %s wrote %q: %w", bin, firstLine(sc.Text()), err)
			}
			continue
		}
		if l.Log != "" && env.Logf != nil {
			env.Logf("%s", l.Log)
		}
		if r := l.Test; r != nil {
			p.Tests = append(p.Tests, *r)
			if !r.Pass && !r.Skip {
				failed = append(failed, r.Name)
			}
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	p.Ops = int64(len(p.Tests))
	switch {
	case waitErr != nil:
		return fmt.Errorf("ktest: %s after %d tests: %w: %s", bin, len(p.Tests), waitErr, lastLines(stderr.String(), 20))
	case scanErr != nil:
		return fmt.Errorf("ktest: reading %s: %w", bin, scanErr)
	case bad != nil:
		return bad
	case len(p.Tests) == 0:
		return fmt.Errorf("ktest: no test ran")
	case len(failed) > 0:
		return fmt.Errorf("ktest: %d of %d tests failed: %s", len(failed), len(p.Tests), strings.Join(failed, ", "))
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lastLines is the last n lines of s, trimmed.
func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
