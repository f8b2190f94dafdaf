package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstor/bpfstor/bpf/objs"
	"github.com/bpfstor/bpfstor/bpf/storfn"
	"github.com/bpfstor/bpfstor/kernel/selftest/testdisk"
)

// Chains on regular files (patches 14-16): offsets are file offsets,
// translated through the file's block map; a chain never reads a block
// of another file, and ends with ERANGE past the end of the file,
// ENODATA in a hole or an unwritten extent, ESTALE when the block map
// changed under it.

const (
	ext4Mount  = "/mnt/bpfstor-ext4"
	tmpfsMount = "/mnt/bpfstor-tmpfs"
	// raceTime is how long each change races with chains.
	raceTime = 30 * time.Second
	// raceFileSize is each race file's size when it is whole.
	raceFileSize = 2 << 20
	// racePeriod is the collapse file's header period and collapse size.
	racePeriod = 64 << 10
	// chainsPerFile is the chain threads racing with each change.
	chainsPerFile = 4
	// moveSize is the range the move-ext race moves, again and again.
	moveSize = 64 << 10
)

// Ioctls and flags x/sys/unix lacks.
const (
	fibmap           = 1          // FIBMAP
	ext4IocMoveExt   = 0xc028660f // EXT4_IOC_MOVE_EXT: _IOWR('f', 15, struct move_extent)
	fsInlineDataFl   = 0x10000000 // FS_INLINE_DATA_FL (EXT4_INLINE_DATA_FL)
	fsExtentFl       = 0x00080000 // FS_EXTENT_FL
	fallocPunchKeep  = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	moveExtentStruct = int(unsafe.Sizeof(moveExtent{})) // 40
)

// struct move_extent
type moveExtent struct {
	Reserved   uint32
	DonorFD    uint32
	OrigStart  uint64 // in file system blocks
	DonorStart uint64
	Len        uint64
	MovedLen   uint64
}

var _ = [1]struct{}{}[moveExtentStruct-40]

// fsEnv is a mounted ext4 test disk and the walk program.
type fsEnv struct {
	*env
	walk     *objs.WalkObjects
	disk     string // /dev/nvmeXnY
	blksize  int64
	nextFile atomic.Uint64
}

func (e *env) mountExt4() (*fsEnv, error) { return e.mountExt4With("") }

// mountExt4With mounts the ext4 test disk with extra mount options.
func (e *env) mountExt4With(opts string) (*fsEnv, error) {
	disk, err := findDisk(testdisk.Serial(testdisk.Ext4))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(ext4Mount, 0o755); err != nil {
		return nil, err
	}
	// commit=1: freed blocks are free for others a second later, so the
	// races reuse them while chains run
	if opts != "" {
		opts = "," + opts
	}
	if err := unix.Mount(disk, ext4Mount, "ext4", 0, "commit=1"+opts); err != nil {
		return nil, fmt.Errorf("mount %s as ext4 at %s: %w (CONFIG_EXT4_FS?)", disk, ext4Mount, err)
	}
	var w objs.WalkObjects
	if err := storfn.LoadObjects(objs.LoadWalk, &w); err != nil {
		unix.Unmount(ext4Mount, 0)
		return nil, err
	}
	fe := &fsEnv{env: e, walk: &w, disk: disk, blksize: 4096}
	fe.nextFile.Store(100)
	return fe, nil
}

// mountTree mounts the ext4 test disk and opens its tree file
// (O_DIRECT).
func (e *env) mountTree() (*fsEnv, *dev, error) {
	fe, err := e.mountExt4()
	if err != nil {
		return nil, nil, err
	}
	tree, err := openDev(fe.path(testdisk.TreeFile))
	if err != nil {
		fe.close()
		return nil, nil, err
	}
	return fe, tree, nil
}

func (fe *fsEnv) close() {
	fe.walk.Close()
	if err := unix.Unmount(ext4Mount, 0); err != nil {
		fe.logf("unmount %s: %v", ext4Mount, err)
	}
}

func (fe *fsEnv) path(name string) string { return filepath.Join(ext4Mount, name) }

