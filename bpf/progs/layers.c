// SPDX-License-Identifier: GPL-2.0
/*
 * Where the time of one O_DIRECT pread of a raw NVMe block device goes,
 * layer by layer (XRP Table 1), timed in the guest with kprobes.
 *
 * The path of a 512 B read in Linux 6.12 (none of the probed functions is
 * inlined in bpfstor's kernel: each is in its System.map):
 *
 *   __x64_sys_pread64 -> ksys_pread64 -> vfs_read -> blkdev_read_iter
 *   -> blkdev_direct_IO -> __blkdev_direct_IO_simple -> submit_bio_wait
 *   -> submit_bio -> __submit_bio (starts a plug) -> blk_mq_submit_bio
 *   (request into the plug) -> blk_finish_plug -> blk_mq_flush_plug_list
 *   -> nvme_queue_rqs (command into the SQ, doorbell) ... the device ...
 *   nvme_irq -> nvme_poll_cq -> nvme_pci_complete_batch
 *   -> blk_mq_end_request_batch -> bio_endio -> submit_bio_wait_endio
 *   -> complete() ... the reader wakes up -> syscall return.
 *
 * Requests leave the plug through nvme_queue_rqs(); one it hands back, or
 * one issued without a plug, goes through nvme_queue_rq(). Both are
 * probed as the driver's points: a read that passes both is discarded.
 *
 * Completions are batched (blk_mq_add_to_batch() in nvme_handle_cqe()), so
 * neither nvme_pci_complete_rq() nor blk_mq_end_request() runs for these
 * reads; the bio's end_io, submit_bio_wait_endio(), always does (it is
 * called through a pointer, so it cannot be inlined).
 *
 * Only the thread user space names in target_pid is followed. Its points
 * go into one record (the read in flight); at the syscall's return each
 * segment (point to next point) is added to layer_stats, unless a point is
 * missing, repeated or out of order: then the read is counted as
 * discarded (an interrupt before the driver's return is not disorder: see
 * finish()). The two user/kernel crossings are timed by user space (the
 * Go runtime's vDSO CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads)
 * from the syscall entry and exit times published in last.
 */

#include "types.h"

enum { BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PERCPU_ARRAY = 6 };

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* x86-64 registers at a kprobe (arch/x86/include/asm/ptrace.h) */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* The points of one read, in the order it passes them. */
enum layer_point {
	PT_SYS_ENTER,	/* __x64_sys_pread64 entry: the syscall begins */
	PT_FILE,	/* blkdev_read_iter entry: the block device's file op */
	PT_BIO,		/* submit_bio entry: the direct-I/O bio is built */
	PT_DRV,		/* nvme_queue_rq(s) entry: blk-mq issues the request */
	PT_DRV_RET,	/* nvme_queue_rq(s) return: in the SQ, doorbell rung */
	PT_IRQ,		/* nvme_irq entry of the interrupt that completed it */
	PT_BIO_END,	/* submit_bio_wait_endio entry: the bio completed */
	PT_SYS_EXIT,	/* __x64_sys_pread64 return: back to user space */
	NR_POINTS,
};

#define NR_SEGMENTS	(NR_POINTS - 1)
#define LOG2_BUCKETS	40

/* Segment i runs from point i to point i + 1. */
struct segment_stats {
	__u64 sum_ns;
	__u64 count;
	__u64 log2[LOG2_BUCKETS];	/* [2^i, 2^(i+1)) ns; 0 ns in log2[0] */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SEGMENTS);
	__type(key, __u32);
	__type(value, struct segment_stats);
} layer_stats SEC(".maps");

/* When the latest nvme_irq began on each CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} irq_start SEC(".maps");

/* The thread followed, set by user space before attaching. */
__u32 target_tgid;
__u32 target_pid;

/*
 * Written by user space before each read: its sequence number, and
 * whether it counts (warm-up reads are followed but not added).
 */
struct layer_req {
	__u64 seq;
	__u64 record;
} req;

/* Published at each syscall return, for user space's crossings. */
struct layer_last {
	__u64 seq;
	__u64 kept;
	__u64 enter_ns;
	__u64 exit_ns;
} last;

/* Reads that counted, and why some were discarded (by point). */
struct layer_counts {
	__u64 reads;
	__u64 kept;
	__u64 discarded;
	__u64 repeated;		/* a point seen twice, or the driver refused */
	__u64 missing[NR_POINTS];
	__u64 disorder[NR_POINTS];
	__u64 overlapped;	/* kept, with the interrupt before the return */
} counts;

/* The read in flight. */
static struct {
	__u64 ts[NR_POINTS];
	__u64 bio;
	__u64 seq;
	__u64 record;
	__u64 active;
	__u64 repeated;
} cur;

static __always_inline int is_target(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return target_pid && (__u32)id == target_pid && id >> 32 == target_tgid;
}

