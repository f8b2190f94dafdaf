package nvmetrace

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	trace := `28000@1795610434.945421:pci_nvme_mmio_doorbell_sq sqid 0 new_tail 1
27998@1795610434.945500:pci_nvme_irq_msix raising MSI-X IRQ vector 0
28000@1795610436.000100:pci_nvme_mmio_doorbell_sq sqid 1 new_tail 1
27998@1795610436.000165:pci_nvme_irq_msix raising MSI-X IRQ vector 1
28000@1795610436.001000:pci_nvme_mmio_doorbell_sq sqid 2 new_tail 7
28001@1795610436.001010:pci_nvme_mmio_doorbell_sq sqid 1 new_tail 2
27998@1795610436.001055:pci_nvme_irq_msix raising MSI-X IRQ vector 1
27998@1795610436.001100:pci_nvme_irq_msix raising MSI-X IRQ vector 2
28000@1795610436.002000:pci_nvme_mmio_doorbell_sq sqid 1 new_tail 3
28000@1795610436.002010:pci_nvme_mmio_doorbell_sq sqid 1 new_tail 4
27998@1795610436.002100:pci_nvme_irq_msix raising MSI-X IRQ vector 1
garbage line
`
	r, err := Parse(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	// q1: 65 µs, q1: 45 µs, q2: 100 µs; the two back-to-back q1 doorbells are ambiguous.
	if r.Paired != 3 || r.Ambiguous != 2 {
		t.Fatalf("paired %d ambiguous %d, want 3 and 2", r.Paired, r.Ambiguous)
	}
	if r.Latency.Max() < 99*time.Microsecond || r.Latency.Min() > 46*time.Microsecond {
		t.Errorf("latencies min %v max %v", r.Latency.Min(), r.Latency.Max())
	}
	if r.Summary.P50Ns < 64_000 || r.Summary.P50Ns > 66_000 {
		t.Errorf("p50 %d ns, want 65 µs", r.Summary.P50Ns)
	}
}

func TestArgs(t *testing.T) {
	if a := strings.Join(Args("/r/t.log"), " "); !strings.Contains(a, "-D /r/t.log") || !strings.Contains(a, "pci_nvme_irq_msix") {
		t.Errorf("args %q", a)
	}
}

func TestService(t *testing.T) {
	const (
		db  = "1@100.%06d:pci_nvme_mmio_doorbell_sq sqid %d new_tail %d\n"
		cmd = "2@100.%06d:pci_nvme_io_cmd cid %d nsid 0x1 sqid %d opc 0x2 opname 'NVME_NVM_CMD_READ'\n"
		cpl = "2@100.%06d:pci_nvme_enqueue_req_completion cid %d cqid %d dw0 0x0 dw1 0x0 status 0x0\n"
		irq = "2@100.%06d:pci_nvme_irq_msix raising MSI-X IRQ vector %d\n"
	)
	type ev struct {
		f    string
		args []int
	}
	tests := []struct {
		name   string
		events []ev
		// want: service times by queue (µs), and queue 2's interrupts
		want       map[int][]int
		interrupts map[int]int64
		polled     map[int]bool
	}{
		{"one in flight, interrupt", []ev{{db, []int{10, 1, 1}}, {cmd, []int{12, 7, 1}}, {cpl, []int{80, 7, 1}}, {irq, []int{81, 1}}},
			map[int][]int{1: {70}}, map[int]int64{1: 1}, map[int]bool{1: false}},
		{"polled queue: no interrupt", []ev{{db, []int{10, 3, 5}}, {cmd, []int{11, 9, 3}}, {cpl, []int{60, 9, 3}}, {db, []int{100, 3, 6}}, {cmd, []int{101, 9, 3}}, {cpl, []int{140, 9, 3}}},
			map[int][]int{3: {50, 40}}, map[int]int64{3: 0}, map[int]bool{3: true}},
		{"two in flight complete out of order", []ev{{db, []int{10, 1, 1}}, {cmd, []int{11, 1, 1}}, {db, []int{20, 1, 2}}, {cmd, []int{21, 2, 1}}, {cpl, []int{50, 2, 1}}, {cpl, []int{90, 1, 1}}},
			map[int][]int{1: {30, 80}}, nil, nil},
		{"one doorbell for two commands", []ev{{db, []int{0, 1, 4}}, {db, []int{10, 1, 6}}, {cmd, []int{11, 1, 1}}, {cmd, []int{12, 2, 1}}, {cpl, []int{40, 1, 1}}, {cpl, []int{45, 2, 1}}},
			// both from the latest doorbell before their fetch
			map[int][]int{1: {40 - 10, 45 - 10}}, nil, nil},
		{"shadow doorbell: one MMIO write, eight commands", []ev{{db, []int{0, 1, 1}}, {cmd, []int{5, 1, 1}}, {cmd, []int{6, 2, 1}}, {cmd, []int{7, 3, 1}},
			{cpl, []int{20, 3, 1}}, {cpl, []int{21, 2, 1}}, {cpl, []int{22, 1, 1}}, {db, []int{100, 1, 2}}, {cmd, []int{101, 4, 1}}, {cpl, []int{130, 4, 1}}},
			map[int][]int{1: {22, 21, 20, 30}}, nil, nil},
		{"admin queue and unknown completions skipped", []ev{{db, []int{10, 0, 1}}, {cmd, []int{11, 5, 0}}, {cpl, []int{20, 5, 0}}, {cpl, []int{30, 6, 1}}},
			map[int][]int{}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			for _, e := range tc.events {
				args := make([]any, len(e.args))
				for i, a := range e.args {
					args[i] = a
				}
				fmt.Fprintf(&b, e.f, args...)
			}
			r, err := Parse(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, ds := range tc.want {
				total += len(ds)
			}
			if total == 0 {
				if r.Service != nil || len(r.Queues) != 0 {
					t.Fatalf("service %v queues %+v, want none", r.Service, r.Queues)
				}
				return
			}
			if got := r.ServiceSummary.Count; got != int64(total) {
				t.Fatalf("service count %d, want %d", got, total)
			}
			for _, q := range r.Queues {
				ds := tc.want[q.ID]
				if q.Commands != int64(len(ds)) {
					t.Errorf("queue %d: %d commands, want %d", q.ID, q.Commands, len(ds))
				}
				lo, hi := ds[0], ds[0]
				for _, d := range ds {
					lo, hi = min(lo, d), max(hi, d)
				}
				near := func(ns int64, us int) bool { return math.Abs(float64(ns)-float64(us)*1000) <= float64(us)*10 } // 1 %: the histogram's precision
				if !near(q.Service.MinNs, lo) || !near(q.Service.MaxNs, hi) {
					t.Errorf("queue %d: service min %d max %d ns, want %d and %d µs", q.ID, q.Service.MinNs, q.Service.MaxNs, lo, hi)
				}
				if want, ok := tc.interrupts[q.ID]; ok && q.Interrupts != want {
					t.Errorf("queue %d: %d interrupts, want %d", q.ID, q.Interrupts, want)
				}
				if want, ok := tc.polled[q.ID]; ok && q.Polled() != want {
					t.Errorf("queue %d: polled %v, want %v", q.ID, q.Polled(), want)
				}
			}
		})
	}
}

