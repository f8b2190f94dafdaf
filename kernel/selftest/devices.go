package selftest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// nvmeDisk matches namespace block devices (nvme0n1), not the hidden
// per-path devices of multipath (nvme0c1n1) nor partitions.
var nvmeDisk = regexp.MustCompile(`^nvme[0-9]+n[0-9]+$`)

// findDisk returns the block device (/dev/nvmeXnY) whose controller, or
// multipath subsystem, has the given serial number.
func findDisk(serial string) (string, error) {
	ents, err := os.ReadDir("/sys/block")
	if err != nil {
		return "", err
	}
	for _, en := range ents {
		if !nvmeDisk.MatchString(en.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", en.Name(), "device", "serial"))
		if err == nil && strings.TrimSpace(string(b)) == serial {
			return "/dev/" + en.Name(), nil
		}
	}
	return "", fmt.Errorf("no NVMe disk with serial %q (the harness attaches it to every ktest machine)", serial)
}

// waitDisk waits up to timeout for the disk with serial to appear.
func waitDisk(serial string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		p, err := findDisk(serial)
		if err == nil {
			if _, err = os.Stat(p); err == nil {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rescan rescans the PCI bus after a test removed a function from it, and
// waits for the disk with serial to be back.
func rescan(serial string) (string, error) {
	if err := writeFile("/sys/bus/pci/rescan", "1"); err != nil {
		return "", err
	}
	p, err := waitDisk(serial, 30*time.Second)
	if err != nil {
		return "", fmt.Errorf("after the PCI rescan: %w", err)
	}
	return p, nil
}

// dev is an open test device.
type dev struct {
	path string
	f    *os.File // O_RDONLY|O_DIRECT
	fd   int
	size int64
}

func openDev(path string) (*dev, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &dev{path: path, f: f, fd: int(f.Fd()), size: size}, nil
}

func (d *dev) close() { d.f.Close() }

// testDisk opens the test disk of a role (kernel/selftest/testdisk).
func (e *env) testDisk(role string) (*dev, error) {
	p, err := findDisk(testdisk.Serial(role))
	if err != nil {
		return nil, err
	}
	return openDev(p)
}

// on returns a copy of e whose chains run on d.
func (e *env) on(d *dev) *env {
	c := *e
	c.fd, c.size = d.fd, d.size
	return &c
}

// controllers lists the NVMe controllers (/sys/class/nvme/nvmeX) behind
// the block device name (nvme0n1): one, or every path of a multipath
// namespace.
func controllers(disk string) []string {
	dev := filepath.Join("/sys/block", disk, "device")
	if _, err := os.Stat(filepath.Join(dev, "reset_controller")); err == nil {
		real, _ := filepath.EvalSymlinks(dev)
		return []string{real}
	}
	// A multipath head: device is the subsystem, which links its
	// controllers.
	ms, _ := filepath.Glob(filepath.Join(dev, "nvme[0-9]*"))
	var out []string
	for _, m := range ms {
		if _, err := os.Stat(filepath.Join(m, "reset_controller")); err == nil {
			real, _ := filepath.EvalSymlinks(m)
			out = append(out, real)
		}
	}
	return out
}

// waitLive waits for a controller's state to be live.
func waitLive(ctrl string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(filepath.Join(ctrl, "state"))
		st := strings.TrimSpace(string(b))
		if st == "live" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: state %q after %v", filepath.Base(ctrl), st, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kmsg reads the kernel log from now on. It reads the raw descriptor:
// an os.File opened O_NONBLOCK would wait in Go's poller for the next
// message instead of returning at the end of the log.
type kmsg struct{ fd int }

func openKmsg() (*kmsg, error) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/kmsg: %w", err)
	}
	if _, err := unix.Seek(fd, 0, io.SeekEnd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("seek /dev/kmsg: %w", err)
	}
	return &kmsg{fd}, nil
}

// lines returns the messages logged since open (or the last call).
func (k *kmsg) lines() []string {
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(k.fd, buf)
		if errors.Is(err, unix.EPIPE) { // overwritten: go on from here
			continue
		}
		if err != nil || n <= 0 {
			return out
		}
		rec := string(buf[:n])
		if i := strings.IndexByte(rec, ';'); i >= 0 {
			rec = rec[i+1:]
		}
		out = append(out, strings.TrimRight(rec, "\n"))
	}
}

func (k *kmsg) close() { unix.Close(k.fd) }
