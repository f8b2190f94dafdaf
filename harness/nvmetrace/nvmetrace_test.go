package nvmetrace

import (
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
