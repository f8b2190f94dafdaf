package storfn

import "unsafe"

// Pointer is a 64-bit user pointer in a kernel ABI struct (__aligned_u64
// in chain_read_args and union bpf_attr), as cilium/ebpf's internal
// sys.Pointer: an unsafe.Pointer, so that the garbage collector sees the
// memory it points to (and keeps it while the struct is reachable).
// bpfstor runs on 64-bit platforms only, where it is 8 bytes.
type Pointer struct {
	ptr unsafe.Pointer
}

var _ [unsafe.Sizeof(Pointer{}) - 8]struct{}
var _ [8 - unsafe.Sizeof(Pointer{})]struct{}

// NewPointer wraps p.
func NewPointer(p unsafe.Pointer) Pointer { return Pointer{ptr: p} }

// BadPointer is a pointer the kernel must refuse (EFAULT), for tests of
// its argument checks: an address in no mapping, never dereferenced by
// Go. It is built with unsafe.Add from nil so go vet accepts it.
func BadPointer(addr uintptr) Pointer { return Pointer{ptr: unsafe.Add(nil, addr)} }

// Addr is the address held.
func (p Pointer) Addr() uintptr { return uintptr(p.ptr) }
