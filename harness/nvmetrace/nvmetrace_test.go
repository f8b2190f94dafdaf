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
			// the first doorbell has no command fetched in the trace (it came before it started): it counts one
			map[int][]int{1: {40 - 0, 45 - 10}}, nil, nil},
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