// seen reads the walk program's counts over all chains so far.
func (fe *fsEnv) seen() ([storfn.WalkKinds]uint64, error) {
	var out [storfn.WalkKinds]uint64
	for k := range out {
		if err := fe.walk.WalkSeen.Lookup(uint32(k), &out[k]); err != nil {
			return out, fmt.Errorf("walk_seen[%d]: %w", k, err)
		}
	}
	return out, nil
}

// walkChain runs the walk program on fd from off: depth blocks of size
// bytes, stride apart.
func (fe *fsEnv) walkChain(fd int, off int64, size int, s storfn.WalkScratch, flags uint32) ([]byte, storfn.WalkScratch, storfn.Stats, error) {
	buf := make([]byte, size)
	scr := s.Marshal()
	n, st, err := storfn.ChainReadStats(fd, buf, off, fe.walk.Walk.FD(), scr, flags)
	out, _ := storfn.UnmarshalWalkScratch(scr)
	return buf[:n], out, st, err
}

// writeWalkFile creates name with size bytes of walk units of file id
// (offsets modulo period), written with O_DIRECT and synced.
func (fe *fsEnv) writeWalkFile(name string, id uint64, size, period int64) (*os.File, error) {
	f, err := os.OpenFile(fe.path(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT, 0o644)
	if err != nil {
		return nil, err
	}
	if err := writeWalk(f, id, 0, size, period, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, f.Sync()
}

// writeWalk writes walk units of file id over [off, off+n) of f with
// O_DIRECT (f must be open so), through an aligned buffer.
func writeWalk(f *os.File, id uint64, off, n, period, ver int64) error {
	const chunk = 64 << 10
	buf, err := pageBuf(chunk)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf)
	for done := int64(0); done < n; done += chunk {
		m := min(chunk, n-done)
		storfn.FillWalk(buf[:m], storfn.WalkMagicFile, id, uint64(off+done), uint64(period), uint64(ver))
		if _, err := unix.Pwrite(int(f.Fd()), buf[:m], off+done); err != nil {
			return fmt.Errorf("write %s at %d: %w", f.Name(), off+done, err)
		}
	}
	return nil
}

// physical is the device byte address of byte off of f (FIBMAP).
func physical(f *os.File, off, blksize int64) (int64, error) {
	blk := int32(off / blksize)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fibmap, uintptr(unsafe.Pointer(&blk))); e != 0 {
		return 0, fmt.Errorf("FIBMAP %s: %w", f.Name(), e)
	}
	return int64(blk)*blksize + off%blksize, nil
}

func inodeFlags(f *os.File) (int, error) {
	return unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
}

// setInodeFlags sets and clears inode flags (chattr), keeping the others.
func setInodeFlags(f *os.File, set, clear int) error {
	fl, err := inodeFlags(f)
	if err != nil {
		return err
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, fl&^clear|set)
}

