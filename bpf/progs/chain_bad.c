// SPDX-License-Identifier: GPL-2.0
/*
 * Storage functions the verifier must reject, one per section; the
 * expected class is in the program name (see kernel/selftest).
 */
#include "storfn.h"

char LICENSE[] SEC("license") = "GPL";

/* constant offset past the end of the block */
STORFN_SEC
int bad_block_oob(struct bpf_storage_ctx *ctx)
{
	const volatile __u8 *d = ctx->data;

	return d[BPF_STORAGE_BLOCK_MAX];
}

/* variable offset into the block without a bound */
STORFN_SEC
int bad_block_unbounded(struct bpf_storage_ctx *ctx)
{
	const __u64 *d = ctx->data;
	__u64 i = d[0];

	return d[i] != 0;
}

/* write to the block */
STORFN_SEC
int bad_block_write(struct bpf_storage_ctx *ctx)
{
	volatile __u8 *d = (void *)ctx->data;

	d[0] = 1;
	return BPF_STORAGE_DONE;
}

/* write past the end of the scratch */
STORFN_SEC
int bad_scratch_oob(struct bpf_storage_ctx *ctx)
{
	volatile __u8 *s = ctx->scratch;

	s[BPF_STORAGE_SCRATCH_MAX] = 1;
	return BPF_STORAGE_DONE;
}

/* read before the start of the scratch */
STORFN_SEC
int bad_scratch_neg(struct bpf_storage_ctx *ctx)
{
	volatile __u8 *s = ctx->scratch;

	return s[-1];
}

/* read past the end of the context */
STORFN_SEC
int bad_ctx_oob(struct bpf_storage_ctx *ctx)
{
	return *(volatile __u32 *)((char *)ctx + sizeof(*ctx));
}

/* write a read-only context field */
STORFN_SEC
int bad_ctx_write(struct bpf_storage_ctx *ctx)
{
	*(volatile __u32 *)&ctx->hop = 3;
	return BPF_STORAGE_DONE;
}

/* narrow load of a pointer field */
STORFN_SEC
int bad_ctx_narrow(struct bpf_storage_ctx *ctx)
{
	return *(volatile __u32 *)&ctx->data;
}
