package workload

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// preadRaw is pread(2) without the Go scheduler's syscall hooks
// (RawSyscall): a blocking unix.Pread lets sysmon hand the P to another
// thread after 20 µs, and the wake-ups that costs are large under TCG and
// land inside the measured latency. A measurement loop owns its thread, so
// it can block it as a C program would.
func preadRaw(fd int, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(off), 0, 0)
	if e != 0 {
		return int(n), e
	}
	return int(n), nil
}

// preadFull reads len(p) bytes at off with preadRaw; an error or a short
// read is an error naming the offset.
func preadFull(fd int, p []byte, off int64) error {
	n, err := preadRaw(fd, p, off)
	if err != nil {
		return fmt.Errorf("pread at %d: %w", off, err)
	}
	if n != len(p) {
		return fmt.Errorf("pread at %d: short read %d of %d", off, n, len(p))
	}
	return nil
}
