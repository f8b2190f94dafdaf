package workload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/harness/proto"
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
// system (proto.Job.FS) holds it: for proto.FSExt4 it mounts the data disk
// read-only at proto.DataMount and returns the path of the data file on
// it, with the function that unmounts it; for proto.FSRaw it returns the
// device itself. The error is one line naming the problem.
func MountData(job *proto.Job) (path string, unmount func() error, err error) {
	switch job.FS {
	case proto.FSRaw:
		return job.Device, func() error { return nil }, nil
	case proto.FSExt4:
	default:
		return "", nil, fmt.Errorf("data file system %q (data.fs): this agent knows %q", job.FS, proto.FSNames)
	}
	if err := os.MkdirAll(proto.DataMount, 0o755); err != nil {
		return "", nil, fmt.Errorf("mount point %s: %w", proto.DataMount, err)
	}
	if err := unix.Mount(job.Device, proto.DataMount, job.FS, unix.MS_RDONLY, ""); err != nil {
		why := "the data disk cannot be mounted"
		switch {
		case errors.Is(err, unix.EINVAL):
			why = fmt.Sprintf("the data image is not %s (data.fs)", job.FS)
		case errors.Is(err, unix.ENODEV):
			why = fmt.Sprintf("this kernel has no %s (CONFIG_EXT4_FS)", job.FS)
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO):
			why = "no data disk"
		}
		return "", nil, fmt.Errorf("mount %s as %s: %w: %s", job.Device, job.FS, named(err), why)
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
		return "", nil, err
	}
	return path, unmount, nil
}

// dataPath is where the workloads read the data image: Env.Data, or the
// job's device when no data file system was mounted (tests).
func (e *Env) dataPath() string {
	if e.Data != "" {
		return e.Data
	}
	return e.Job.Device
}

// onFile reports whether the data is a file on a file system (Job.FS).
func (e *Env) onFile() bool { return e.Job.FS != proto.FSRaw }

// chainOnFile is the error of a chain on the data file that the kernel
// refused with ENOTBLK, what a kernel without issue 14's file extent
// translation returns for anything but a block device; other errors are
// returned as they are.
func chainOnFile(env *Env, mode string, err error) error {
	if err == nil || !env.onFile() || !errors.Is(err, unix.ENOTBLK) {
		return err
	}
	call := "chain_read"
	if uringChainMode(mode) {
		call = "IORING_OP_CHAIN_READ"
	}
	return fmt.Errorf("%s on a file: %w: this kernel cannot chain on files (issue 14's patches)", call, errnoName{unix.ENOTBLK})
}
