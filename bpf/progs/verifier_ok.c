// SPDX-License-Identifier: GPL-2.0
/*
 * Storage functions the verifier must accept, at the edges of what the
 * context allows; kernel/selftest runs each with BPF_PROG_TEST_RUN and
 * checks what it wrote into the scratch.
 */
#include "storfn.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Variable offsets bounded to the last byte of the block and of the
 * scratch: scratch[0] is block[hop & 4095], the u64 at scratch[8] the word
 * ending at byte (hop & 4095) | 7 of the block, scratch[scratch_len-1 &
 * 4095] is set to 0xa5.
 */
STORFN_SEC
int ok_varoff(struct bpf_storage_ctx *ctx)
{
	const __u8 *d = ctx->data;
	__u8 *s = ctx->scratch;
	__u32 i = ctx->hop & (BPF_STORAGE_BLOCK_MAX - 1);
	__u32 w = ctx->hop & (BPF_STORAGE_BLOCK_MAX - 8);

	s[0] = d[i];
	*(__u64 *)(s + 8) = *(const __u64 *)(d + w);
	s[(ctx->scratch_len - 1) & (BPF_STORAGE_SCRATCH_MAX - 1)] = 0xa5;
	return BPF_STORAGE_DONE;
}

/*
 * Narrow loads of every scalar field, stored in the scratch as u64s:
 * offset's bytes 0, 0-1, 0-3 and 4-7, size's byte 0 and bytes 2-3, hop's
 * bytes 0-1, scratch_len's byte 0, next_size's bytes 0-1 and next_offset's
 * bytes 4-7.
 */
STORFN_SEC
int ok_narrow(struct bpf_storage_ctx *ctx)
{
	__u64 *s = ctx->scratch;
	const char *c = (const char *)ctx;

	s[0] = *(volatile const __u8 *)&ctx->offset;
	s[1] = *(volatile const __u16 *)&ctx->offset;
	s[2] = *(volatile const __u32 *)&ctx->offset;
	s[3] = *(volatile const __u32 *)(c + __builtin_offsetof(struct bpf_storage_ctx, offset) + 4);
	s[4] = *(volatile const __u8 *)&ctx->size;
	s[5] = *(volatile const __u16 *)(c + __builtin_offsetof(struct bpf_storage_ctx, size) + 2);
	s[6] = *(volatile const __u16 *)&ctx->hop;
	s[7] = *(volatile const __u8 *)&ctx->scratch_len;
	s[8] = *(volatile const __u16 *)&ctx->next_size;
	s[9] = *(volatile const __u32 *)(c + __builtin_offsetof(struct bpf_storage_ctx, next_offset) + 4);
	return BPF_STORAGE_DONE;
}

/* the helpers offered in interrupt context */
STORFN_SEC
int ok_helpers(struct bpf_storage_ctx *ctx)
{
	__u64 *s = ctx->scratch;

	s[0] = bpf_ktime_get_ns();
	s[1] = bpf_get_prandom_u32() | (1ULL << 32);
	s[2] = bpf_get_smp_processor_id() + 1;
	return BPF_STORAGE_DONE;
}
