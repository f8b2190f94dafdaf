// Command agent is the bpfstor guest agent: the VM's /init. It mounts the
// pseudo file systems, says hello to the host on the virtio-serial control
// port, runs the job the host sends back, streams each measured point, and
// reboots the VM (QEMU runs with -no-reboot, so that ends it).
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/agent/workload"
)

func main() {
	// A panic must still end the VM, with the reason on the console.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "bpfstor-agent: panic: %v\n%s\n", r, debug.Stack())
			halt()
		}
	}()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bpfstor-agent: %v\n", err)
	}
	halt()
}

func run() error {
	if err := mountAll(); err != nil {
		return err
	}
	port, err := openPort(10 * time.Second)
	if err != nil {
		return err
	}
	defer port.Close()
	conn := proto.NewConn(port, port)
	hello := sayHello()
	if err := conn.Send(&proto.Message{Type: proto.TypeHello, Hello: hello}); err != nil {
		return err
	}
	m, err := conn.Recv()
	if err != nil {
		return fmt.Errorf("waiting for job: %w", err)
	}
	if m.Type != proto.TypeJob || m.Job == nil {
		return fmt.Errorf("expected a job, got %q", m.Type)
	}
	// The data on a file system (data.fs) is mounted before any point and
	// unmounted after the last; without it no point can run, and the
	// host is told why.
	data, dataDev, unmount, err := workload.MountData(m.Job)
	if err != nil {
		_ = conn.Send(&proto.Message{Type: proto.TypeError, Text: err.Error()})
		return err
	}
	env := &workload.Env{
		Job:  m.Job,
		Data: data, DataDevice: dataDev,
		Logf: func(format string, args ...any) { logf(conn, format, args...) },
	}
	if m.Job.FS != proto.FSRaw {
		env.Logf("data: %s on %s, mounted read-only at %s: the workloads on the file read %s, the others %s", dataDev, m.Job.FS, proto.DataMount, data, m.Job.Device)
	}
	for _, ps := range m.Job.Points {
		p := workload.RunPoint(env, ps)
		if err := conn.Send(&proto.Message{Type: proto.TypePoint, Point: p}); err != nil {
			unmount()
			return err
		}
	}
	if err := unmount(); err != nil {
		env.Logf("%v", err)
	}
	unix.Sync()
	return conn.Send(&proto.Message{Type: proto.TypeDone})
}

func logf(conn *proto.Conn, format string, args ...any) {
	_ = conn.Send(&proto.Message{Type: proto.TypeLog, Text: fmt.Sprintf(format, args...)})
}

func mountAll() error {
	mounts := []struct{ src, dir, fs string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dir, m.fs, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fs, m.dir, err)
		}
	}
	return nil
}

// openPort finds the virtio-serial port named proto.PortName.
func openPort(timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		names, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil || strings.TrimSpace(string(b)) != proto.PortName {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(n))
			return os.OpenFile(dev, os.O_RDWR, 0)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no virtio-serial port %q after %v (is CONFIG_VIRTIO_CONSOLE set and the QEMU virtserialport there?)", proto.PortName, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sayHello() *proto.Hello {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	t0 := time.Now()
	cs := workload.WaitClocksource(10 * time.Second)
	h := &proto.Hello{
		ClocksourceWaitNs: int64(time.Since(t0)),
		KernelRelease:     unix.ByteSliceToString(uts.Release[:]),
		KernelVersion:     unix.ByteSliceToString(uts.Version[:]),
		Cmdline:           readTrim("/proc/cmdline"),
		Clocksource:       cs,
		UptimeNs:          ts.Nano(),
		MemTotalKB:        memTotalKB(),
	}
	if cpus, err := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*"); err == nil {
		h.CPUs = len(cpus)
	}
	if ents, err := os.ReadDir("/sys/block"); err == nil {
		for _, e := range ents {
			h.Devices = append(h.Devices, e.Name())
		}
	}
	return h
}

func memTotalKB() int64 {
	var kb int64
	for _, l := range strings.Split(readTrim("/proc/meminfo"), "\n") {
		if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// halt ends the VM: QEMU runs with -no-reboot, so a restart makes it exit.
// tinyconfig has no ACPI, so power-off would only halt the CPUs.
func halt() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	// Not reached when we are PID 1 with CAP_SYS_BOOT; never return from init.
	select {}
}
