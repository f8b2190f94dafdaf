// Package objs holds the BPF programs of bpfstor (bpf/progs/*.c),
// compiled by bpf2go into little-endian objects that are embedded in the
// generated Go files, with Go mirrors of the C types the Go side shares
// with them. Regenerate with `make generate` (or go generate ./bpf/objs)
// after changing a program or a header; `make lint` checks that the
// committed files are current.
//
// The storage functions (SEC("storage")) are BPF_PROG_TYPE_STORAGE, a type
// cilium/ebpf does not know: load them with bpf/storfn, which sets the
// program type in the CollectionSpec.
package objs

//go:generate go tool bpf2go -target bpfel -type chain_scratch -output-stem chain Chain ../progs/chain.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -output-stem chain_bad ChainBad ../progs/chain_bad.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -output-stem verifier_ok VerifierOk ../progs/verifier_ok.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -output-stem hop_trace HopTrace ../progs/hop_trace.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -type btree_scratch -output-stem btree BTree ../progs/btree.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -type btree_scan_scratch -output-stem btree_scan BTreeScan ../progs/btree_scan.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -output-stem layers Layers ../progs/layers.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -output-stem hop_layers HopLayers ../progs/hop_layers.c -- -Wall -I../include
//go:generate go tool bpf2go -target bpfel -type walk_scratch -output-stem walk Walk ../progs/walk.c -- -Wall -I../include
