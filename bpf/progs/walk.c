// SPDX-License-Identifier: GPL-2.0
/*
 * Walks a file with a fixed stride and classifies every block it is given
 * by the header the file tests write into their files (bpf/include/walk.h):
 * the file's own block at the right offset, zeros, a victim file's block,
 * or anything else. The counts, over all chains, are in walk_seen, so a
 * block is accounted for even when its chain then ends with an error; the
 * chain's own count of bad blocks is in its scratch.
 */
#include "storfn.h"
#include "walk.h"

char LICENSE[] SEC("license") = "GPL";

BPFSTOR_GO_TYPE(struct walk_scratch);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WALK_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} walk_seen SEC(".maps");

static __always_inline void count(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&walk_seen, &kind);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u32 classify(const struct walk_hdr *h,
				      const struct walk_scratch *s,
				      __u64 offset)
{
	__u64 want = s->period ? offset % s->period : offset;

	if (h->magic == WALK_MAGIC_FILE && h->file == s->file && h->off == want)
		return WALK_OURS;
	if (!h->magic && !h->file && !h->off && !h->ver)
		return WALK_ZERO;
	if (h->magic == WALK_MAGIC_VICTIM)
		return WALK_VICTIM;
	return WALK_WRONG;
}

STORFN_SEC
int walk(struct bpf_storage_ctx *ctx)
{
	struct walk_scratch *s = ctx->scratch;
	__u32 kind = classify(ctx->data, s, ctx->offset);

	count(WALK_SEEN);
	count(kind);
	if (kind == WALK_VICTIM || kind == WALK_WRONG)
		s->wrong++;
	if (ctx->hop + 1 >= s->depth)
		return BPF_STORAGE_DONE;
	ctx->next_offset = ctx->offset + s->stride;
	if (s->limit)
		ctx->next_offset %= s->limit;
	return BPF_STORAGE_NEXT;
}
