package e2e

import (
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

// Per-kind sections of a recorded point, zero when the point has none.

func btreeOf(p *results.Point) proto.BTree {
	if p.BTree == nil {
		return proto.BTree{}
	}
	return *p.BTree
}

func hopsOf(p *results.Point) proto.Hops {
	if p.Hops == nil {
		return proto.Hops{}
	}
	return *p.Hops
}

func uringOf(p *results.Point) proto.URing {
	if p.URing == nil {
		return proto.URing{}
	}
	return *p.URing
}
