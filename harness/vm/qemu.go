package vm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"

	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// QbootPath is where Debian's qemu-system-data puts the qboot firmware.
const QbootPath = "/usr/share/qemu/qboot.rom"

// DefaultQEMU is the hypervisor binary used when Config.QEMU is empty.
const DefaultQEMU = "qemu-system-x86_64"

type qemuInstance struct {
	cfg     Config
	args    []string
	cmd     *exec.Cmd
	sockDir string
	console string

	ctl net.Conn
	mon *qmp.SocketMonitor

	stderr  lockedBuffer
	crashed chan *Crash
	exited  chan struct{}
	exitErr error
	conDone chan struct{}
	conErr  error // the first failed write to console.log (read after conDone)

	stopOnce sync.Once
	stopErr  error

	// From QMP events: the SHUTDOWN reason, set once; evDone is closed
	// when the event stream ended (QEMU gone, or stopped).
	evMu     sync.Mutex
	shutdown string
	evDone   chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Args returns QEMU's command line for cfg, with the given socket paths.
func Args(cfg Config, qmpSock, ctlSock string) ([]string, error) {
	if cfg.Kernel == "" || cfg.Initramfs == "" {
		return nil, errors.New("vm: kernel and initramfs are required")
	}
	cpus, mem := max(cfg.CPUs, 1), cfg.MemoryMB
	if mem == 0 {
		mem = 512
	}
	a := []string{
		"-name", "bpfstor", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
	}
	switch cfg.Accel {
	case "kvm":
		a = append(a, "-accel", "kvm", "-cpu", "host")
	case "tcg", "":
		a = append(a, "-accel", "tcg,thread=multi", "-cpu", "max")
	default:
		return nil, fmt.Errorf("vm: unknown accelerator %q (want kvm or tcg)", cfg.Accel)
	}
	switch cfg.BIOS {
	case "seabios":
	case "":
		if _, err := os.Stat(QbootPath); err == nil {
			a = append(a, "-bios", QbootPath)
		}
	default:
		a = append(a, "-bios", cfg.BIOS)
	}
	a = append(a,
		"-kernel", cfg.Kernel, "-initrd", cfg.Initramfs,
		"-append", strings.Join(append(append([]string{}, BaseCmdline...), cfg.Append...), " "),
		"-serial", "stdio",
		"-qmp", "unix:"+qmpSock+",server=on,wait=off",
		"-chardev", "socket,id=ctl,path="+ctlSock+",server=on,wait=off",
		"-device", "virtio-serial-pci",
		"-device", "virtserialport,chardev=ctl,name="+proto.PortName,
		// A guest kernel with a pvpanic driver reports its panic as a QMP
		// GUEST_PANICKED event (the console scanner sees it otherwise).
		"-device", "pvpanic",
	)
	for i, d := range cfg.Disks {
		da, err := diskArgs(i, d)
		if err != nil {
			return nil, err
		}
		a = append(a, da...)
	}
	return append(a, cfg.Extra...), nil
}

// Start boots a QEMU machine. The returned instance is running; the caller
// must Stop it.
func Start(cfg Config) (Instance, error) {
	bin := cfg.QEMU
	if bin == "" {
		bin = DefaultQEMU
	}
	if _, err := exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("vm: %w (apt-get install qemu-system-x86, or run bpfstor doctor)", err)
	}
	for _, f := range append([]string{cfg.Kernel, cfg.Initramfs}, diskPaths(cfg)...) {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("vm: %w", err)
		}
	}
	// A damaged kernel would boot into silence ("closed before hello"):
	// name it before QEMU starts.
	if err := kbuild.CheckBzImage(cfg.Kernel); err != nil {
		return nil, fmt.Errorf("vm: kernel: %w (rebuild it: bpfstor kernel build --force)", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	// Unix socket paths are limited to 108 bytes: keep them short.
	sockDir, err := os.MkdirTemp("", "bpfstor-vm-")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	qmpSock, ctlSock := filepath.Join(sockDir, "qmp"), filepath.Join(sockDir, "ctl")
	args, err := Args(cfg, qmpSock, ctlSock)
	if err != nil {
		os.RemoveAll(sockDir)
		return nil, err
	}
	inst := &qemuInstance{
		cfg: cfg, args: append([]string{bin}, args...), sockDir: sockDir,
		console: filepath.Join(cfg.Dir, "console.log"),
		crashed: make(chan *Crash, 1), exited: make(chan struct{}), conDone: make(chan struct{}),
		evDone: make(chan struct{}),
	}
	conFile, err := os.Create(inst.console)
	if err != nil {
		os.RemoveAll(sockDir)
		return nil, fmt.Errorf("vm: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = nil
	cmd.Stderr = &inst.stderr
	// QEMU dies with us, even if we are killed; and Ctrl-C on the terminal
	// reaches only us, so we can stop it cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		conFile.Close()
		os.RemoveAll(sockDir)
		return nil, fmt.Errorf("vm: %w", err)
	}
	if err := cmd.Start(); err != nil {
		conFile.Close()
		os.RemoveAll(sockDir)
		return nil, fmt.Errorf("vm: start %s: %w", bin, err)
	}
	inst.cmd = cmd
	go inst.readConsole(out, conFile)
	go func() {
		<-inst.conDone // stdout drained before Wait closes it
		inst.exitErr = cmd.Wait()
		close(inst.exited)
	}()
	if cfg.Timeout > 0 {
		go func() {
			select {
			case <-time.After(cfg.Timeout):
				inst.Stop()
			case <-inst.exited:
			}
		}()
	}
	if err := inst.connect(qmpSock, ctlSock, 10*time.Second); err != nil {
		// A QEMU that dies right after start (bad option, KVM refusing the
		// CPU) breaks the sockets: say what it printed.
		select {
		case <-inst.exited:
			inst.Stop()
			return nil, fmt.Errorf("vm: qemu exited at start (%v): %s", inst.exitErr, lastLines(inst.stderr.String(), 5))
		case <-time.After(500 * time.Millisecond):
		}
		inst.Stop()
		if st := inst.stderr.String(); st != "" {
			return nil, fmt.Errorf("%w; qemu stderr: %s", err, lastLines(st, 5))
		}
		return nil, err
	}
	return inst, nil
}

// diskArgs is the QEMU command line of disk i: a drive and the NVMe
// controller(s) that expose it as namespace 1.
func diskArgs(i int, d Disk) ([]string, error) {
	for _, p := range []string{d.Path, d.BlkDebug} {
		if strings.ContainsAny(p, ",") {
			return nil, fmt.Errorf("vm: disk path %q contains a comma, which QEMU cannot parse", p)
		}
	}
	cache := d.Cache
	if cache == "" {
		cache = "writeback"
	}
	id := fmt.Sprintf("nvm%d", i)
	ro := "on"
	if d.Writable || d.Snapshot {
		ro = "off"
	}
	drive := fmt.Sprintf("file=%s,if=none,id=%s,format=raw,cache=%s,read-only=%s", d.Path, id, cache, ro)
	if d.BlkDebug != "" {
		drive = fmt.Sprintf("driver=raw,if=none,id=%s,cache=%s,read-only=%s,file.driver=blkdebug,file.config=%s,"+
			"file.image.driver=file,file.image.filename=%s", id, cache, ro, d.BlkDebug, d.Path)
	}
	if d.Snapshot {
		drive += ",snapshot=on"
	}
	if d.IOPS > 0 {
		drive += fmt.Sprintf(",throttling.iops-total=%d", d.IOPS)
	}
	serial := d.Serial
	if serial == "" {
		serial = fmt.Sprintf("bpfstor%d", i)
	}
	if strings.ContainsAny(serial, ", ") || len(serial) > 20 {
		return nil, fmt.Errorf("vm: disk serial %q must be at most 20 characters without commas or spaces", serial)
	}
	bs := ""
	if d.BlockSize != 0 {
		if d.BlockSize < 512 || d.BlockSize&(d.BlockSize-1) != 0 {
			return nil, fmt.Errorf("vm: disk block size %d is not a power of two >= 512", d.BlockSize)
		}
		bs = fmt.Sprintf(",logical_block_size=%d,physical_block_size=%d", d.BlockSize, d.BlockSize)
	}
	a := []string{"-drive", drive}
	if d.Paths <= 1 {
		return append(a, "-device", fmt.Sprintf("nvme,serial=%s,drive=%s%s", serial, id, bs)), nil
	}
	// One subsystem, d.Paths controllers, one namespace shared by all.
	sub := id + "-subsys"
	a = append(a, "-device", fmt.Sprintf("nvme-subsys,id=%s,nqn=bpfstor-%s", sub, id))
	for c := 0; c < d.Paths; c++ {
		a = append(a, "-device", fmt.Sprintf("nvme,serial=%s,subsys=%s,id=%s-c%d", serial, sub, id, c))
	}
	return append(a, "-device", fmt.Sprintf("nvme-ns,drive=%s,nsid=1,bus=%s-c0,shared=on%s", id, id, bs)), nil
}

func diskPaths(cfg Config) []string {
	var ps []string
	for _, d := range cfg.Disks {
		ps = append(ps, d.Path)
		if d.BlkDebug != "" {
			ps = append(ps, d.BlkDebug)
		}
	}
	return ps
}

// connect attaches to the QMP and control sockets once QEMU serves them.
// QEMU creates a socket file before it listens on it: a dial that finds no
// file or is refused is retried, every few milliseconds, as long as QEMU
// runs and until the deadline.
func (q *qemuInstance) connect(qmpSock, ctlSock string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var ctl net.Conn
	err := q.retryDial(ctlSock, deadline, timeout, func(d time.Duration) (err error) {
		ctl, err = net.DialTimeout("unix", ctlSock, d)
		return err
	})
	if err != nil {
		return fmt.Errorf("vm: control channel: %w", err)
	}
	q.ctl = ctl
	var mon *qmp.SocketMonitor
	err = q.retryDial(qmpSock, deadline, timeout, func(d time.Duration) (err error) {
		mon, err = qmp.NewSocketMonitor("unix", qmpSock, d)
		return err
	})
	if err != nil {
		return fmt.Errorf("vm: qmp: %w", err)
	}
	if err := withTimeout(time.Until(deadline), mon.Connect); err != nil {
		mon.Disconnect()
		return fmt.Errorf("vm: qmp handshake: %w", err)
	}
	q.mon = mon
	events, err := mon.Events(context.Background())
	if err != nil {
		return fmt.Errorf("vm: qmp events: %w", err)
	}
	go q.watchEvents(events)
	return nil
}

// watchEvents records QEMU's SHUTDOWN reason and turns GUEST_PANICKED
// into a crash, until the event stream ends.
func (q *qemuInstance) watchEvents(events <-chan qmp.Event) {
	defer close(q.evDone)
	for ev := range events {
		switch ev.Event {
		case "SHUTDOWN":
			reason, _ := ev.Data["reason"].(string)
			q.evMu.Lock()
			if q.shutdown == "" {
				q.shutdown = reason
			}
			q.evMu.Unlock()
		case "GUEST_PANICKED":
			select {
			case q.crashed <- &Crash{Kind: "panic", Line: fmt.Sprintf("QMP GUEST_PANICKED event (pvpanic): %v", ev.Data)}:
			default:
			}
		}
	}
}

// retryDial runs dial until it succeeds, fails other than "not there yet"
// (ENOENT, ECONNREFUSED), QEMU exits, or the deadline passes.
func (q *qemuInstance) retryDial(path string, deadline time.Time, timeout time.Duration, dial func(time.Duration) error) error {
	wait := 2 * time.Millisecond
	for tries := 1; ; tries++ {
		left := time.Until(deadline)
		if left <= 0 {
			left = time.Millisecond // one last try
		}
		err := dial(left)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return err
		}
		select {
		case <-q.exited:
			return fmt.Errorf("qemu exited at start (%v) before serving %s: %s", q.exitErr, path, lastLines(q.stderr.String(), 5))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qemu did not serve %s in %v (%d tries, last: %w): %s", path, timeout, tries, err, lastLines(q.stderr.String(), 5))
		}
		select {
		case <-q.exited:
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// withTimeout runs f, giving up waiting after d (f keeps running; it is
// unblocked when the machine ends and its sockets close).
func withTimeout(d time.Duration, f func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer in %v", d)
	}
}

func (q *qemuInstance) readConsole(r io.Reader, f *os.File) {
	defer close(q.conDone)
	defer func() {
		if err := f.Close(); err != nil && q.conErr == nil {
			q.conErr = err
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if _, werr := f.WriteString(line); werr != nil && q.conErr == nil {
				q.conErr = werr // scanning goes on: crashes are still seen
			}
			if c := ScanLine(line); c != nil {
				select {
				case q.crashed <- c:
				default: // only the first crash is reported
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (q *qemuInstance) Control() io.ReadWriter  { return q.ctl }
func (q *qemuInstance) ConsolePath() string     { return q.console }
func (q *qemuInstance) Crashed() <-chan *Crash  { return q.crashed }
func (q *qemuInstance) Exited() <-chan struct{} { return q.exited }
func (q *qemuInstance) Cmdline() []string       { return q.args }
func (q *qemuInstance) Stderr() string          { return q.stderr.String() }

// Shutdown is the reason of QEMU's QMP SHUTDOWN event ("guest-reset",
// "guest-shutdown", "guest-panic", "host-signal", "host-qmp-quit"...), ""
// if none came. Once QEMU has exited it waits briefly for the last events.
func (q *qemuInstance) Shutdown() string {
	select {
	case <-q.exited:
		select {
		case <-q.evDone:
		case <-time.After(time.Second):
		}
	default:
	}
	q.evMu.Lock()
	defer q.evMu.Unlock()
	return q.shutdown
}

// ConsoleErr is the first error writing console.log, once the machine
// has ended (nil before).
func (q *qemuInstance) ConsoleErr() error {
	select {
	case <-q.conDone:
		return q.conErr
	default:
		return nil
	}
}

func (q *qemuInstance) ExitErr() error {
	select {
	case <-q.exited:
		return q.exitErr
	default:
		return nil
	}
}

func (q *qemuInstance) QMP(command string, timeout time.Duration) ([]byte, error) {
	if q.mon == nil {
		return nil, errors.New("vm: qmp not connected")
	}
	var out []byte
	err := withTimeout(timeout, func() error {
		var err error
		out, err = q.mon.Run([]byte(command))
		return err
	})
	return out, err
}

// Stop asks QEMU to quit over QMP and kills it if it has not exited soon.
func (q *qemuInstance) Stop() error {
	q.stopOnce.Do(func() {
		select {
		case <-q.exited:
		default:
			if q.mon != nil {
				quit, _ := json.Marshal(qmp.Command{Execute: "quit"})
				_, _ = q.QMP(string(quit), 2*time.Second)
			}
			select {
			case <-q.exited:
			case <-time.After(3 * time.Second):
				_ = q.cmd.Process.Kill()
				select {
				case <-q.exited:
				case <-time.After(5 * time.Second):
					q.stopErr = fmt.Errorf("vm: qemu pid %d did not die after SIGKILL", q.cmd.Process.Pid)
				}
			}
		}
		if q.ctl != nil {
			q.ctl.Close()
		}
		if q.mon != nil {
			q.mon.Disconnect()
		}
		os.RemoveAll(q.sockDir)
	})
	return q.stopErr
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
