// SPDX-License-Identifier: GPL-2.0
/*
 * Counts the nvme_chain_resubmit tracepoint: one event per hop the NVMe
 * driver resubmitted (kernel/selftest checks it against driver_hops).
 */
#include "types.h"

enum { BPF_MAP_TYPE_ARRAY = 2 };

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} resubmits SEC(".maps");

SEC("raw_tracepoint/nvme_chain_resubmit")
int count_resubmit(void *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&resubmits, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
