// SPDX-License-Identifier: GPL-2.0
/*
 * B+-tree range scan and aggregate as a storage function (XRP's range query
 * and aggregation). The chain descends from the root to the leaf where lo
 * belongs, like the point lookup, and finds the first key >= lo (in the next
 * leaf, through the next-leaf pointer, if lo is above every key of its
 * leaf). From that key's value on it reads the value log block by block:
 * values are in key order and start with their key, so each value either is
 * in [lo, hi] (summed, or copied into scratch) or is above hi (DONE). The
 * chain also ends at the end of the value log, at the first empty slot, or
 * when scratch holds max values. Scratch: struct btree_scan_scratch.
 */
#include "btree.h"

char LICENSE[] SEC("license") = "GPL";

BPFSTOR_GO_TYPE(struct btree_scan_scratch);

static __always_inline int corrupt(struct btree_scan_scratch *s, __u32 why)
{
	s->error = why;
	return BTREE_VERDICT_CORRUPT;
}

static __always_inline int values(struct bpf_storage_ctx *ctx, struct btree_scan_scratch *s)
{
	const __u8 *data = ctx->data;
	__u64 hi = s->hi, lo = s->lo;
	__u32 first = (s->voff & (BTREE_BLOCK - 1)) / BTREE_VALUE_SIZE;
	__u32 j, c, w;

#pragma clang loop unroll(full)
	for (j = 0; j < BTREE_BLOCK / BTREE_VALUE_SIZE; j++) {
		const __u64 *v = (const __u64 *)(data + j * BTREE_VALUE_SIZE);
		__u64 k;

		if (j < first)
			continue;
		k = v[0];
		if (k == 0 || k > hi)	/* empty slot past the last value, or done */
			return BPF_STORAGE_DONE;
		if (k < lo)
			return corrupt(s, BTREE_ERR_VALUE);
		if (s->op == BTREE_SCAN_COLLECT) {
			c = s->count;
			if (c >= s->max || c >= BTREE_SCAN_MAX)
				return BPF_STORAGE_DONE;
			__u64 *out = (__u64 *)s->values[c];
#pragma clang loop unroll(full)
			for (w = 0; w < BTREE_VALUE_SIZE / 8; w++)
				out[w] = v[w];
		}
		s->sum += k;
		s->count++;
	}
	s->voff = 0;
	if (ctx->offset + BTREE_BLOCK >= s->vlog_end)
		return BPF_STORAGE_DONE;
	ctx->next_offset = ctx->offset + BTREE_BLOCK;
	return BPF_STORAGE_NEXT;
}

STORFN_SEC
int btree_scan(struct bpf_storage_ctx *ctx)
{
	struct btree_scan_scratch *s = ctx->scratch;
	const struct btree_node *node = ctx->data;
	__u64 lo = s->lo;
	__u32 i, n, err;
	int leaf;

	s->hops = ctx->hop + 1;

	if (s->state == BTREE_STATE_VALUE)
		return values(ctx, s);
	if (s->state != BTREE_STATE_NODE)
		return corrupt(s, BTREE_ERR_STATE);
	if (s->lo > s->hi)
		return BPF_STORAGE_DONE;

	err = btree_descend(ctx, node, lo, &n, &leaf);
	if (err)
		return corrupt(s, err);
	if (!leaf)
		return BPF_STORAGE_NEXT;

	for (i = 0; i < BTREE_MAX_FANOUT; i++) {
		__u64 k, off;

		if (i >= n)
			break;
		k = node->keys[i];
		if (k < lo)
			continue;
		if (k > s->hi)
			return BPF_STORAGE_DONE;	/* empty range */
		off = node->ptrs[i & (BTREE_NUM_PTRS - 1)];
		if (off & (BTREE_VALUE_SIZE - 1))
			return corrupt(s, BTREE_ERR_VALUE);
		s->voff = off & (BTREE_BLOCK - 1);
		s->state = BTREE_STATE_VALUE;
		ctx->next_offset = off & ~(__u64)(BTREE_BLOCK - 1);
		return BPF_STORAGE_NEXT;
	}
	/* every key here is < lo: the first key >= lo starts the next leaf */
	if (!node->ptrs[BTREE_NEXT_LEAF])
		return BPF_STORAGE_DONE;
	ctx->next_offset = node->ptrs[BTREE_NEXT_LEAF] * BTREE_BLOCK;
	return BPF_STORAGE_NEXT;
}
