// Command bpfstor-ktest runs the in-guest tests of the BPF storage
// functions kernel feature (kernel/selftest) and streams them on stdout as
// JSON lines (proto.KTestLine): progress lines, and each test's
// proto.TestResult as it finishes. It is a static binary of its own in the
// initramfs (proto.KTestPath), exec'd by the guest agent for "ktest"
// points, so that the tests (and the fatal-signal test's re-exec of the
// running binary) stay out of the agent. The exit status is 0 when every
// test ran (passed, failed or skipped); 2 on bad usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/kernel/selftest"
)

func main() {
	device := flag.String("device", "", "raw block device with the pattern data (e.g. /dev/nvme0n1)")
	serial := flag.String("serial", "", "NVMe serial of the data disk (instead of -device)")
	seed := flag.Int64("seed", 1, "seed of the random chains")
	quick := flag.Bool("quick", false, "fewer chains")
	flag.Parse()
	if *device == "" && *serial == "" {
		fmt.Fprintln(os.Stderr, "bpfstor-ktest: give -device or -serial")
		os.Exit(2)
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	emit := func(l proto.KTestLine) {
		mu.Lock()
		defer mu.Unlock()
		if err := enc.Encode(l); err != nil {
			fmt.Fprintf(os.Stderr, "bpfstor-ktest: stdout: %v\n", err)
			os.Exit(1)
		}
	}
	selftest.Run(selftest.Options{
		Device: *device, Serial: *serial, Seed: *seed, Quick: *quick,
		OnResult: func(r selftest.Result) {
			emit(proto.KTestLine{Test: &proto.TestResult{Name: r.Name, Pass: r.Pass, Skip: r.Skip, Message: r.Message, ElapsedNs: int64(r.Elapsed)}})
		},
	}, func(format string, args ...any) { emit(proto.KTestLine{Log: fmt.Sprintf(format, args...)}) })
}
