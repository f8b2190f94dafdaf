// Command bpfstor-ktest runs the in-guest tests of the BPF storage
// functions kernel feature (kernel/selftest) and streams them on stdout as
// JSON lines (proto.KTestLine): progress lines, and each test's
// proto.TestResult as it finishes. It is a static binary of its own in the
// initramfs (proto.KTestPath), exec'd by the guest agent for "ktest"
// points, so that the tests (and the fatal-signal test's re-exec of the
// running binary) stay out of the agent. -run REGEX runs only the tests
// whose full name it matches. Around each test it writes the markers of
// proto.StartMarker to /dev/kmsg (when it can open it), so that kernel
// reports on the console are attributed to the test running. The exit
// status is 0 when every test ran (passed, failed or skipped); 2 on bad
// usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sync"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/kernel/selftest"
)

func main() {
	device := flag.String("device", "", "raw block device with the pattern data (e.g. /dev/nvme0n1)")
	serial := flag.String("serial", "", "NVMe serial of the data disk (instead of -device)")
	seed := flag.Int64("seed", 1, "seed of the random chains")
	quick := flag.Bool("quick", false, "fewer chains")
	run := flag.String("run", "", "run only the tests whose full name matches this regular expression")
	flag.Parse()
	if *device == "" && *serial == "" {
		fmt.Fprintln(os.Stderr, "bpfstor-ktest: give -device or -serial")
		os.Exit(2)
	}
	var filter *regexp.Regexp
	if *run != "" {
		var err error
		if filter, err = regexp.Compile(*run); err != nil {
			fmt.Fprintf(os.Stderr, "bpfstor-ktest: -run: %v\n", err)
			os.Exit(2)
		}
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
		Device: *device, Serial: *serial, Seed: *seed, Quick: *quick, Filter: filter, Mark: kmsg(),
		OnResult: func(r selftest.Result) {
			emit(proto.KTestLine{Test: &proto.TestResult{Name: r.Name, Pass: r.Pass, Skip: r.Skip, Message: r.Message, ElapsedNs: int64(r.Elapsed)}})
		},
	}, func(format string, args ...any) { emit(proto.KTestLine{Log: fmt.Sprintf(format, args...)}) })
}

// kmsg returns a function writing one line to /dev/kmsg, where it joins the
// kernel's own messages in order (and so the console), or nil when
// /dev/kmsg cannot be opened (the tests then run without markers).
func kmsg() func(string) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bpfstor-ktest: no test markers on the console: %v\n", err)
		return nil
	}
	return func(line string) {
		// One write is one record; a failed marker only costs attribution.
		f.Write([]byte(line + "\n"))
	}
}
