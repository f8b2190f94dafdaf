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

struct {
	__uint(type, 3);	/* BPF_MAP_TYPE_PROG_ARRAY */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} progs SEC(".maps");

/* a helper that is not offered in interrupt context (unbounded work) */
STORFN_SEC
int bad_helper_tail_call(struct bpf_storage_ctx *ctx)
{
	bpf_tail_call(ctx, &progs, 0);
	return BPF_STORAGE_DONE;
}

/* write the narrow half of a writable context field */
STORFN_SEC
int bad_ctx_narrow_write(struct bpf_storage_ctx *ctx)
{
	*(volatile __u32 *)&ctx->next_offset = 0;
	return BPF_STORAGE_NEXT;
}

/*
 * Store a kernel pointer into the scratch, which is copied back to user
 * space: refused unless the loader may leak pointers (CAP_PERFMON).
 */
STORFN_SEC
int leak_data_ptr(struct bpf_storage_ctx *ctx)
{
	*(const void *volatile *)ctx->scratch = ctx->data;
	return BPF_STORAGE_DONE;
}
