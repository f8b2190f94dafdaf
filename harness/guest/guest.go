// Package guest runs one job in one machine: boot, wait for the agent's
// hello, send the job, collect the points it streams back, and end the
// machine, whatever happens. It never loses a point the guest sent: a crash
// or timeout returns the points received so far with the reason.
package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/vm"
)

// Options bound the phases of a job.
type Options struct {
	// BootTimeout bounds start to hello.
	BootTimeout time.Duration
	// JobTimeout bounds hello to done.
	JobTimeout time.Duration
	// OnPoint, if set, is called with every point as it arrives.
	OnPoint func(*proto.Point)
	// OnLog, if set, receives the agent's log lines.
	OnLog func(string)

	// start starts the machine (vm.Start; a fake machine in tests).
	start func(vm.Config) (vm.Instance, error)
}

// Outcome is what a job produced.
type Outcome struct {
	Hello  *proto.Hello
	Points []*proto.Point
	// Complete is true when the agent reported done and the machine ended
	// without a crash.
	Complete bool
	// Reason says why the job is not complete; Err is its kind (one of
	// the Err* values above).
	Reason string
	Err    error
	Crash  *vm.Crash
	// BootTime is machine start to the agent's hello.
	BootTime time.Duration
	Cmdline  []string
	Console  string
}

// Why a job is not complete: Outcome.Err matches one of these (errors.Is),
// so callers need not parse Reason.
var (
	// ErrNoHello: the guest never said hello within the boot timeout.
	ErrNoHello = errors.New("guest never reported")
	// ErrInterrupted: the context was cancelled (Ctrl-C, SIGTERM).
	ErrInterrupted = errors.New("interrupted")
	// ErrCrash: the kernel crashed (Outcome.Crash says how).
	ErrCrash = errors.New("kernel crash")
	// ErrQEMUExited: QEMU died (killed, or exited non-zero).
	ErrQEMUExited = errors.New("QEMU exited")
	// ErrMachineEnded: the guest ended the machine, or its agent the
	// control channel, before the job was done.
	ErrMachineEnded = errors.New("machine ended")
	// ErrJobTimeout: the job was not done within the job timeout.
	ErrJobTimeout = errors.New("job timeout")
	// ErrAgent: the agent reported an error or the channel broke.
	ErrAgent = errors.New("agent error")
	// ErrConsole: the job completed but console.log could not be written.
	ErrConsole = errors.New("console not recorded")
)

type recvResult struct {
	m   *proto.Message
	err error
}