// testFileIdentical: chains on the tree file of the ext4 test disk equal
// pread chains on the file and chains on the twin disk, which holds the
// same bytes raw, at both levels.
func testFileIdentical(e *env) (string, error) {
	fe, tree, err := e.mountTree()
	if err != nil {
		return "", err
	}
	defer fe.close()
	defer tree.close()
	twin, err := e.testDisk(testdisk.Twin)
	if err != nil {
		return "", err
	}
	defer twin.close()
	if tree.size != twin.size {
		return "", fmt.Errorf("tree file %d bytes, twin disk %d", tree.size, twin.size)
	}
	fenv := e.on(tree)
	fenv.budgeted = true // the driver hands hops outside the chain's extents back
	r, err := newReader(tree.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	n, hops, driver := 0, uint32(0), uint32(0)
	for depth := 1; depth <= 16; depth++ {
		for _, fl := range levels {
			c := fenv.randomChain(depth)
			st, err := fenv.checkChainStats(r, c, fl)
			if err != nil {
				return "", fmt.Errorf("on the file: %w", err)
			}
			// the same chain on the raw twin: the same answer
			buf, tbuf := make([]byte, c.size), make([]byte, c.size)
			scr, tscr := c.scratch.Marshal(), c.scratch.Marshal()
			fn, fst, ferr := storfn.ChainReadStats(tree.fd, buf, c.start, e.prog.FD(), scr, fl)
			tn, tst, terr := storfn.ChainReadStats(twin.fd, tbuf, c.start, e.prog.FD(), tscr, fl)
			if ferr != nil || terr != nil || fn != tn || string(buf) != string(tbuf) || string(scr) != string(tscr) ||
				fst.Hops != tst.Hops || fst.FinalOffset != tst.FinalOffset {
				return "", fmt.Errorf("%s depth %d: file chain (%d bytes, %+v, %v) differs from the twin disk's (%d bytes, %+v, %v)",
					levelName(fl), depth, fn, fst, ferr, tn, tst, terr)
			}
			n++
			if fl == storfn.FlagDriver && st.Hops > 1 {
				hops += st.Hops - 1
				driver += st.DriverHops
			}
		}
	}
	phys, err := physical(tree.f, 0, fe.blksize)
	if err != nil {
		return "", err
	}
	if driver == 0 {
		return "", fmt.Errorf("the driver resubmitted none of the %d later hops of the file's driver-level chains", hops)
	}
	return fmt.Sprintf("%d chains on %s (at device byte %d) identical to pread chains on it and to the same chains on the raw twin disk; driver resubmitted %d of %d later hops",
		n, testdisk.TreeFile, phys, driver, hops), nil
}

// testFileIsolation: the cases where a chain on a file must stop, each
// with its errno, at both levels, and the walk program never sees a
// victim block.
func testFileIsolation(e *env) (string, error) {
	fe, tree, err := e.mountTree()
	if err != nil {
		return "", err
	}
	defer fe.close()
	defer tree.close()
	victim, err := os.Open(fe.path(testdisk.VictimFile))
	if err != nil {
		return "", err
	}
	defer victim.Close()
	vphys, err := physical(victim, 0, fe.blksize)
	if err != nil {
		return "", err
	}
	tphys, err := physical(tree.f, tree.size-fe.blksize, fe.blksize)
	if err != nil {
		return "", err
	}
	if vphys < tree.size {
		return "", fmt.Errorf("the victim file is at device byte %d, inside the tree file's %d bytes: the address cases would test nothing", vphys, tree.size)
	}

	// files with holes and unwritten extents
	holes, err := fe.writeWalkFile("holes", 11, 64<<10, 0)
	if err != nil {
		return "", err
	}
	defer holes.Close()
	if err := holes.Truncate(1 << 20); err != nil { // a hole from 64 KiB to 1 MiB
		return "", err
	}
	if err := writeWalk(holes, 11, 512<<10, 64<<10, 0, 0); err != nil { // data again at 512 KiB
		return "", err
	}
	prealloc, err := os.OpenFile(fe.path("prealloc"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o644)
	if err != nil {
		return "", err
	}
	defer prealloc.Close()
	if err := unix.Fallocate(int(prealloc.Fd()), 0, 0, 1<<20); err != nil {
		return "", fmt.Errorf("fallocate: %w", err)
	}
	if err := holes.Sync(); err != nil {
		return "", err
	}
	// a big sparse file reaching past the victim's blocks: its offset of
	// the victim's device address is a hole
	big, err := os.OpenFile(fe.path("big"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o644)
	if err != nil {
		return "", err
	}
	defer big.Close()
	if err := big.Truncate(vphys + 8<<20); err != nil {
		return "", err
	}

	type errCase struct {
		name   string
		fd     int
		start  int64
		s      storfn.WalkScratch
		want   syscall.Errno
		hops   uint32 // blocks read before the error (with the program run on them)
		victim bool   // the case aims at the victim's blocks
	}
	treeWalk := storfn.WalkScratch{File: ^uint64(0), Stride: 512, Depth: 8}
	cases := []errCase{
		{"start past the end", tree.fd, tree.size, treeWalk, unix.ERANGE, 0, false},
		{"start at the victim's device address", tree.fd, vphys, treeWalk, unix.ERANGE, 0, true},
		{"walk off the end toward the blocks after it", tree.fd, tree.size - 2*512, treeWalk, unix.ERANGE, 2, false},
		{"jump to the victim's device address", tree.fd, 0, storfn.WalkScratch{File: ^uint64(0), Stride: uint64(vphys), Depth: 4}, unix.ERANGE, 1, true},
		{"start in a hole", int(holes.Fd()), 128 << 10, storfn.WalkScratch{File: 11, Stride: 512, Depth: 4}, unix.ENODATA, 0, false},
		{"walk into a hole", int(holes.Fd()), 64<<10 - 1024, storfn.WalkScratch{File: 11, Stride: 512, Depth: 8}, unix.ENODATA, 2, false},
		{"start in an unwritten extent", int(prealloc.Fd()), 0, storfn.WalkScratch{Stride: 512, Depth: 4}, unix.ENODATA, 0, false},
		{"hole at the victim's device address", int(big.Fd()), vphys, storfn.WalkScratch{Stride: 512, Depth: 4}, unix.ENODATA, 0, true},
	}
	before, err := fe.seen()
	if err != nil {
		return "", err
	}
	for _, c := range cases {
		for _, fl := range levels {
			_, _, st, err := fe.walkChain(c.fd, c.start, 512, c.s, fl)
			if !errors.Is(err, c.want) || st.Hops != c.hops {
				return "", fmt.Errorf("%s (%s): %v after %d hops, want %v after %d", c.name, levelName(fl), err, st.Hops, c.want, c.hops)
			}
		}
	}
	// the data after the hole reads as the file's
	if _, s, _, err := fe.walkChain(int(holes.Fd()), 512<<10, 512, storfn.WalkScratch{File: 11, Stride: 512, Depth: 16}, storfn.FlagDriver); err != nil || s.Wrong != 0 {
		return "", fmt.Errorf("the data after the hole: %v, %d wrong blocks", err, s.Wrong)
	}
	after, err := fe.seen()
	if err != nil {
		return "", err
	}
	// (the tree file holds pattern data, which the program counts as
	// wrong: only victim blocks count here)
	if v := after[storfn.WalkVictim] - before[storfn.WalkVictim]; v != 0 {
		return "", fmt.Errorf("the walk program saw %d victim blocks", v)
	}

	// files that cannot be chained on
	refused, err := fe.refusedFiles(tree)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("tree file ends at device byte %d, victim at %d: %d isolation cases x 2 levels end with their errno (ERANGE past the end, also at the victim's address; ENODATA in holes, unwritten extents and at the victim's address in a sparse file), the walk program saw no victim block; %s",
		tphys+fe.blksize, vphys, len(cases), refused), nil
}

// testFileMounts: on mounts under which a written extent may hold
// another file's old data, or whose data goes through the journal, a
// chain on the tree file gives EOPNOTSUPP (the per-file journal flag is
// ignored with delalloc, so the data=journal case is the mount's).
func testFileMounts(e *env) (string, error) {
	opts := []string{"data=journal", "dioread_lock", "nodelalloc"}
	for _, opt := range opts {
		if err := e.refusedMount(opt); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("the tree file on ext4 mounted with %s -> EOPNOTSUPP at both levels", strings.Join(opts, ", ")), nil
}

// refusedMount: with the ext4 test disk mounted with opt, a chain on
// the tree file gives EOPNOTSUPP at both levels.
func (e *env) refusedMount(opt string) error {
	fe, err := e.mountExt4With(opt)
	if err != nil {
		return err
	}
	defer fe.close()
	f, err := os.OpenFile(fe.path(testdisk.TreeFile), os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("%s mount: %w", opt, err)
	}
	defer f.Close()
	for _, fl := range levels {
		if _, _, _, err := fe.walkChain(int(f.Fd()), 0, 512, storfn.WalkScratch{Depth: 2, Stride: 512}, fl); !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("tree file on a %s mount (%s): %v, want EOPNOTSUPP", opt, levelName(fl), err)
		}
	}
	return nil
}

// refusedFiles: files a chain cannot run on give their errno.
func (fe *fsEnv) refusedFiles(tree *dev) (string, error) {
	buffered, err := os.Open(fe.path(testdisk.TreeFile))
	if err != nil {
		return "", err
	}
	defer buffered.Close()
	inline, err := os.OpenFile(fe.path(testdisk.InlineFile), os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return "", err
	}
	defer inline.Close()
	if fl, err := inodeFlags(inline); err != nil || fl&fsInlineDataFl == 0 {
		return "", fmt.Errorf("%s: flags %#x (%v), not inline data", testdisk.InlineFile, fl, err)
	}
	// a small file migrated from extents to indirect blocks (clearing
	// the extents flag runs ext4_ind_migrate())
	indirect, err := fe.writeWalkFile("indirect", 13, 32<<10, 0)
	if err != nil {
		return "", err
	}
	defer indirect.Close()
	if err := setInodeFlags(indirect, 0, fsExtentFl); err != nil {
		return "", fmt.Errorf("chattr -e: %w", err)
	}
	if fl, err := inodeFlags(indirect); err != nil || fl&fsExtentFl != 0 {
		return "", fmt.Errorf("indirect: flags %#x (%v), still extent-mapped", fl, err)
	}
	if err := os.MkdirAll(tmpfsMount, 0o755); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", tmpfsMount, "tmpfs", 0, "size=1m"); err != nil {
		return "", fmt.Errorf("mount tmpfs: %w", err)
	}
	defer unix.Unmount(tmpfsMount, 0)
	if err := os.WriteFile(filepath.Join(tmpfsMount, "f"), make([]byte, 64<<10), 0o644); err != nil {
		return "", err
	}
	tmp, err := os.OpenFile(filepath.Join(tmpfsMount, "f"), os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return "", fmt.Errorf("tmpfs file with O_DIRECT: %w", err)
	}
	defer tmp.Close()
	dir, err := os.Open(ext4Mount)
	if err != nil {
		return "", err
	}
	defer dir.Close()
	cases := []struct {
		name string
		f    *os.File
		want syscall.Errno
	}{
		{"ext4 file opened without O_DIRECT", buffered, unix.EINVAL},
		{"inline data file", inline, unix.EOPNOTSUPP},
		{"indirect-mapped file", indirect, unix.EOPNOTSUPP},
		{"tmpfs file", tmp, unix.EOPNOTSUPP},
		{"directory", dir, unix.ENOTBLK},
	}
	var names []string
	for _, c := range cases {
		for _, fl := range levels {
			if _, _, _, err := fe.walkChain(int(c.f.Fd()), 0, 512, storfn.WalkScratch{Depth: 2, Stride: 512}, fl); !errors.Is(err, c.want) {
				return "", fmt.Errorf("%s (%s): %v, want %v", c.name, levelName(fl), err, c.want)
			}
		}
		names = append(names, fmt.Sprintf("%s -> %s", c.name, unix.ErrnoName(c.want)))
	}
	return strings.Join(names, ", "), nil
}

// raceFile is one file whose block map a racer changes while chains run.
type raceFile struct {
	name   string
	id     uint64
	period int64
	f      *os.File
	// change changes the file once (i counts the changes).
	change func(rf *raceFile, i int64) error
	// long chains (hundreds of hops) that stay in the file's first
	// moveSize bytes, the range the change moves, are always in flight
	// across a change: a read through a mapping the change made stale
	// is all but certain (the move-ext race)
	long bool
	ops  atomic.Int64
}

// raceTally counts how the chains on one race file ended.
type raceTally struct {
	ok, erange, enodata, estale, zero atomic.Int64
	hops, driver                      atomic.Int64
}

// testFileRaces: each change of a file's block map (truncate, extend,
// overwrite, punch hole, collapse range, EXT4_IOC_MOVE_EXT) races for
// raceTime with chainsPerFile threads of chains on its file, while
// victim files are written and deleted so that freed blocks are reused.
// Every block any chain's program sees, and every final block, must be
// the file's own at the right offset (or zeros); chains may end with
// ERANGE, ENODATA or ESTALE and nothing else.
func testFileRaces(e *env) (string, error) {
	fe, err := e.mountExt4()
	if err != nil {
		return "", err
	}
	defer fe.close()
	files := []*raceFile{
		{name: "race-truncate", change: raceTruncate},
		{name: "race-extend", change: raceExtend},
		{name: "race-overwrite", change: raceOverwrite},
		{name: "race-punch", change: racePunch},
		{name: "race-collapse", period: racePeriod, change: raceCollapse},
		{name: "race-move-ext", change: fe.raceMoveExt, long: true},
	}
	for i, rf := range files {
		rf.id = uint64(20 + i)
		if rf.f, err = fe.writeWalkFile(rf.name, rf.id, raceFileSize, rf.period); err != nil {
			return "", err
		}
		defer rf.f.Close()
	}
	restore, err := setInt(storfn.SysctlMaxHops, storfn.HardMaxHops)
	if err != nil {
		return "", err
	}
	defer restore()
	before, err := fe.seen()
	if err != nil {
		return "", err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	tallies := make([]raceTally, len(files))
	for i, rf := range files {
		rf := rf
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int64(0); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := rf.change(rf, n); err != nil {
					fail(fmt.Errorf("%s: change %d: %w", rf.name, n, err))
					return
				}
				rf.ops.Add(1)
			}
		}()
		for t := 0; t < chainsPerFile; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				if err := fe.raceChains(rf, &tallies[i], stop, t); err != nil {
					fail(fmt.Errorf("%s: %w", rf.name, err))
				}
			}(t)
		}
	}
	var victims atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := fe.writeVictims(stop, &victims); err != nil {
			fail(fmt.Errorf("victim writer: %w", err))
		}
	}()
	select {
	case err = <-errc:
	case <-time.After(raceTime):
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return "", err
	}
	select {
	case err := <-errc:
		return "", err
	default:
	}
	after, err := fe.seen()
	if err != nil {
		return "", err
	}
	if v, w := after[storfn.WalkVictim]-before[storfn.WalkVictim], after[storfn.WalkWrong]-before[storfn.WalkWrong]; v != 0 || w != 0 {
		return "", fmt.Errorf("chains' programs saw %d victim blocks and %d blocks of another file or offset", v, w)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v, %d threads of chains per file, %d victim files written: programs saw %d blocks, none foreign or stale;", raceTime, chainsPerFile, victims.Load(), after[storfn.WalkSeen]-before[storfn.WalkSeen])
	for i, rf := range files {
		t := &tallies[i]
		fmt.Fprintf(&b, " %s: %d changes, chains ok %d (final block zeros %d) / ERANGE %d / ENODATA %d / ESTALE %d, driver %d of %d later hops of the completed;",
			strings.TrimPrefix(rf.name, "race-"), rf.ops.Load(), t.ok.Load(), t.zero.Load(), t.erange.Load(), t.enodata.Load(), t.estale.Load(), t.driver.Load(), t.hops.Load())
		if t.ok.Load() == 0 {
			return "", fmt.Errorf("%s: no chain completed in %v (%s)", rf.name, raceTime, b.String())
		}
	}
	return strings.TrimSuffix(b.String(), ";"), nil
}

