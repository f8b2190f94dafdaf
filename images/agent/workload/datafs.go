package workload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
	model "github.com/bpfstor/bpfstor/harness/workload"
)

// errnoName is an errno that prints as its name (ENOTBLK), for one-line
// errors that say which errno the kernel returned; errors.Is sees the
// errno.
type errnoName struct{ unix.Errno }

func (e errnoName) Error() string {
	if n := unix.ErrnoName(e.Errno); n != "" {
		return n
	}
	return e.Errno.Error()
}

func (e errnoName) Unwrap() error { return e.Errno }

// named is err's errno by name when err is one, else err.
func named(err error) error {
	var en unix.Errno
	if errors.As(err, &en) {
		return errnoName{en}
	}
	return err
}

// MountData makes the job's data readable as a file where its data file
// system (proto.Job.FS) holds it: for proto.FSExt4 it mounts the disk
// with serial proto.FSSerial read-only at proto.DataMount and returns the
// path of the data file on it and that disk's device, with the function
// that unmounts it; for proto.FSRaw it returns "" and the job's device.
// The error is one line naming the problem.
func MountData(job *proto.Job) (path, dev string, unmount func() error, err error) {
	switch job.FS {
	case proto.FSRaw:
		return "", job.Device, func() error { return nil }, nil
	case proto.FSExt4:
	default:
		return "", "", nil, fmt.Errorf("data file system %q (data.fs): this agent knows %q", job.FS, proto.FSNames)
	}
	if dev, err = diskBySerial(proto.FSSerial); err != nil {
		return "", "", nil, err
	}
	if err := os.MkdirAll(proto.DataMount, 0o755); err != nil {
		return "", "", nil, fmt.Errorf("mount point %s: %w", proto.DataMount, err)
	}
	if err := unix.Mount(dev, proto.DataMount, job.FS, unix.MS_RDONLY, ""); err != nil {
		why := "the data disk cannot be mounted"
		switch {
		case errors.Is(err, unix.EINVAL):
			why = fmt.Sprintf("the data image is not %s (data.fs)", job.FS)
		case errors.Is(err, unix.ENODEV):
			why = fmt.Sprintf("this kernel has no %s (CONFIG_EXT4_FS)", job.FS)
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO):
			why = "no data disk"
		}
		return "", "", nil, fmt.Errorf("mount %s as %s: %w: %s", dev, job.FS, named(err), why)
	}
	unmount = func() error {
		if err := unix.Unmount(proto.DataMount, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", proto.DataMount, named(err))
		}
		return nil
	}
	path = filepath.Join(proto.DataMount, proto.DataFile)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		err = fmt.Errorf("the %s data image holds no %s (data.fs): %w", job.FS, proto.DataFile, named(err))
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s on the %s data image is not a regular file (%s)", proto.DataFile, job.FS, fi.Mode().Type())
	}
	if err != nil {
		unmount()
		return "", "", nil, err
	}
	return path, dev, unmount, nil
}

// diskBySerial is the NVMe namespace (/dev/nvmeXnY) whose controller has
// the serial.
func diskBySerial(serial string) (string, error) {
	ents, _ := filepath.Glob("/sys/block/nvme*n*/device/serial")
	for _, p := range ents {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == serial {
			return "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(p))), nil
		}
	}
	return "", fmt.Errorf("no NVMe disk with serial %q: the data file system's disk (data.fs) is missing", serial)
}

// dataPath is where workload w reads the data image: the data file
// (Env.Data) if it reads the file (w.On), else the job's device.
func (e *Env) dataPath(w proto.Workload) string {
	if e.onFile(w) {
		return e.Data
	}
	return e.Job.Device
}

// dataDevice is the block device under dataPath(w), whose diskstats
// count w's commands.
func (e *Env) dataDevice(w proto.Workload) string {
	if e.onFile(w) && e.DataDevice != "" {
		return e.DataDevice
	}
	return e.Job.Device
}

// onFile reports whether w reads the data file on the job's data file
// system.
func (e *Env) onFile(w proto.Workload) bool {
	return w.On == model.OnFile && e.Data != ""
}

// chainOnFile is the error of a chain on the data file that the kernel
// refused with ENOTBLK, what a kernel without issue 14's file extent
// translation returns for anything but a block device; other errors are
// returned as they are.
func chainOnFile(env *Env, w proto.Workload, err error) error {
	if err == nil || !env.onFile(w) || !errors.Is(err, unix.ENOTBLK) {
		return err
	}
	call := "chain_read"
	if uringChainMode(w.Mode) {
		call = "IORING_OP_CHAIN_READ"
	}
	return fmt.Errorf("%s on a file: %w: this kernel cannot chain on files (issue 14's patches)", call, errnoName{unix.ENOTBLK})
}
