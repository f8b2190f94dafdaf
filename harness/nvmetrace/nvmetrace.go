// Package nvmetrace measures the device side of QEMU's emulated NVMe: from
// the guest's submission-queue doorbell write to the device's MSI-X
// interrupt for that queue, read from QEMU's own trace events
// (pci_nvme_mmio_doorbell_sq, pci_nvme_irq_msix; "log" trace backend).
// That is the part of a read no kernel change can remove, so a chained
// hop's cost can be set beside it.
package nvmetrace

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
)

// Args are the QEMU options that write the trace to path.
func Args(path string) []string {
	// -msg timestamp=on makes the log backend prefix each event with pid@sec.usec.
	return []string{"-msg", "timestamp=on", "-trace", "pci_nvme_mmio_doorbell_sq", "-trace", "pci_nvme_irq_msix", "-D", path}
}

// Result is the device-side latency of I/O-queue commands.
type Result struct {
	Latency *hist.Histogram `json:"latency"`
	Summary hist.Summary    `json:"summary"`
	// Paired is the number of doorbell→interrupt pairs measured.
	Paired int64 `json:"paired"`
	// Ambiguous counts doorbells dropped because another doorbell on the
	// same queue came before the interrupt (more than one command in
	// flight: the pairing would be a guess).
	Ambiguous int64  `json:"ambiguous"`
	Note      string `json:"note"`
}

var (
	lineRE = regexp.MustCompile(`^\d+@(\d+)\.(\d{6}):(pci_nvme_mmio_doorbell_sq sqid (\d+)|pci_nvme_irq_msix raising MSI-X IRQ vector (\d+))`)
)

// Parse reads a trace. I/O queue q (q > 0) is paired with MSI-X vector q,
// which is how Linux's nvme driver assigns vectors when it gets one per
// queue; the admin queue (0) is skipped.
func Parse(r io.Reader) (*Result, error) {
	res := &Result{Latency: hist.New()}
	pending := map[int]int64{} // queue -> doorbell time (µs), -1 ambiguous
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		usec, _ := strconv.ParseInt(m[2], 10, 64)
		t := sec*1_000_000 + usec
		if m[4] != "" { // doorbell
			q, _ := strconv.Atoi(m[4])
			if q == 0 {
				continue
			}
			if _, busy := pending[q]; busy {
				if pending[q] >= 0 {
					res.Ambiguous++
				}
				pending[q] = -1
				res.Ambiguous++
				continue
			}
			pending[q] = t
			continue
		}
		v, _ := strconv.Atoi(m[5])
		t0, ok := pending[v]
		if !ok {
			continue
		}
		delete(pending, v)
		if t0 < 0 || t < t0 {
			continue
		}
		res.Latency.Record(time.Duration(t-t0) * time.Microsecond)
		res.Paired++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("nvmetrace: %w", err)
	}
	res.Summary = res.Latency.Summarize()
	res.Note = "QEMU trace, doorbell write to MSI-X raise, 1 µs resolution; tracing itself slows QEMU a little"
	return res, nil
}