// raceChains runs chains on rf until stop, alternating levels, and checks
// every one that completed.
func (fe *fsEnv) raceChains(rf *raceFile, t *raceTally, stop chan struct{}, thread int) error {
	f, err := os.OpenFile(fe.path(rf.name), os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		fl := levels[(n+thread)%len(levels)]
		depth := uint32(1 + fe.intn(32))
		if rf.long {
			depth = uint32(256 + fe.intn(storfn.HardMaxHops-256+1))
		}
		start := int64(fe.intn(raceFileSize/512)) * 512
		s := storfn.WalkScratch{File: rf.id, Period: uint64(rf.period), Stride: 512 * uint64(1+fe.intn(16)), Limit: raceFileSize, Depth: depth}
		if rf.long {
			start = int64(fe.intn(moveSize/512)) * 512
			s.Stride, s.Limit = 512, moveSize
		}
		buf, out, st, err := fe.walkChain(int(f.Fd()), start, 512, s, fl)
		switch {
		case err == nil:
			t.ok.Add(1)
			// (a chain that ended with ESTALE may have had its last
			// block resubmitted but never run: completed chains only)
			if fl == storfn.FlagDriver && st.Hops > 1 {
				t.hops.Add(int64(st.Hops - 1))
				t.driver.Add(int64(st.DriverHops))
			}
		case errors.Is(err, unix.ERANGE):
			t.erange.Add(1)
			continue
		case errors.Is(err, unix.ENODATA):
			t.enodata.Add(1)
			continue
		case errors.Is(err, unix.ESTALE):
			t.estale.Add(1)
			continue
		default:
			return fmt.Errorf("%s chain at %d: %w", levelName(fl), start, err)
		}
		if out.Wrong != 0 {
			return fmt.Errorf("%s chain at %d: the program saw %d foreign or stale blocks", levelName(fl), start, out.Wrong)
		}
		if st.Hops != depth {
			return fmt.Errorf("%s chain at %d: %d hops, want %d", levelName(fl), start, st.Hops, depth)
		}
		final := uint64(st.FinalOffset)
		switch k := storfn.Classify(buf, s, final); k {
		case storfn.WalkOurs:
			h := storfn.ReadWalkHdr(buf)
			want := make([]byte, len(buf))
			storfn.FillWalk(want, storfn.WalkMagicFile, rf.id, h.Off, 0, h.Ver)
			if string(want) != string(buf) {
				return fmt.Errorf("%s chain: final block at %d has its header but not its data (torn or mixed)", levelName(fl), final)
			}
		case storfn.WalkZero:
			t.zero.Add(1)
		default:
			return fmt.Errorf("%s chain: final block at %d is of kind %d (victim %d, wrong %d): header %+v",
				levelName(fl), final, k, storfn.WalkVictim, storfn.WalkWrong, storfn.ReadWalkHdr(buf))
		}
	}
}