// Run boots cfg, runs job and always stops the machine. The returned error
// is set only when the machine could not be started at all; every other
// failure is in the outcome (Complete false, Reason, Crash).
func Run(ctx context.Context, cfg vm.Config, job *proto.Job, opt Options) (*Outcome, error) {
	if opt.BootTimeout == 0 {
		opt.BootTimeout = 30 * time.Second
	}
	if opt.JobTimeout == 0 {
		opt.JobTimeout = 10 * time.Minute
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = opt.BootTimeout + opt.JobTimeout + 30*time.Second
	}
	if opt.start == nil {
		opt.start = vm.Start
	}
	start := time.Now()
	inst, err := opt.start(cfg)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Cmdline: inst.Cmdline(), Console: inst.ConsolePath()}
	defer func() {
		inst.Stop()
		// A crash printed while the machine went down still counts.
		if out.Crash == nil {
			if b, err := os.ReadFile(inst.ConsolePath()); err == nil {
				out.Crash = vm.ScanConsole(string(b), 40)
			}
		}
		if out.Crash != nil {
			out.Complete = false
			out.Reason = fmt.Sprintf("kernel crash: %s (console: %s)", out.Crash, inst.ConsolePath())
			out.Err = ErrCrash
		}
		// A console that could not be written is a record lost: say so.
		if err := inst.ConsoleErr(); err != nil {
			if out.Reason != "" {
				out.Reason += "; "
			}
			out.Reason += fmt.Sprintf("console %s incomplete: %v", inst.ConsolePath(), err)
			if out.Complete {
				out.Complete, out.Err = false, ErrConsole
			}
		}
	}()

	conn := proto.NewConn(inst.Control(), inst.Control())
	msgs := make(chan recvResult, 16)
	go func() {
		for {
			m, err := conn.Recv()
			msgs <- recvResult{m, err}
			if err != nil {
				return
			}
		}
	}()

	fail := func(kind error, format string, args ...any) (*Outcome, error) {
		out.Reason = fmt.Sprintf(format, args...)
		out.Err = kind
		return out, nil
	}
	consoleTail := func() string {
		b, _ := os.ReadFile(inst.ConsolePath())
		return tail(string(b), 8)
	}
	// ended says why the machine went away before phase: QEMU's exit
	// status or signal and its stderr when QEMU died, the console when the
	// guest ended it. A control channel that closed while QEMU still runs
	// is given a moment to be followed by QEMU's exit.
	ended := func(phase string) (*Outcome, error) {
		select {
		case <-inst.Exited():
		case <-time.After(2 * time.Second):
			return fail(ErrMachineEnded, "control channel closed %s while QEMU still runs (the guest agent died?); console %s tail: %s", phase, inst.ConsolePath(), consoleTail())
		}
		st, clean := exitStatus(inst.ExitErr())
		switch sd := inst.Shutdown(); {
		case !clean:
			return fail(ErrQEMUExited, "QEMU exited (%s) %s; QEMU stderr: %s; console %s tail: %s", st, phase, orNone(tail(inst.Stderr(), 5)), inst.ConsolePath(), consoleTail())
		case sd == "host-signal" || sd == "host-ui":
			// SIGTERM/SIGINT/SIGHUP to QEMU: it exits 0, but the host stopped it.
			return fail(ErrQEMUExited, "QEMU was stopped from the host (QMP SHUTDOWN %s: a signal such as SIGTERM) %s; QEMU stderr: %s; console %s tail: %s", sd, phase, orNone(tail(inst.Stderr(), 5)), inst.ConsolePath(), consoleTail())
		case sd != "":
			return fail(ErrMachineEnded, "the guest ended the machine (QMP SHUTDOWN %s) %s; console %s tail: %s", sd, phase, inst.ConsolePath(), consoleTail())
		}
		return fail(ErrMachineEnded, "the guest ended the machine (QEMU exit status 0) %s; console %s tail: %s", phase, inst.ConsolePath(), consoleTail())
	}
	// Phase 1: hello.
	boot := time.NewTimer(opt.BootTimeout)
	defer boot.Stop()
	for out.Hello == nil {
		select {
		case <-ctx.Done():
			return fail(ErrInterrupted, "interrupted while booting: %v", ctx.Err())
		case c := <-inst.Crashed():
			out.Crash = c
			return fail(ErrCrash, "kernel crash while booting")
		case <-inst.Exited():
			return ended("before the agent reported")
		case <-boot.C:
			return fail(ErrNoHello, "%v after %v (boot timeout); console %s tail: %s", ErrNoHello, opt.BootTimeout, inst.ConsolePath(), consoleTail())
		case r := <-msgs:
			if r.err != nil {
				return ended("before the agent reported")
			}
			if r.m.Type == proto.TypeHello && r.m.Hello != nil {
				out.Hello = r.m.Hello
				out.BootTime = time.Since(start)
			}
		}
	}
	if err := conn.Send(&proto.Message{Type: proto.TypeJob, Job: job}); err != nil {
		return fail(ErrAgent, "send job: %v", err)
	}
	point := func(p *proto.Point) {
		if p == nil {
			return
		}
		out.Points = append(out.Points, p)
		if opt.OnPoint != nil {
			opt.OnPoint(p)
		}
	}
	// drain keeps the points that arrive within d, until the channel
	// ends: the last messages of a machine that is going down. It reports
	// whether the agent said done among them.
	drain := func(d time.Duration) (done bool) {
		t := time.NewTimer(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				return done
			case r := <-msgs:
				if r.err != nil {
					return done
				}
				switch r.m.Type {
				case proto.TypePoint:
					point(r.m.Point)
				case proto.TypeDone:
					done = true
				}
			}
		}
	}
	// Phase 2: points until done.
	jt := time.NewTimer(opt.JobTimeout)
	defer jt.Stop()
	for {
		select {
		case <-ctx.Done():
			return fail(ErrInterrupted, "interrupted: %v", ctx.Err())
		case c := <-inst.Crashed():
			out.Crash = c
			// Give the kernel a moment to print the rest of its report,
			// and keep the points the agent sent before the crash: the
			// console can report the crash before the control channel
			// delivers them.
			drain(2 * time.Second)
			return fail(ErrCrash, "kernel crash")
		case <-inst.Exited():
			// The agent reboots the machine after done: the messages it
			// sent before may still be on their way to this loop.
			if drain(2 * time.Second) {
				out.Complete = true
				return out, nil
			}
			return ended("before the job was done")
		case <-jt.C:
			return fail(ErrJobTimeout, "job not done after %v (job timeout); console %s tail: %s", opt.JobTimeout, inst.ConsolePath(), consoleTail())
		case r := <-msgs:
			if r.err != nil {
				if r.err == io.EOF {
					return ended("before the job was done")
				}
				return fail(ErrAgent, "control channel: %v", r.err)
			}
			switch r.m.Type {
			case proto.TypePoint:
				point(r.m.Point)
			case proto.TypeLog:
				if opt.OnLog != nil {
					opt.OnLog(r.m.Text)
				}
			case proto.TypeError:
				return fail(ErrAgent, "agent: %s", r.m.Text)
			case proto.TypeDone:
				out.Complete = true
				// The agent reboots the machine now; wait briefly for it.
				select {
				case <-inst.Exited():
				case <-time.After(10 * time.Second):
				}
				return out, nil
			}
		}
	}
}

// exitStatus describes how QEMU ended; guest is true for a clean exit
// (status 0: the guest rebooted or powered off, -no-reboot).
func exitStatus(err error) (desc string, guest bool) {
	if err == nil {
		return "exit status 0", true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %d, %v", int(ws.Signal()), ws.Signal()), false
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode()), false
	}
	return err.Error(), false
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
