/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfstor storage functions: the BPF_PROG_TYPE_STORAGE context as defined
 * by the kernel/patches series (include/uapi/linux/bpf.h there), for
 * programs compiled against distribution headers that predate it.
 */
#ifndef BPFSTOR_STORFN_H
#define BPFSTOR_STORFN_H

/*
 * Self-contained: built with only -I bpf/include (no asm/ headers for the
 * bpf target), so the few uapi types and constants needed are here.
 */
#include "types.h"

#ifndef __bpf_md_ptr
#define __bpf_md_ptr(type, name)	\
union {					\
	type name;			\
	__u64 :64;			\
} __attribute__((aligned(8)))
#endif

enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2 };
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

#include <bpf/bpf_helpers.h>

#ifndef BPF_STORAGE_BLOCK_MAX
/*
 * data: the block just read, read-only, BPF_STORAGE_BLOCK_MAX bytes
 * addressable (zero past size). scratch: per-chain scratch, read-write,
 * BPF_STORAGE_SCRATCH_MAX bytes addressable. Only next_offset and
 * next_size may be written; both are preset to offset and size.
 */
struct bpf_storage_ctx {
	__bpf_md_ptr(const void *, data);
	__bpf_md_ptr(void *, scratch);
	__u64 offset;
	__u32 size;
	__u32 hop;
	__u32 scratch_len;
	__u32 next_size;
	__u64 next_offset;
};

enum bpf_storage_verdict {
	BPF_STORAGE_DONE = 0,
	BPF_STORAGE_NEXT = 1,
};

#define BPF_STORAGE_BLOCK_MAX	4096
#define BPF_STORAGE_SCRATCH_MAX	4096
#endif

/*
 * BPFSTOR_GO_TYPE(struct foo) puts struct foo into the object's BTF, so that
 * bpf2go (bpf/objs/gen.go, -type foo) generates its Go mirror; clang emits
 * BTF only for types a global or a function signature uses. The pointer
 * lives in a section no loader maps or loads.
 */
#define BPFSTOR_GO_TYPE__(t, n) t *__bpfstor_go_type_##n __attribute__((section(".bpfstor.go_types"), used))
#define BPFSTOR_GO_TYPE_(t, n) BPFSTOR_GO_TYPE__(t, n)
#define BPFSTOR_GO_TYPE(t) BPFSTOR_GO_TYPE_(t, __COUNTER__)

/* Section name for storage functions; the loader sets the program type. */
#define STORFN_SEC SEC("storage")

/*
 * Scratch layout of the synthetic chain (bpf/progs/chain.c); mirrored by
 * the Go reference in bpf/storfn.
 */
struct chain_scratch {
	__u64 seed;
	__u64 nblocks;	/* next block is chosen in [0, nblocks) */
	__u32 depth;	/* blocks to read, >= 1 */
	__u32 mode;	/* CHAIN_MODE_* */
	__u64 acc;	/* out: hash of the words visited */
	__u32 hops;	/* out: blocks seen by the program */
	__u32 flags;	/* CHAIN_FLAG_* */
};

enum {
	CHAIN_MODE_NORMAL = 0,
	CHAIN_MODE_MISALIGNED = 1,	/* second hop at a misaligned offset */
	CHAIN_MODE_BEYOND_END = 2,	/* second hop past the device end */
	CHAIN_MODE_ENDLESS = 3,		/* never done: hop limit */
	CHAIN_MODE_GARBAGE = 4,		/* returns an invalid verdict */
	CHAIN_MODE_BAD_SIZE = 5,	/* second hop with size 100 */
	CHAIN_MODE_SEQUENTIAL = 6,	/* next block is the one after */
	CHAIN_MODE_SIZES = 7,		/* sizes 4096, 4096, 512, 512, 1024, ... */
};

enum {
	/* fold every word of each block into acc, not only the chosen one */
	CHAIN_FLAG_ALL_WORDS = 1 << 0,
	/* verdict 7 (EBADMSG) if a byte of data past size is not zero */
	CHAIN_FLAG_ZERO_TAIL = 1 << 1,
};

/* CHAIN_MODE_SIZES: offsets are in units of the largest size */
#define CHAIN_SIZES_UNIT	4096

#endif /* BPFSTOR_STORFN_H */
