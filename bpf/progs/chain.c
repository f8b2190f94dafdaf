// SPDX-License-Identifier: GPL-2.0
/*
 * Synthetic chain (HotOS'21 style): each hop picks one 64-bit word of the
 * block just read at a seed-dependent index, folds it into a hash and
 * derives the next block from it, so the chain depends on the content of
 * every block. Mirrored exactly by storfn.RefStep in Go.
 *
 * Tests set CHAIN_FLAG_ALL_WORDS so that every byte of every block of the
 * chain reaches the hash, and CHAIN_FLAG_ZERO_TAIL to check that the
 * bytes past the block's size read as zero; the benchmark uses neither.
 */
#include "storfn.h"

char LICENSE[] SEC("license") = "GPL";

BPFSTOR_GO_TYPE(struct chain_scratch);

/* hops run, all chains together (shows map helpers work) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} chain_stats SEC(".maps");

#define WORDS_MAX (BPF_STORAGE_BLOCK_MAX / 8)

/*
 * Hides an index's range from the compiler, so that the mask that bounds
 * it for the verifier stays and the access keeps its index form.
 */
#define idx_barrier(v) asm volatile("" : "+r"(v))

static __always_inline __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * Hash of all the words addressable in data: the block, then the zeros
 * past its size. A constant trip count keeps the verifier's work linear
 * (a bound on the block's size would be refined differently on every
 * exit path, and no two paths could be pruned).
 */
static __always_inline __u64 fold_words(const __u64 *words)
{
	__u64 x = 0;
	__u32 i;

	for (i = 0; i < WORDS_MAX; i++) {
		__u32 j = i;

		idx_barrier(j);
		x = mix64(x ^ words[j & (WORDS_MAX - 1)]);
	}
	return x;
}

/* whether every word from n on is zero */
static __always_inline int tail_is_zero(const __u64 *words, __u32 n)
{
	__u64 nz = 0;
	__u32 i;

	for (i = n; i < WORDS_MAX; i++) {
		__u32 j = i;

		idx_barrier(j);
		nz |= words[j & (WORDS_MAX - 1)];
	}
	return !nz;
}

/* CHAIN_MODE_SIZES: two blocks of each size in turn, from the largest */
static __always_inline __u32 chain_size(__u32 hop)
{
	switch ((hop / 2) % 3) {
	case 0:
		return 4096;
	case 1:
		return 512;
	}
	return 1024;
}

STORFN_SEC
int chain(struct bpf_storage_ctx *ctx)
{
	struct chain_scratch *s = ctx->scratch;
	const __u64 *words = ctx->data;
	__u32 key = 0, hop = ctx->hop, n = ctx->size / 8;
	__u64 *cnt, h, w, next;

	cnt = bpf_map_lookup_elem(&chain_stats, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);

	if ((s->flags & CHAIN_FLAG_ZERO_TAIL) && !tail_is_zero(words, n))
		return 7;
	h = mix64(s->seed + (__u64)(hop + 1) * 0x9e3779b97f4a7c15ULL);
	w = words[h & 63];	/* first 512 bytes: every block has them */
	s->acc = mix64(s->acc ^ w);
	if (s->flags & CHAIN_FLAG_ALL_WORDS)
		s->acc = mix64(s->acc ^ fold_words(words));
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
	case CHAIN_MODE_SEQUENTIAL:
		if (hop + 1 >= s->depth)
			return BPF_STORAGE_DONE;
		ctx->next_offset = ctx->offset + ctx->size;
		return BPF_STORAGE_NEXT;
	case CHAIN_MODE_SIZES:
		if (hop + 1 >= s->depth || !s->nblocks)
			return BPF_STORAGE_DONE;
		ctx->next_size = chain_size(hop + 1);
		ctx->next_offset = (mix64(h ^ w) % s->nblocks) * CHAIN_SIZES_UNIT;
		return BPF_STORAGE_NEXT;
	}

	if (hop + 1 >= s->depth || !s->nblocks)
		return BPF_STORAGE_DONE;
	next = mix64(h ^ w) % s->nblocks;
	ctx->next_offset = next * ctx->size;
	return BPF_STORAGE_NEXT;
}
