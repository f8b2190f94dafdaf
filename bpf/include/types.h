/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The uapi integer types for BPF programs built with only -I bpf/include
 * (there are no asm/ headers for the bpf target), shared by storfn.h and
 * the tracing programs that do not use the storage context.
 */
#ifndef BPFSTOR_TYPES_H
#define BPFSTOR_TYPES_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

#endif /* BPFSTOR_TYPES_H */
