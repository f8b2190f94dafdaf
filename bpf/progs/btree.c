// SPDX-License-Identifier: GPL-2.0
/*
 * B+-tree point lookup as a storage function (XRP / HotOS'21 style).
 *
 * The chain starts at the root node (root block * 512; the caller read the
 * superblock once). On each inner node the program picks the child the key
 * descends into and asks for it; on the leaf it looks the key up: absent ->
 * DONE with found = 0; present -> asks for the 512-byte block of the value
 * log that holds the value, and on that block copies the 64-byte value into
 * scratch and is DONE. A block that is not a node of this format ends the
 * chain with an invalid verdict (EBADMSG), never a loop; the kernel's hop
 * limit bounds a cyclic tree and checks every offset against the device.
 *
 * Format: shared/README.md section 4 (images/btree). Scratch: btree.h.
 */
#include "btree.h"

char LICENSE[] SEC("license") = "GPL";

BPFSTOR_GO_TYPE(struct btree_scratch);

static __always_inline int corrupt(struct btree_scratch *s, __u32 why)
{
	s->error = why;
	return BTREE_VERDICT_CORRUPT;
}

STORFN_SEC
int btree_lookup(struct bpf_storage_ctx *ctx)
{
	struct btree_scratch *s = ctx->scratch;
	const struct btree_node *node = ctx->data;
	__u64 key = s->key;
	__u32 i, n, voff, err;
	int leaf;

	s->hops = ctx->hop + 1;

	if (s->state == BTREE_STATE_VALUE) {
		const __u64 *v;

		voff = s->voff & (BTREE_BLOCK - BTREE_VALUE_SIZE); /* 0..448, 64-aligned */
		v = (const __u64 *)((const __u8 *)ctx->data + voff);
		if (v[0] != key)
			return corrupt(s, BTREE_ERR_VALUE);
		__u64 *out = (__u64 *)s->value;
#pragma clang loop unroll(full)
		for (i = 0; i < BTREE_VALUE_SIZE / 8; i++)
			out[i] = v[i];
		s->found = 1;
		return BPF_STORAGE_DONE;
	}
	if (s->state != BTREE_STATE_NODE)
		return corrupt(s, BTREE_ERR_STATE);

	err = btree_descend(ctx, node, key, &n, &leaf);
	if (err)
		return corrupt(s, err);
	if (!leaf)
		return BPF_STORAGE_NEXT;

	for (i = 0; i < BTREE_MAX_FANOUT; i++) {
		__u64 k;

		if (i >= n)
			break;
		k = node->keys[i];
		if (k > key)
			break;	/* keys are sorted: not here */
		if (k == key) {
			__u64 off = node->ptrs[i & (BTREE_NUM_PTRS - 1)];

			if (off & (BTREE_VALUE_SIZE - 1))
				return corrupt(s, BTREE_ERR_VALUE);
			s->value_off = off;
			s->voff = off & (BTREE_BLOCK - 1);
			s->state = BTREE_STATE_VALUE;
			ctx->next_offset = off & ~(__u64)(BTREE_BLOCK - 1);
			return BPF_STORAGE_NEXT;
		}
	}
	s->found = 0;
	return BPF_STORAGE_DONE;
}
