package host

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture bpfstor runs on.
const clockTick = 100

// busySeconds parses the first ("cpu") line of /proc/stat: the CPU time
// spent busy (user, nice, system, irq, softirq, steal), summed over CPUs.
// Guest time is already inside user and nice.
func busySeconds(stat string) (float64, error) {
	sc := bufio.NewScanner(strings.NewReader(stat))
	if !sc.Scan() {
		return 0, fmt.Errorf("/proc/stat: empty")
	}
	f := strings.Fields(sc.Text())
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %q is not the cpu total", sc.Text())
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: field %d: %w", i, err)
		}
		busy += v
	}
	return float64(busy) / clockTick, nil
}

// ownSeconds is the CPU time of this process and of its children that
// have ended and been waited for (such as a QEMU that has exited).
func ownSeconds() float64 {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	tv := func(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// Interference measures how much CPU everything but bpfstor and the
// machines it ran used on the host while it measured: the host's busy
// CPU time minus this process tree's, over the wall time. Unlike the load
// average, it does not count the VM itself (a busy 2-vCPU guest alone
// keeps the 1-minute load near 1.5), nor lag a minute behind.
type Interference struct {
	t0         time.Time
	busy0, own float64
	ok         bool
}

// StartInterference starts a measurement. Call Stop after the machines
// it covers have exited.
func StartInterference() *Interference {
	m := &Interference{t0: time.Now(), own: ownSeconds()}
	b, err := os.ReadFile("/proc/stat")
	if err == nil {
		m.busy0, err = busySeconds(string(b))
	}
	m.ok = err == nil
	return m
}

// Stop returns the average number of CPUs other processes kept busy since
// the start, and false if it could not be measured.
func (m *Interference) Stop() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if !m.ok || err != nil {
		return 0, false
	}
	busy, err := busySeconds(string(b))
	wall := time.Since(m.t0).Seconds()
	if err != nil || wall <= 0 {
		return 0, false
	}
	return otherCPUs(busy-m.busy0, ownSeconds()-m.own, wall), true
}

// otherCPUs is the average CPUs used by others: busy minus own CPU time
// over wall time, never below 0 (the two clocks tick differently).
func otherCPUs(busy, own, wall float64) float64 {
	return max(busy-own, 0) / wall
}