// raceTruncate cuts the file at a random 4 KiB boundary and writes the
// rest back: the tail's blocks are freed and new ones allocated.
func raceTruncate(rf *raceFile, i int64) error {
	cut := int64(1+i%511) * 4096
	if err := rf.f.Truncate(cut); err != nil {
		return err
	}
	return writeWalk(rf.f, rf.id, cut, raceFileSize-cut, rf.period, i)
}

// raceExtend grows the file 64 KiB at a time from 1 MiB to its full
// size, then truncates it back to 1 MiB.
func raceExtend(rf *raceFile, i int64) error {
	st, err := rf.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size >= raceFileSize {
		return rf.f.Truncate(1 << 20)
	}
	return writeWalk(rf.f, rf.id, size, 64<<10, rf.period, i)
}

// raceOverwrite rewrites 64 KiB in place with a new version.
func raceOverwrite(rf *raceFile, i int64) error {
	off := (i * 7 % (raceFileSize / (64 << 10))) * (64 << 10)
	return writeWalk(rf.f, rf.id, off, 64<<10, rf.period, i)
}

// racePunch punches a 64 KiB hole and writes the range back.
func racePunch(rf *raceFile, i int64) error {
	off := (i * 5 % (raceFileSize / (64 << 10))) * (64 << 10)
	if err := unix.Fallocate(int(rf.f.Fd()), fallocPunchKeep, off, 64<<10); err != nil {
		return fmt.Errorf("punch hole: %w", err)
	}
	return writeWalk(rf.f, rf.id, off, 64<<10, rf.period, i)
}

