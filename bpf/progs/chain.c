// SPDX-License-Identifier: GPL-2.0
/*
 * Synthetic chain (HotOS'21 style): each hop picks one 64-bit word of the
 * block just read at a seed-dependent index, folds it into a hash and
 * derives the next block from it, so the chain depends on the content of
 * every block. Mirrored exactly by storfn.RefStep in Go.
 */
#include "storfn.h"

char LICENSE[] SEC("license") = "GPL";

/* hops run, all chains together (shows map helpers work) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} chain_stats SEC(".maps");

static __always_inline __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

STORFN_SEC
int chain(struct bpf_storage_ctx *ctx)
{
	struct chain_scratch *s = ctx->scratch;
	const __u64 *words = ctx->data;
	__u32 key = 0, hop = ctx->hop;
	__u64 *cnt, h, w, next;

	cnt = bpf_map_lookup_elem(&chain_stats, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);

	h = mix64(s->seed + (__u64)(hop + 1) * 0x9e3779b97f4a7c15ULL);
	w = words[h & 63];	/* first 512 bytes: every block has them */
	s->acc = mix64(s->acc ^ w);
	s->hops = hop + 1;

	switch (s->mode) {
	case CHAIN_MODE_GARBAGE:
		return 7;
	case CHAIN_MODE_ENDLESS:
		ctx->next_offset = ctx->offset;
		return BPF_STORAGE_NEXT;
	case CHAIN_MODE_MISALIGNED:
		ctx->next_offset = ctx->offset + 100;
		return BPF_STORAGE_NEXT;
	case CHAIN_MODE_BEYOND_END:
		ctx->next_offset = s->nblocks * ctx->size;
		return BPF_STORAGE_NEXT;
	case CHAIN_MODE_BAD_SIZE:
		ctx->next_size = 100;
		return BPF_STORAGE_NEXT;
	}

	if (hop + 1 >= s->depth || !s->nblocks)
		return BPF_STORAGE_DONE;
	next = mix64(h ^ w) % s->nblocks;
	ctx->next_offset = next * ctx->size;
	return BPF_STORAGE_NEXT;
}
