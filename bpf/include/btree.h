/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfstor on-disk B+-tree (shared/README.md section 4, images/btree) as seen
 * by the BPF storage functions, and the scratch layout of the point-lookup
 * program (bpf/progs/btree.c), mirrored in Go by
 * images/agent/workload/btree.go (btreeScratch).
 */
#ifndef BPFSTOR_BTREE_H
#define BPFSTOR_BTREE_H

#include "storfn.h"

#define BTREE_BLOCK		512
#define BTREE_NODE_MAGIC	0x4e44
#define BTREE_KIND_INNER	1
#define BTREE_KIND_LEAF		2
#define BTREE_MAX_FANOUT	31
#define BTREE_NUM_PTRS		32
#define BTREE_NEXT_LEAF		31
#define BTREE_VALUE_SIZE	64

/* One 512-byte node. */
struct btree_node {
	__u16 magic;
	__u8 kind;
	__u8 pad;
	__u16 nkeys;
	__u16 pad2;
	__u64 keys[BTREE_MAX_FANOUT];
	__u64 ptrs[BTREE_NUM_PTRS];
};

_Static_assert(sizeof(struct btree_node) == BTREE_BLOCK, "btree_node is one block");

/* struct btree_scratch.state */
enum {
	BTREE_STATE_NODE = 0,	/* the block just read is a node (set by the caller) */
	BTREE_STATE_VALUE = 1,	/* the block just read holds the value (set by the program) */
};

/* struct btree_scratch.error: why the program gave up (scratch is only
 * copied back on success, so this is for BPF_PROG_TEST_RUN) */
enum {
	BTREE_ERR_NONE = 0,
	BTREE_ERR_MAGIC = 1,	/* node magic wrong */
	BTREE_ERR_KIND = 2,	/* node kind neither inner nor leaf */
	BTREE_ERR_NKEYS = 3,	/* nkeys outside 1..31 */
	BTREE_ERR_STATE = 4,	/* unknown scratch state */
	BTREE_ERR_VALUE = 5,	/* value offset not a 64-byte slot / wrong key there */
};

/* Returned for a corrupt node: not a verdict, so the chain ends with EBADMSG. */
#define BTREE_VERDICT_CORRUPT	0xbad

/*
 * Scratch of the point lookup (104 bytes). The caller zeroes it and sets key;
 * the program fills the outputs.
 */
struct btree_scratch {
	__u64 key;		/*  0 in: key looked up */
	__u32 state;		/*  8 BTREE_STATE_* */
	__u32 found;		/* 12 out: 1 if the key is in the tree */
	__u32 hops;		/* 16 out: blocks seen by the program */
	__u32 voff;		/* 20 offset of the value in its block */
	__u32 error;		/* 24 out: BTREE_ERR_* */
	__u32 pad;		/* 28 */
	__u64 value_off;	/* 32 out: absolute byte offset of the value */
	__u8 value[BTREE_VALUE_SIZE]; /* 40 out: the value */
};

_Static_assert(sizeof(struct btree_scratch) == 104, "btree_scratch layout");

/*
 * Scratch of the range scan / aggregate (bpf/progs/btree_scan.c), 4096 bytes
 * with room for BTREE_SCAN_MAX values; a sum needs only the 64-byte header.
 * The chain descends to the leaf of lo, then reads the value log from the
 * value of the first key >= lo onwards: values are stored in key order and
 * bytes 0..7 of each are its key, so the scan stops at the first key > hi.
 */
#define BTREE_SCAN_MAX		63
#define BTREE_SCAN_HDR		64

enum {
	BTREE_SCAN_SUM = 0,	/* sum of the values' first 8 bytes over [lo, hi] */
	BTREE_SCAN_COLLECT = 1,	/* copy the values of [lo, hi] (at most max) */
};

struct btree_scan_scratch {
	__u64 lo;		/*  0 in: range [lo, hi], inclusive */
	__u64 hi;		/*  8 in */
	__u64 vlog_end;		/* 16 in: byte offset of the end of the value log */
	__u32 op;		/* 24 in: BTREE_SCAN_* */
	__u32 max;		/* 28 in: most values to collect, <= BTREE_SCAN_MAX */
	__u32 state;		/* 32 BTREE_STATE_* */
	__u32 count;		/* 36 out: values summed / collected */
	__u32 hops;		/* 40 out: blocks seen by the program */
	__u32 error;		/* 44 out: BTREE_ERR_* */
	__u64 sum;		/* 48 out: sum mod 2^64 */
	__u32 voff;		/* 56 offset in the block of the next value */
	__u32 pad;		/* 60 */
	__u8 values[BTREE_SCAN_MAX][BTREE_VALUE_SIZE]; /* 64 out (COLLECT) */
};

_Static_assert(sizeof(struct btree_scan_scratch) == 4096, "btree_scan_scratch layout");

/*
 * btree_descend - check a node and, if it is an inner node, choose the
 * child for key (the first i with key < keys[i], else nkeys) and set it as
 * the next read. Returns BTREE_ERR_NONE with *leaf = 0 after choosing a
 * child, BTREE_ERR_NONE with *leaf = 1 for a valid leaf of *n keys, or the
 * BTREE_ERR_* that makes the node corrupt.
 */
static __always_inline __u32 btree_descend(struct bpf_storage_ctx *ctx,
					   const struct btree_node *node,
					   __u64 key, __u32 *n, int *leaf)
{
	__u32 i;

	if (node->magic != BTREE_NODE_MAGIC)
		return BTREE_ERR_MAGIC;
	*n = node->nkeys;
	if (*n < 1 || *n > BTREE_MAX_FANOUT)
		return BTREE_ERR_NKEYS;
	if (node->kind == BTREE_KIND_LEAF) {
		*leaf = 1;
		return BTREE_ERR_NONE;
	}
	if (node->kind != BTREE_KIND_INNER)
		return BTREE_ERR_KIND;
	for (i = 0; i < BTREE_MAX_FANOUT; i++) {
		if (i >= *n || key < node->keys[i])
			break;
	}
	i &= BTREE_NUM_PTRS - 1;
	ctx->next_offset = node->ptrs[i] * BTREE_BLOCK;
	*leaf = 0;
	return BTREE_ERR_NONE;
}

#endif /* BPFSTOR_BTREE_H */
