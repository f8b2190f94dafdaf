package results

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/bpfstor/bpfstor/harness/proto"
)

// resultV1 is a SchemaV1 result.json: a Result whose points carry their
// per-kind data in an untyped extra map.
type resultV1 struct {
	Result
	Points []*pointV1 `json:"points"`
}

// pointV1 is a SchemaV1 point: Point's fields (none of the typed sections
// was written then) and the extra map.
type pointV1 struct {
	Point
	Extra json.RawMessage `json:"extra,omitempty"`
}

// extraV1 is every key a SchemaV1 point's extra map held; a key not here is
// an error, so nothing a v1 file recorded is silently dropped.
type extraV1 struct {
	Layers *proto.Layers `json:"layers"` // pread with trace_layers

	FioVersion    *string `json:"fio_version"` // fio
	LatencySource *string `json:"latency_source"`

	TreeDepth   *int    `json:"tree_depth"` // btree
	TreeKeys    *uint64 `json:"tree_keys"`
	TreeFanout  *int    `json:"tree_fanout"`
	Dist        *string `json:"dist"`
	Threads     *int    `json:"threads"`
	Found       *int64  `json:"found"`
	NotFound    *int64  `json:"not_found"`
	ScanChecked *int64  `json:"scan_checked"` // btree kernel-mode lookups
	Op          *string `json:"op"`           // btree range and sum
	Span        *int    `json:"span"`

	Hops       *int64 `json:"hops"` // chain kernel modes, btree
	DriverHops *int64 `json:"driver_hops"`

	Batch        *int   `json:"batch"` // btree uring
	URingSubmits *int64 `json:"uring_submits"`
}

// decodeV1 decodes a SchemaV1 result and converts it to the current schema.
func decodeV1(b []byte) (*Result, error) {
	var v resultV1
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	r := v.Result
	r.Schema = Schema
	r.Points = make([]*Point, len(v.Points))
	for i, p := range v.Points {
		if p == nil {
			return nil, fmt.Errorf("%s point %d is null", SchemaV1, i)
		}
		if err := p.convert(); err != nil {
			return nil, fmt.Errorf("%s point %s: %w", SchemaV1, p.ID, err)
		}
		r.Points[i] = &p.Point
	}
	return &r, nil
}

// convert moves the extra map's keys into the point's typed sections.
func (p *pointV1) convert() error {
	if len(p.Extra) == 0 || string(p.Extra) == "null" {
		return nil
	}
	var e extraV1
	d := json.NewDecoder(bytes.NewReader(p.Extra))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return fmt.Errorf("extra: %w", err)
	}
	if e.Layers != nil {
		p.Layers = e.Layers
	}
	if e.FioVersion != nil || e.LatencySource != nil {
		p.Fio = &proto.Fio{Version: deref(e.FioVersion), LatencySource: deref(e.LatencySource)}
	}
	if e.TreeDepth != nil || e.TreeKeys != nil || e.TreeFanout != nil || e.Dist != nil || e.Threads != nil ||
		e.Found != nil || e.NotFound != nil || e.ScanChecked != nil || e.Op != nil || e.Span != nil {
		p.BTree = &proto.BTree{
			Depth: deref(e.TreeDepth), Keys: deref(e.TreeKeys), Fanout: deref(e.TreeFanout),
			Dist: deref(e.Dist), Threads: deref(e.Threads),
			Found: deref(e.Found), NotFound: deref(e.NotFound), ScanChecked: deref(e.ScanChecked),
			Op: deref(e.Op), Span: deref(e.Span),
		}
	}
	if e.Hops != nil || e.DriverHops != nil {
		p.Hops = &proto.Hops{Hops: deref(e.Hops), DriverHops: deref(e.DriverHops)}
	}
	if e.Batch != nil || e.URingSubmits != nil {
		p.URing = &proto.URing{Batch: deref(e.Batch), Submits: deref(e.URingSubmits)}
	}
	return nil
}

// deref is *v, or the zero value for nil.
func deref[T any](v *T) T {
	if v == nil {
		var zero T
		return zero
	}
	return *v
}