// raceCollapse removes one period from the middle of the file and
// appends one at the end: every unit keeps its header (offsets modulo
// the period) but most move to other file offsets.
func raceCollapse(rf *raceFile, i int64) error {
	off := (1 + i%(raceFileSize/racePeriod-2)) * racePeriod
	if err := unix.Fallocate(int(rf.f.Fd()), unix.FALLOC_FL_COLLAPSE_RANGE, off, racePeriod); err != nil {
		return fmt.Errorf("collapse range: %w", err)
	}
	return writeWalk(rf.f, rf.id, raceFileSize-racePeriod, racePeriod, rf.period, i)
}

// raceMoveExt moves the file's first 64 KiB onto a donor file's blocks
// (EXT4_IOC_MOVE_EXT, as e4defrag does), overwrites the donor, which
// now holds the file's old blocks, with victim units, and deletes it: a
// chain that read one of those blocks through its old mapping after the
// move (no generation check) would see a victim block, not a stale one
// of its own file, so this race is the one a missing check fails.
func (fe *fsEnv) raceMoveExt(rf *raceFile, i int64) error {
	const n, off = moveSize, 0
	name := fe.path(fmt.Sprintf("donor-%d", i))
	donor, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(name)
	defer donor.Close()
	if err := unix.Fallocate(int(donor.Fd()), 0, off, n); err != nil {
		return fmt.Errorf("donor fallocate: %w", err)
	}
	m := moveExtent{DonorFD: uint32(donor.Fd()), OrigStart: uint64(off / fe.blksize), DonorStart: uint64(off / fe.blksize), Len: uint64(n / fe.blksize)}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, rf.f.Fd(), ext4IocMoveExt, uintptr(unsafe.Pointer(&m))); e != 0 {
		return fmt.Errorf("EXT4_IOC_MOVE_EXT: %w", e)
	}
	if m.MovedLen != m.Len {
		return fmt.Errorf("EXT4_IOC_MOVE_EXT moved %d of %d blocks", m.MovedLen, m.Len)
	}
	buf, err := pageBuf(n)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf)
	storfn.FillWalk(buf, storfn.WalkMagicVictim, 0, 0, 0, 0)
	if _, err := unix.Pwrite(int(donor.Fd()), buf, off); err != nil {
		return fmt.Errorf("overwrite the donor: %w", err)
	}
	return nil
}

