// Package nvmetrace measures the device side of QEMU's emulated NVMe, read
// from QEMU's own trace events ("log" trace backend), so a chained hop's
// cost can be set beside the part of a read no kernel change can remove.
//
// Two measures come from one trace:
//   - Latency: the guest's submission-queue doorbell write to the device's
//     MSI-X interrupt for that queue (pci_nvme_mmio_doorbell_sq,
//     pci_nvme_irq_msix), paired only when one command is in flight on the
//     queue. It includes the completion's posting and interrupt raise, and
//     it cannot see polled queues, which raise no interrupt.
//   - Service: per command, paired by queue and command id, the queue's
//     latest doorbell write before the device fetched it
//     (pci_nvme_io_cmd) to the device's completion of it
//     (pci_nvme_enqueue_req_completion). Exact with one command in flight
//     on the queue; with more, approximate: with shadow doorbells (NVMe's
//     doorbell buffer, which Linux uses on QEMU) the driver adds commands
//     without a doorbell write while the device is busy, and their
//     submission is not in the trace. It holds for polled queues alike;
//     it leaves out the CQE's posting (a 500 ns virtual-clock timer in
//     QEMU) and the interrupt.
package nvmetrace

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
)

// events are the QEMU trace events Parse reads.
var events = []string{"pci_nvme_mmio_doorbell_sq", "pci_nvme_irq_msix", "pci_nvme_io_cmd", "pci_nvme_enqueue_req_completion"}

// Args are the QEMU options that write the trace to path.
func Args(path string) []string {
	// -msg timestamp=on makes the log backend prefix each event with pid@sec.usec.
	a := []string{"-msg", "timestamp=on"}
	for _, e := range events {
		a = append(a, "-trace", e)
	}
	return append(a, "-D", path)
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
	// Service is the doorbell→completion time of every I/O command whose
	// submission and completion are both in the trace (nil in runs traced
	// before it was recorded).
	Service        *hist.Histogram `json:"service,omitempty"`
	ServiceSummary *hist.Summary   `json:"service_summary,omitempty"`
	// Queues is the service time by I/O queue, in queue order.
	Queues []Queue `json:"queues,omitempty"`
}

// Queue is one I/O queue's commands.
type Queue struct {
	ID int `json:"id"`
	// Commands were completed on it; Interrupts raised for it. A queue
	// with commands and no interrupt is a polled queue.
	Commands   int64        `json:"commands"`
	Interrupts int64        `json:"interrupts"`
	Service    hist.Summary `json:"service"`
}

// Polled reports whether the queue's completions were found by polling.
func (q Queue) Polled() bool { return q.Commands > 0 && q.Interrupts == 0 }

var lineRE = regexp.MustCompile(`^\d+@(\d+)\.(\d{6}):(?:` +
	`pci_nvme_mmio_doorbell_sq sqid (\d+) new_tail (\d+)` +
	`|pci_nvme_irq_msix raising MSI-X IRQ vector (\d+)` +
	`|pci_nvme_io_cmd cid (\d+) nsid \S+ sqid (\d+)` +
	`|pci_nvme_enqueue_req_completion cid (\d+) cqid (\d+))`)

// sq is what Parse keeps of one submission queue.
type sq struct {
	// last is the queue's latest doorbell write: a fetched command's
	// submission. With shadow doorbells (NVMe's doorbell buffer, which
	// Linux uses when QEMU offers it) the driver rings the MMIO doorbell
	// only when the device may be idle, and the device fetches what the
	// shadow tail says: the new tail in the trace does not count the
	// commands. So a command is timed from the latest doorbell before its
	// fetch: exact with one command in flight, and never drifting.
	last     int64
	inflight map[int]int64
	service  *hist.Histogram
	irqs     int64
}

// Parse reads a trace. I/O queue q (q > 0) is paired with MSI-X vector q,
// which is how Linux's nvme driver assigns vectors when it gets one per
// queue, and completion queue q with submission queue q, as Linux creates
// them; the admin queue (0) is skipped.
func Parse(r io.Reader) (*Result, error) {
	res, _, err := ParseSplit(r, nil)
	return res, err
}

// ParseSplit is Parse that also splits the service times by window: with
// bounds b0 < b1 < ... (host wall clock, the trace's own clock), window i
// holds the commands completed in [b_i, b_i+1). It returns one histogram
// per window (len(bounds)-1; nil for a window without commands).
func ParseSplit(r io.Reader, bounds []time.Time) (*Result, []*hist.Histogram, error) {
	res := &Result{Latency: hist.New(), Service: hist.New()}
	var windows []*hist.Histogram
	edges := make([]int64, len(bounds))
	for i, b := range bounds {
		edges[i] = b.UnixMicro()
	}
	if len(bounds) > 1 {
		windows = make([]*hist.Histogram, len(bounds)-1)
	}
	pending := map[int]int64{} // queue -> doorbell time (µs), -1 ambiguous
	queues := map[int]*sq{}
	queue := func(id int) *sq {
		q := queues[id]
		if q == nil {
			q = &sq{inflight: map[int]int64{}, service: hist.New(), last: -1}
			queues[id] = q
		}
		return q
	}
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
		switch {
		case m[3] != "": // doorbell
			id, _ := strconv.Atoi(m[3])
			if id == 0 {
				continue
			}
			q := queue(id)
			q.last = t
			if _, busy := pending[id]; busy {
				if pending[id] >= 0 {
					res.Ambiguous++
				}
				pending[id] = -1
				res.Ambiguous++
				continue
			}
			pending[id] = t
		case m[5] != "": // interrupt
			v, _ := strconv.Atoi(m[5])
			if v != 0 {
				queue(v).irqs++
			}
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
		case m[6] != "": // the device fetched a command
			cid, _ := strconv.Atoi(m[6])
			id, _ := strconv.Atoi(m[7])
			if id == 0 {
				continue
			}
			q := queue(id)
			if q.last >= 0 {
				q.inflight[cid] = q.last
			}
		default: // the device completed a command
			cid, _ := strconv.Atoi(m[8])
			id, _ := strconv.Atoi(m[9])
			if id == 0 {
				continue
			}
			q := queue(id)
			t0, ok := q.inflight[cid]
			if !ok || t < t0 {
				continue
			}
			delete(q.inflight, cid)
			d := time.Duration(t-t0) * time.Microsecond
			q.service.Record(d)
			res.Service.Record(d)
			if w := sort.Search(len(edges), func(i int) bool { return edges[i] > t }) - 1; w >= 0 && w < len(windows) {
				if windows[w] == nil {
					windows[w] = hist.New()
				}
				windows[w].Record(d)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("nvmetrace: %w", err)
	}
	res.Summary = res.Latency.Summarize()
	res.Note = "QEMU trace, 1 µs resolution; tracing itself slows QEMU a little. latency: doorbell write to MSI-X raise, one command in flight; service: the queue's latest doorbell write before the command's fetch to its completion, every command (exact with one command in flight on the queue; with more, the doorbell a command was added without, shadow doorbells, is not in the trace)"
	if res.Service.Count() == 0 {
		res.Service = nil
		return res, windows, nil
	}
	s := res.Service.Summarize()
	res.ServiceSummary = &s
	ids := make([]int, 0, len(queues))
	for id, q := range queues {
		if q.service.Count() > 0 || q.irqs > 0 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		q := queues[id]
		res.Queues = append(res.Queues, Queue{ID: id, Commands: q.service.Count(), Interrupts: q.irqs, Service: q.service.Summarize()})
	}
	return res, windows, nil
}