static __always_inline void mark(enum layer_point pt, __u64 now)
{
	if (!cur.active)
		return;
	if (cur.ts[pt])
		cur.repeated = 1;
	else
		cur.ts[pt] = now;
}

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

/* Checks the read's points and adds its segments, at the syscall's return. */
static __always_inline void finish(void)
{
	struct segment_stats *st;
	__u64 prev = 0, d;
	__u32 i, b;
	int kept = !cur.repeated, overlapped = 0;

	/*
	 * The doorbell is rung inside nvme_queue_rq(s), so the interrupt can
	 * come before it returns: the device was fast, or (under TCG) the
	 * host descheduled the vCPU that rang it. Then the driver segment
	 * ends at the interrupt and the device segment is 0 for this read:
	 * its device time stays in the driver's. Such reads are kept and
	 * counted in overlapped, so that they do not bias the split toward
	 * the reads whose vCPU was never descheduled.
	 */
	if (cur.ts[PT_DRV] && cur.ts[PT_IRQ] >= cur.ts[PT_DRV] &&
	    cur.ts[PT_IRQ] < cur.ts[PT_DRV_RET]) {
		cur.ts[PT_DRV_RET] = cur.ts[PT_IRQ];
		overlapped = 1;
	}
	if (cur.record) {
		counts.reads++;
		if (cur.repeated)
			counts.repeated++;
	}
	for (i = 0; i < NR_POINTS; i++) {
		if (!cur.ts[i]) {
			if (cur.record)
				counts.missing[i]++;
			kept = 0;
			continue;
		}
		if (cur.ts[i] < prev) {
			if (cur.record)
				counts.disorder[i]++;
			kept = 0;
		}
		prev = cur.ts[i];
	}
	if (cur.record && kept) {
		counts.kept++;
		counts.overlapped += overlapped;
		for (i = 0; i < NR_SEGMENTS; i++) {
			__u32 key = i;

			st = bpf_map_lookup_elem(&layer_stats, &key);
			if (!st)
				break;
			d = cur.ts[i + 1] - cur.ts[i];
			b = log2_bucket(d);
			st->sum_ns += d;
			st->count++;
			st->log2[b]++;
		}
	} else if (cur.record) {
		counts.discarded++;
	}
	last.enter_ns = cur.ts[PT_SYS_ENTER];
	last.exit_ns = cur.ts[PT_SYS_EXIT];
	last.kept = kept;
	last.seq = cur.seq;
	cur.active = 0;
}

SEC("kprobe/__x64_sys_pread64")
int sys_enter(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (!is_target())
		return 0;
	/*
	 * A read still active here lost its return: it published no record,
	 * and user space counts it.
	 */
	__builtin_memset(&cur, 0, sizeof(cur));
	cur.seq = req.seq;
	cur.record = req.record;
	cur.active = 1;
	cur.ts[PT_SYS_ENTER] = now;
	return 0;
}

SEC("kprobe/blkdev_read_iter")
int file_enter(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (is_target())
		mark(PT_FILE, now);
	return 0;
}

SEC("kprobe/submit_bio")
int bio_submit(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (!is_target() || !cur.active)
		return 0;
	mark(PT_BIO, now);
	cur.bio = ctx->di;	/* matched at its completion */
	return 0;
}

SEC("kprobe/nvme_queue_rqs")
int driver_list_enter(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (is_target())
		mark(PT_DRV, now);
	return 0;
}

SEC("kretprobe/nvme_queue_rqs")
int driver_list_exit(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (is_target())
		mark(PT_DRV_RET, now);
	return 0;
}

SEC("kprobe/nvme_queue_rq")
int driver_enter(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (is_target())
		mark(PT_DRV, now);
	return 0;
}

SEC("kretprobe/nvme_queue_rq")
int driver_exit(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (!is_target() || !cur.active)
		return 0;
	mark(PT_DRV_RET, now);
	if (ctx->ax)	/* not BLK_STS_OK: requeued, issued again elsewhere */
		cur.repeated = 1;
	return 0;
}

SEC("kprobe/nvme_irq")
int irq_enter(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 key = 0;
	__u64 *start;

	if (!cur.active)
		return 0;
	start = bpf_map_lookup_elem(&irq_start, &key);
	if (start)
		*start = now;
	return 0;
}

/*
 * Runs inside the nvme_irq that completed the bio (hard IRQ, any CPU), so
 * that interrupt's start is the one recorded on this CPU.
 */
SEC("kprobe/submit_bio_wait_endio")
int bio_end(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 key = 0;
	__u64 *start;

	if (!cur.active || ctx->di != cur.bio)
		return 0;
	start = bpf_map_lookup_elem(&irq_start, &key);
	if (start && *start)
		mark(PT_IRQ, *start);
	mark(PT_BIO_END, now);
	return 0;
}

SEC("kretprobe/__x64_sys_pread64")
int sys_exit(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (!is_target() || !cur.active)
		return 0;
	cur.ts[PT_SYS_EXIT] = now;
	finish();
	return 0;
}
