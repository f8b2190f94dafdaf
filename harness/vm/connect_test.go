package vm

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/internal/testfs"
)

// boundSocket makes a unix socket file at path that refuses connections
// (bound, not listening) — what QEMU's sockets are between creating the
// file and listening. listen starts accepting on it.
func boundSocket(t *testing.T, path string) (listen func() net.Listener) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	return func() net.Listener {
		if err := unix.Listen(fd, 8); err != nil {
			t.Error(err)
		}
		f := os.NewFile(uintptr(fd), path)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			t.Error(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
}

// serveQMP answers the QMP greeting and capabilities handshake.
func serveQMP(l net.Listener) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	c.Write([]byte(`{"QMP":{"version":{"qemu":{"micro":0,"minor":2,"major":7},"package":""},"capabilities":[]}}` + "\n"))
	bufio.NewReader(c).ReadString('\n')
	c.Write([]byte(`{"return":{}}` + "\n"))
}

// The control socket exists before QEMU accepts on it: connect retries a
// refused dial while QEMU runs (it used to fail at once, about one boot in
// twenty), gives up as soon as QEMU exits, and at the deadline.
func TestConnectRace(t *testing.T) {
	tests := []struct {
		name     string
		acceptIn time.Duration // 0: never
		exitIn   time.Duration // 0: never
		timeout  time.Duration
		want     string // "" for success
	}{
		{"refused, then served", 150 * time.Millisecond, 0, 5 * time.Second, ""},
		{"refused until qemu exits", 0, 150 * time.Millisecond, 5 * time.Second, "qemu exited at start"},
		{"refused until the deadline", 0, 0, 300 * time.Millisecond, "did not serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "bpfstor-conn-") // short: unix socket paths are limited
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			qmpSock, ctlSock := filepath.Join(dir, "qmp"), filepath.Join(dir, "ctl")
			listenCtl, listenQMP := boundSocket(t, ctlSock), boundSocket(t, qmpSock)
			q := &qemuInstance{exited: make(chan struct{}), evDone: make(chan struct{})}
			q.stderr.Write([]byte("qemu-system-x86_64: some start-up complaint\n"))
			if tt.acceptIn > 0 {
				time.AfterFunc(tt.acceptIn, func() {
					lc := listenCtl()
					go func() {
						if c, err := lc.Accept(); err == nil {
							t.Cleanup(func() { c.Close() })
						}
					}()
					go serveQMP(listenQMP())
				})
			}
			if tt.exitIn > 0 {
				time.AfterFunc(tt.exitIn, func() { close(q.exited) })
			}
			start := time.Now()
			err = q.connect(qmpSock, ctlSock, tt.timeout)
			took := time.Since(start)
			if q.ctl != nil {
				q.ctl.Close()
			}
			if q.mon != nil {
				q.mon.Disconnect()
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "start-up complaint") {
				t.Fatalf("connect: %v, want %q with QEMU's stderr", err, tt.want)
			}
			if took > tt.timeout+time.Second {
				t.Errorf("connect took %v, bound %v", took, tt.timeout)
			}
		})
	}
}

// QEMU's QMP events are read: the SHUTDOWN reason is kept (it tells a
// guest reboot from a host signal) and GUEST_PANICKED is a crash.
func TestQMPEvents(t *testing.T) {
	dir, err := os.MkdirTemp("", "bpfstor-qmpev-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	qmpSock, ctlSock := filepath.Join(dir, "qmp"), filepath.Join(dir, "ctl")
	lc, lq := boundSocket(t, ctlSock)(), boundSocket(t, qmpSock)()
	go func() {
		if c, err := lc.Accept(); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	sent := make(chan struct{})
	go func() {
		c, err := lq.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(`{"QMP":{"version":{"qemu":{"micro":0,"minor":2,"major":7},"package":""},"capabilities":[]}}` + "\n"))
		bufio.NewReader(c).ReadString('\n')
		c.Write([]byte(`{"return":{}}` + "\n"))
		<-sent
		c.Write([]byte(`{"timestamp":{"seconds":1,"microseconds":2},"event":"GUEST_PANICKED","data":{"action":"pause"}}` + "\n"))
		c.Write([]byte(`{"timestamp":{"seconds":1,"microseconds":3},"event":"SHUTDOWN","data":{"guest":true,"reason":"guest-panic"}}` + "\n"))
		c.Write([]byte(`{"timestamp":{"seconds":1,"microseconds":4},"event":"SHUTDOWN","data":{"guest":false,"reason":"host-qmp-quit"}}` + "\n"))
	}()
	q := &qemuInstance{exited: make(chan struct{}), evDone: make(chan struct{}), crashed: make(chan *Crash, 1)}
	if err := q.connect(qmpSock, ctlSock, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	defer q.ctl.Close()
	close(sent)
	select {
	case c := <-q.crashed:
		if c.Kind != "panic" || !strings.Contains(c.Line, "GUEST_PANICKED") {
			t.Errorf("crash %v", c)
		}
	case <-time.After(5 * time.Second):
		t.Error("GUEST_PANICKED did not make a crash")
	}
	<-q.evDone // the server closed the socket
	close(q.exited)
	if got := q.Shutdown(); got != "guest-panic" {
		t.Errorf("Shutdown() = %q, want the first reason, guest-panic", got)
	}
}

// A console that cannot be written (full disk) is reported, and crashes
// on it are still seen.
func TestConsoleFullDisk(t *testing.T) {
	dir, _ := testfs.Full(t)
	f, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	q := &qemuInstance{crashed: make(chan *Crash, 1), conDone: make(chan struct{})}
	lines := strings.Repeat("[    0.100000] booting along\n", 2000) + "[    1.000000] Kernel panic - not syncing: VFS: Unable to mount root fs\n"
	q.readConsole(strings.NewReader(lines), f)
	if err := q.ConsoleErr(); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("ConsoleErr() = %v, want ENOSPC", err)
	}
	select {
	case c := <-q.crashed:
		if c.Kind != "panic" {
			t.Errorf("crash %v", c)
		}
	default:
		t.Error("the panic on a console that could not be written was not seen")
	}
}
