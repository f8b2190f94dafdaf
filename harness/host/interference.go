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

// CPUTimes is the first ("cpu") line of /proc/stat in seconds, summed over
// CPUs: Busy is user, nice, system, irq and softirq (guest time is already
// inside user and nice); Steal is the time the hypervisor ran something
// else while this machine wanted to run; All is every column but guest
// time (the machine's whole CPU time); CPUs counts the cpuN lines.
type CPUTimes struct {
	Busy, Steal, All float64
	CPUs             int
}

// ParseCPUTimes parses /proc/stat.
func ParseCPUTimes(stat string) (CPUTimes, error) {
	sc := bufio.NewScanner(strings.NewReader(stat))
	if !sc.Scan() {
		return CPUTimes{}, fmt.Errorf("/proc/stat: empty")
	}
	f := strings.Fields(sc.Text())
	if len(f) < 9 || f[0] != "cpu" {
		return CPUTimes{}, fmt.Errorf("/proc/stat: first line %q is not the cpu total", sc.Text())
	}
	var c CPUTimes
	// user nice system idle iowait irq softirq steal [guest guest_nice]
	for i := 1; i <= 8; i++ {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return CPUTimes{}, fmt.Errorf("/proc/stat: field %d: %w", i, err)
		}
		s := float64(v) / clockTick
		c.All += s
		switch i {
		case 1, 2, 3, 6, 7:
			c.Busy += s
		case 8:
			c.Steal = s
		}
	}
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "cpu") && len(l) > 3 && l[3] >= '0' && l[3] <= '9' {
			c.CPUs++
		}
	}
	return c, nil
}

// ReadCPUTimes reads this machine's /proc/stat.
func ReadCPUTimes() (CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, err
	}
	return ParseCPUTimes(string(b))
}

// StealShare is the share of a machine's CPU time stolen between two
// readings: Δsteal over Δ(all CPU time); 0 when no time passed.
func StealShare(a, b CPUTimes) float64 {
	if all := b.All - a.All; all > 0 {
		return max(b.Steal-a.Steal, 0) / all
	}
	return 0
}

// busySeconds is the busy CPU time of /proc/stat, steal left out: steal is
// not work anything on this machine did.
func busySeconds(stat string) (float64, error) {
	c, err := ParseCPUTimes(stat)
	return c.Busy, err
}

// StealMeter follows the host's steal from one lap to the next (one lap
// per point).
type StealMeter struct {
	last CPUTimes
	ok   bool
}

// NewStealMeter starts at the current reading.
func NewStealMeter() *StealMeter {
	c, err := ReadCPUTimes()
	return &StealMeter{last: c, ok: err == nil}
}

// Lap is the share of the host's CPU time stolen since the last lap (or
// the start), and false if /proc/stat could not be read.
func (m *StealMeter) Lap() (float64, bool) {
	c, err := ReadCPUTimes()
	if err != nil || !m.ok {
		m.last, m.ok = c, err == nil
		return 0, false
	}
	share := StealShare(m.last, c)
	m.last = c
	return share, true
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
	cpu0       CPUTimes
	ok         bool
}

// StartInterference starts a measurement. Call Stop after the machines
// it covers have exited.
func StartInterference() *Interference {
	m := &Interference{t0: time.Now(), own: ownSeconds()}
	var err error
	m.cpu0, err = ReadCPUTimes()
	m.busy0, m.ok = m.cpu0.Busy, err == nil
	return m
}

// Steal is the share of the host's CPU time the hypervisor stole since
// the start, and false if it could not be measured.
func (m *Interference) Steal() (float64, bool) {
	c, err := ReadCPUTimes()
	if !m.ok || err != nil {
		return 0, false
	}
	return StealShare(m.cpu0, c), true
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