// traceOf writes events at the given µs (after 100 s) in the log format.
func traceOf(lines ...string) string { return strings.Join(lines, "") }

func dbLine(us, q, tail int) string {
	return fmt.Sprintf("1@%d.%06d:pci_nvme_mmio_doorbell_sq sqid %d new_tail %d\n", 100+us/1e6, us%1e6, q, tail)
}
func cmdLine(us, cid, q int) string {
	return fmt.Sprintf("2@%d.%06d:pci_nvme_io_cmd cid %d nsid 0x1 sqid %d opc 0x2 opname 'NVME_NVM_CMD_READ'\n", 100+us/1e6, us%1e6, cid, q)
}
func cplLine(us, cid, q int) string {
	return fmt.Sprintf("2@%d.%06d:pci_nvme_enqueue_req_completion cid %d cqid %d dw0 0x0 dw1 0x0 status 0x0\n", 100+us/1e6, us%1e6, cid, q)
}

// Doorbells whose new tail says nothing of the commands (a wrap past the
// queue's end, shadow doorbells) leave the pairing where it was: every
// command is timed from the latest doorbell before its fetch, and the one
// after a long idle gap from its own doorbell, not an earlier one.
func TestServiceLatestDoorbell(t *testing.T) {
	var ev []string
	ev = append(ev, dbLine(0, 1, 1000), cmdLine(1, 0, 1), cplLine(5, 0, 1)) // first doorbell: one command
	ev = append(ev, dbLine(10, 1, 1020))                                    // 20 commands
	for i := range 20 {
		ev = append(ev, cmdLine(11, 100+i, 1), cplLine(20, 100+i, 1))
	}
	ev = append(ev, dbLine(100, 1, 4)) // wrapped past the end: 8 commands
	for i := range 8 {
		ev = append(ev, cmdLine(101, 200+i, 1), cplLine(150, 200+i, 1))
	}
	ev = append(ev, dbLine(1000, 1, 5), cmdLine(1001, 300, 1), cplLine(1040, 300, 1)) // one more
	r, err := Parse(strings.NewReader(traceOf(ev...)))
	if err != nil {
		t.Fatal(err)
	}
	// 1 × 5 µs, 20 × 10 µs, 8 × 50 µs, 1 × 40 µs: the last is 40, not 1040−100.
	if s := r.ServiceSummary; s.Count != 30 || s.MaxNs > 51000 || s.MinNs < 4900 {
		t.Errorf("service across a wrap: %+v", s)
	}
}

// ParseSplit puts each command's service time in the window its
// completion falls in; commands outside every window are in the total only.
func TestParseSplit(t *testing.T) {
	at := func(us int) time.Time { return time.UnixMicro(int64(100e6 + us)) }
	trace := traceOf(
		dbLine(10, 1, 1), cmdLine(11, 1, 1), cplLine(30, 1, 1), // 20 µs, window 0
		dbLine(40, 1, 2), cmdLine(41, 2, 1), cplLine(140, 2, 1), // 100 µs, window 1
		dbLine(150, 1, 3), cmdLine(151, 3, 1), cplLine(160, 3, 1), // 10 µs, window 1
		dbLine(500, 1, 4), cmdLine(501, 4, 1), cplLine(900, 4, 1), // 400 µs, after the windows
	)
	r, ws, err := ParseSplit(strings.NewReader(trace), []time.Time{at(0), at(100), at(400)})
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceSummary.Count != 4 || len(ws) != 2 {
		t.Fatalf("total %d, %d windows", r.ServiceSummary.Count, len(ws))
	}
	if s := ws[0].Summarize(); s.Count != 1 || math.Abs(s.MeanNs-20e3) > 300 {
		t.Errorf("window 0: %+v", s)
	}
	if s := ws[1].Summarize(); s.Count != 2 || math.Abs(s.MeanNs-55e3) > 600 {
		t.Errorf("window 1: %+v", s)
	}
	if _, ws, _ := ParseSplit(strings.NewReader(trace), []time.Time{at(1000), at(2000)}); ws[0] != nil {
		t.Error("a window without commands has a histogram")
	}
}
