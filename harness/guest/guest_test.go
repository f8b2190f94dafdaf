package guest

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// fakeMachine is a vm.Instance whose "guest" is the test: the test end of
// the control channel speaks the agent's protocol; end makes the machine
// exit with a real process's exit error and a QMP SHUTDOWN reason.
type fakeMachine struct {
	ctl, agent net.Conn
	console    string
	crashed    chan *vm.Crash
	exited     chan struct{}
	once       sync.Once
	exitErr    error
	shutdown   string
	stderr     string
}

func newFake(t *testing.T) *fakeMachine {
	a, b := net.Pipe()
	con := filepath.Join(t.TempDir(), "console.log")
	os.WriteFile(con, []byte("[    0.1] booting\n"), 0o644)
	return &fakeMachine{ctl: a, agent: b, console: con, crashed: make(chan *vm.Crash, 1), exited: make(chan struct{})}
}

func (f *fakeMachine) end(exitErr error, shutdown string) {
	f.once.Do(func() {
		f.exitErr, f.shutdown = exitErr, shutdown
		f.agent.Close()
		close(f.exited)
	})
}

func (f *fakeMachine) Control() io.ReadWriter    { return f.ctl }
func (f *fakeMachine) ConsolePath() string       { return f.console }
func (f *fakeMachine) Crashed() <-chan *vm.Crash { return f.crashed }
func (f *fakeMachine) Exited() <-chan struct{}   { return f.exited }
func (f *fakeMachine) ExitErr() error            { return f.exitErr }
func (f *fakeMachine) Shutdown() string          { return f.shutdown }
func (f *fakeMachine) ConsoleErr() error         { return nil }
func (f *fakeMachine) Cmdline() []string         { return []string{"fake"} }
func (f *fakeMachine) Stderr() string            { return f.stderr }
func (f *fakeMachine) QMP(string, time.Duration) ([]byte, error) {
	return nil, errors.New("fake")
}
func (f *fakeMachine) Stop() error {
	f.end(nil, "host-qmp-quit")
	f.ctl.Close()
	return nil
}

// exitOf runs a real process that ends as script does and returns its
// exit error (an *exec.ExitError, with its signal when killed).
func exitOf(t *testing.T, script string) error {
	err := exec.Command("sh", "-c", script).Run()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return err
}

// guest.Run's blame, machine by machine: how it ended decides the reason
// and the typed error; the point sent before is always kept.
func TestRunBlame(t *testing.T) {
	tests := []struct {
		name     string
		exit     string // shell script whose exit status QEMU "had"
		shutdown string
		stillUp  bool // the channel closes, the machine keeps running
		want     string
		kind     error
	}{
		{"qemu killed", "kill -9 $$", "", false, "QEMU exited (killed by signal 9, killed) before the job was done; QEMU stderr: qemu: some complaint", ErrQEMUExited},
		{"qemu failed", "exit 3", "", false, "QEMU exited (exit status 3) before the job was done", ErrQEMUExited},
		{"qemu SIGTERM", "exit 0", "host-signal", false, "QEMU was stopped from the host (QMP SHUTDOWN host-signal", ErrQEMUExited},
		{"guest reboot", "exit 0", "guest-reset", false, "the guest ended the machine (QMP SHUTDOWN guest-reset) before the job was done", ErrMachineEnded},
		{"guest, no event", "exit 0", "", false, "the guest ended the machine (QEMU exit status 0)", ErrMachineEnded},
		{"agent died", "", "", true, "control channel closed before the job was done while QEMU still runs (the guest agent died?)", ErrMachineEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFake(t)
			m.stderr = "qemu: some complaint\n"
			var exitErr error
			if tt.exit != "" {
				exitErr = exitOf(t, tt.exit)
			}
			go func() { // the agent: hello, one point, then the machine goes
				c := proto.NewConn(m.agent, m.agent)
				c.Send(&proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{KernelRelease: "6.12"}})
				if _, err := c.Recv(); err != nil { // the job
					return
				}
				c.Send(&proto.Message{Type: proto.TypePoint, Point: &proto.Point{ID: "p1", Status: proto.StatusOK}})
				time.Sleep(50 * time.Millisecond)
				if tt.stillUp {
					m.agent.Close()
					return
				}
				m.end(exitErr, tt.shutdown)
			}()
			out, err := Run(context.Background(), vm.Config{}, &proto.Job{Name: "t"},
				Options{BootTimeout: 5 * time.Second, JobTimeout: 10 * time.Second,
					start: func(vm.Config) (vm.Instance, error) { return m, nil }})
			if err != nil {
				t.Fatal(err)
			}
			if out.Complete || !errors.Is(out.Err, tt.kind) || !strings.Contains(out.Reason, tt.want) {
				t.Errorf("outcome %v: %q, want %v: %q", out.Err, out.Reason, tt.kind, tt.want)
			}
			if len(out.Points) != 1 {
				t.Errorf("%d points kept, want 1", len(out.Points))
			}
		})
	}
}

// No hello within the boot timeout: ErrNoHello, naming the console.
func TestRunBootTimeout(t *testing.T) {
	m := newFake(t)
	out, err := Run(context.Background(), vm.Config{}, &proto.Job{Name: "t"},
		Options{BootTimeout: 100 * time.Millisecond, start: func(vm.Config) (vm.Instance, error) { return m, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(out.Err, ErrNoHello) || !strings.Contains(out.Reason, m.console) {
		t.Errorf("outcome %v: %q", out.Err, out.Reason)
	}
}
