// SPDX-License-Identifier: GPL-2.0
/*
 * Where the time of one driver-resubmitted hop of a chain goes, timed in
 * the guest with kprobes (chain workloads with trace_layers, driver modes).
 *
 * A hop the NVMe driver resubmits, in Linux 6.12 with bpfstor's series:
 *
 *   ... the device ... nvme_irq (or nvme_poll, polled chains)
 *   -> nvme_poll_cq -> nvme_handle_cqe -> nvme_pci_chain_resubmit
 *   -> storage_chain_step (the program, the next read's checks)
 *   -> SQE rewritten and copied, doorbell rung
 *   -> tracepoint nvme_chain_resubmit ... the device ...
 *
 * Segments, per resubmitted hop:
 *   wait    nvme_chain_resubmit of the hop before -> nvme_irq/nvme_poll
 *           entry: the device plus the interrupt's delivery as the guest
 *           sees it (for a poll, until the poll that found the CQE)
 *   cqe     nvme_irq/nvme_poll entry -> storage_chain_step entry: CQE
 *           read, request lookup, checks, DMA sync
 *   prog    storage_chain_step entry -> return: the program and the next
 *           read's validation
 *   submit  storage_chain_step return -> nvme_chain_resubmit: sq_lock,
 *           command rewrite, SQE copy, doorbell write, unlock
 * The first hop of a chain comes from the syscall, so its wait is not a
 * driver hop's: a wait is counted only from a resubmission to the next
 * hop's completion. The chain is followed globally (one chain in flight:
 * the traced run has one thread).
 */
#include "types.h"

enum { BPF_MAP_TYPE_ARRAY = 2 };

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum hop_segment {
	SEG_WAIT,
	SEG_CQE,
	SEG_PROG,
	SEG_SUBMIT,
	NR_HOP_SEGMENTS,
};

#define LOG2_BUCKETS	40

struct segment_stats {
	__u64 sum_ns;
	__u64 count;
	__u64 log2[LOG2_BUCKETS];	/* [2^i, 2^(i+1)) ns; 0 ns in log2[0] */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_HOP_SEGMENTS);
	__type(key, __u32);
	__type(value, struct segment_stats);
} hop_stats SEC(".maps");

/* Set by user space: 1 while the measured chains run (not warm-up). */
__u64 record;

/* Resubmitted hops seen, and hops left out (a point missing or out of order). */
struct hop_counts {
	__u64 resubmits;
	__u64 kept;
	__u64 discarded;
} counts;

/* The points of the hop in flight (0: not seen). */
static struct {
	__u64 resubmitted;	/* the hop before, when the driver sent this one */
	__u64 entry;		/* nvme_irq / nvme_poll */
	__u64 step;		/* storage_chain_step entry */
	__u64 step_ret;		/* storage_chain_step return */
} cur;

static __always_inline __u32 log2_bucket(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < LOG2_BUCKETS ? r : LOG2_BUCKETS - 1;
}

static __always_inline void add(__u32 seg, __u64 d)
{
	struct segment_stats *st = bpf_map_lookup_elem(&hop_stats, &seg);

	if (!st)
		return;
	st->sum_ns += d;
	st->count++;
	st->log2[log2_bucket(d)]++;
}

static __always_inline void entered(void)
{
	__u64 now = bpf_ktime_get_ns();

	/*
	 * A step with no resubmission after it: the chain ended or the
	 * syscall took it over, so the next hop is not a driver hop's
	 * successor. Otherwise the latest entry before the step is the one
	 * that found its CQE.
	 */
	if (cur.step) {
		cur.resubmitted = 0;
		cur.step = 0;
		cur.step_ret = 0;
	}
	cur.entry = now;
}

SEC("kprobe/nvme_irq")
int irq_enter(void *ctx)
{
	entered();
	return 0;
}

SEC("kprobe/nvme_poll")
int poll_enter(void *ctx)
{
	entered();
	return 0;
}

SEC("kprobe/storage_chain_step")
int step_enter(void *ctx)
{
	cur.step = bpf_ktime_get_ns();
	return 0;
}

SEC("kretprobe/storage_chain_step")
int step_exit(void *ctx)
{
	cur.step_ret = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tracepoint/nvme_chain_resubmit")
int resubmit(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 r = cur.resubmitted;
	__u64 e = cur.entry, s = cur.step, sr = cur.step_ret;

	cur.resubmitted = now;
	cur.entry = 0;
	cur.step = 0;
	cur.step_ret = 0;
	if (!record)
		return 0;
	counts.resubmits++;
	if (!e || !s || !sr || e > s || s > sr || sr > now) {
		counts.discarded++;
		return 0;
	}
	counts.kept++;
	if (r && r <= e)
		add(SEG_WAIT, e - r);
	add(SEG_CQE, s - e);
	add(SEG_PROG, sr - s);
	add(SEG_SUBMIT, now - sr);
	return 0;
}
