// Package host reads facts about the host machine (CPU, load, versions)
// and checks its requirements (bpfstor doctor).
package host

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// CPUModel is the host CPU's model name.
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// LoadAvg is the 1, 5 and 15 minute load average.
func LoadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		fmt.Sscanf(string(b), "%f %f %f", &l[0], &l[1], &l[2])
	}
	return l
}

// Kernel is the host kernel release.
func Kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Name is the host name.
func Name() string {
	n, _ := os.Hostname()
	return n
}

// CPUs is the number of host CPUs.
func CPUs() int { return runtime.NumCPU() }

var qemuVersionRE = regexp.MustCompile(`QEMU emulator version (\S+)`)

// QEMUVersion runs `bin --version`.
func QEMUVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", bin, err)
	}
	if m := qemuVersionRE.FindStringSubmatch(string(out)); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("%s --version: unexpected output %.60q", bin, out)
}

// GitRev is the repository's revision, with "-dirty" if it has changes.
func GitRev(repo string) string {
	out, err := exec.Command("git", "-C", repo, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
