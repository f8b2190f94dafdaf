/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout the file tests (kernel/selftest/files.go) give every 512-byte
 * unit of their test files, read by bpf/progs/walk.c; mirrored by hand in
 * Go (kernel/selftest/walk.go), the scratch by bpf2go.
 */
#ifndef BPFSTOR_WALK_H
#define BPFSTOR_WALK_H

#include "types.h"

#define WALK_MAGIC_FILE		0x454c494653465042ULL	/* "BPFSFILE" */
#define WALK_MAGIC_VICTIM	0x21214d4954434956ULL	/* "VICTIM!!" */

/* at the start of every 512-byte unit of a test file */
struct walk_hdr {
	__u64 magic;
	__u64 file;	/* the file's id */
	__u64 off;	/* the unit's offset in the file, modulo the period */
	__u64 ver;	/* how often the unit was rewritten */
};

/* what walk_seen counts, by index */
enum walk_kind {
	WALK_SEEN,	/* blocks the program ran on */
	WALK_OURS,	/* with the right file id and offset */
	WALK_ZERO,	/* all-zero header: a hole filled or the file extended */
	WALK_VICTIM,	/* a victim file's block */
	WALK_WRONG,	/* anything else: another file's, another offset's */
	WALK_KINDS,
};

struct walk_scratch {
	__u64 file;	/* the file id the blocks must carry */
	__u64 period;	/* a unit at offset o carries o % period (0: o) */
	__u64 stride;	/* the next block is at offset + stride ... */
	__u64 limit;	/* ... modulo limit (0: no wrap) */
	__u32 depth;	/* blocks to read */
	__u32 wrong;	/* blocks of kind WALK_WRONG or WALK_VICTIM seen */
};

#endif /* BPFSTOR_WALK_H */