// writeVictims writes and deletes victim files until stop, so that the
// blocks the racers free are soon another file's.
func (fe *fsEnv) writeVictims(stop chan struct{}, count *atomic.Int64) error {
	const size = 256 << 10
	buf, err := pageBuf(size)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf)
	storfn.FillWalk(buf, storfn.WalkMagicVictim, 0, 0, 0, 0)
	var live []string
	for n := 0; ; n++ {
		select {
		case <-stop:
			for _, p := range live {
				os.Remove(p)
			}
			return nil
		default:
		}
		p := fe.path(fmt.Sprintf("victim-%d", n))
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o644)
		if err != nil {
			return err
		}
		_, err = unix.Pwrite(int(f.Fd()), buf, 0)
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		count.Add(1)
		live = append(live, p)
		if len(live) > 16 {
			if err := os.Remove(live[0]); err != nil {
				return err
			}
			live = live[1:]
		}
	}
}

// testFileURing: IORING_OP_CHAIN_READ on the tree file, batches of up to
// 32 chains at both io_uring levels, each identical to its pread chain.
func testFileURing(e *env) (string, error) {
	fe, tree, err := e.mountTree()
	if err != nil {
		return "", err
	}
	defer fe.close()
	defer tree.close()
	fenv := e.on(tree)
	fenv.budgeted = true // the driver hands hops outside the chain's extents back
	u, err := newUringChains(32)
	if err != nil {
		return "", err
	}
	defer u.close()
	r, err := newReader(tree.fd)
	if err != nil {
		return "", err
	}
	defer r.close()
	var out []string
	for _, fl := range levels {
		t, err := fenv.runBatches(u, r, 32, fl, nil)
		if err != nil {
			return "", fmt.Errorf("on the file: %w", err)
		}
		if err := t.levelErr(fl); err != nil {
			return "", err
		}
		out = append(out, fmt.Sprintf("%s: %d chains identical to pread chains, %d of %d later hops by the driver", uringLevel(fl), t.chains, t.driver, t.later))
	}
	return "on the ext4 tree file: " + strings.Join(out, "; "), nil
}
