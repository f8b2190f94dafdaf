package results

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/nvmetrace"
	"github.com/bpfstor/bpfstor/harness/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/result-v3.golden.json")

// recorded is the committed runs, all written as SchemaV1.
const recorded = "../../experiments/recorded"

func f64(v float64) *float64 { return &v }

// fixture is a result with every section of every point kind set.
func fixture() *Result {
	h := hist.New()
	h.Record(150 * time.Microsecond)
	h.Record(3 * time.Millisecond)
	s := h.Summarize()
	at := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	base := func(id string, w proto.Workload) *proto.Point {
		return &proto.Point{ID: id, Workload: w, Status: proto.StatusOK, Ops: 2, Checked: 2, ElapsedNs: 4e6, IOPS: 500,
			Latency: h, Summary: &s, ClocksourceBefore: "tsc", ClocksourceAfter: "tsc", Steal: &proto.Steal{Guest: f64(0)}}
	}
	pread := base("pread/rep0", proto.Workload{Kind: proto.KindPread, BlockSize: 4096, Ops: 2, TraceLayers: true})
	pread.Layers = &proto.Layers{Reads: 2, Discarded: 1, Overlapped: 1, Missing: map[string]int64{"nvme_irq": 1},
		Disorder: map[string]int64{"submit_bio": 1}, TracedMeanNs: 160e3, UntracedMeanNs: 150e3, OverheadNs: 10e3,
		Segments: []proto.LayerSegment{{Name: proto.SegSyscall, MeanNs: 4e3, Count: 1, Log2: []int64{0, 1}}}}
	fio := base("fio/rep0", proto.Workload{Kind: proto.KindFio, BlockSize: 4096, Ops: 2})
	fio.Fio = &proto.Fio{Version: "fio-3.33", LatencySource: "fio lat_ns percentiles (no histogram)"}
	chain := base("chain/rep0", proto.Workload{Kind: proto.KindChain, BlockSize: 4096, Depth: 4, Mode: "driver", Ops: 2})
	chain.Hops = &proto.Hops{Hops: 8, DriverHops: 6}
	chain.Counters = &proto.Counters{Commands: 8, BlockReads: 2, BlockMerged: 1, DriverResubmits: 6, BusyNs: 3e6, CPUs: 2, WindowNs: 4e6}
	bt := base("btree/rep1", proto.Workload{Kind: proto.KindBTree, Mode: "uring", Batch: 8, Ops: 2})
	bt.Rep, bt.Order, bt.IOPSWindowNs = 1, 2, 3e6
	bt.BTree = &proto.BTree{Depth: 3, Keys: 30000, Fanout: 31, Dist: "uniform", Threads: 1, Found: 1, NotFound: 1}
	bt.Hops = &proto.Hops{Hops: 6}
	bt.URing = &proto.URing{Batch: 8, Submits: 5}
	rg := base("range/rep0", proto.Workload{Kind: proto.KindBTree, Mode: "driver", Op: "range", Span: 8, Ops: 2})
	rg.BTree = &proto.BTree{Depth: 3, Keys: 30000, Fanout: 31, Dist: "zipf", Threads: 2, ScanChecked: 40, Op: "range", Span: 8}
	rg.Hops = &proto.Hops{Hops: 6, DriverHops: 4}
	kt := &proto.Point{ID: "ktest/rep0", Workload: proto.Workload{Kind: proto.KindKTest}, Status: proto.StatusFailed, Error: "1 of 2 failed",
		Tests: []proto.TestResult{{Name: "a", Pass: true, ElapsedNs: 5}, {Name: "b", Message: "no", ElapsedNs: 6}}}
	r := &Result{Schema: Schema, Name: "golden", Status: StatusPartial, Reason: "1 of 6 points failed, 0 missing", Expected: 6,
		Meta: Meta{Spec: "golden.toml", KernelRelease: "6.12.0", Accel: "tcg", DataFS: proto.FSExt4, GuestCPUs: 2, Seed: 1, Repetitions: 2,
			HostOtherCPUs: f64(0.1), HostSteal: f64(0.01), Started: at, Finished: at.Add(time.Minute)},
		Device: &nvmetrace.Result{Latency: h, Summary: s, Paired: 2},
	}
	for i, p := range []*proto.Point{pread, fio, chain, bt, rg, kt} {
		rp := FromWire(p)
		rp.InputHash = "hash" + p.ID
		if i == 2 {
			rp.ReusedFrom, rp.Remeasured = "results/earlier", 1
			rp.Steal.Host = f64(0.02)
			rp.DeviceService = &hist.Summary{Count: 8, P50Ns: 90e3, MeanNs: 95e3}
		}
		r.Points = append(r.Points, rp)
	}
	return r
}

// TestSchemaGolden pins result.json as Write writes it. If it fails, the
// on-disk schema changed: bump Schema (and have Read convert the old one)
// before regenerating the golden file with go test -run TestSchemaGolden
// ./harness/results -update. Never just regenerate it under the same
// schema name.
func TestSchemaGolden(t *testing.T) {
	dir := t.TempDir()
	if err := fixture().Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "result-v3.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("result.json of the fixture differs from %s: the %s schema changed (bump Schema, then -update)\ngot:\n%s", golden, Schema, got)
	}
	r, err := Read(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Points, fixture().Points) {
		t.Errorf("golden file read back differs from the fixture")
	}
}

// A v2 result.json (before the counters section and a point's device
// service time) reads as the v3 fixture without them.
func TestV2Reads(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "result-v2.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := fixture().Points
	for _, p := range want {
		p.Counters, p.DeviceService = nil, nil
	}
	if r.Schema != Schema || !reflect.DeepEqual(r.Points, want) {
		t.Errorf("v2 golden file read as %s, points differ from the fixture's without counters", r.Schema)
	}
}

// Every field of the wire point reaches result.json as it was sent.
func TestFromWireKeepsEveryField(t *testing.T) {
	h := hist.New()
	h.Record(time.Millisecond)
	s := h.Summarize()
	p := &proto.Point{ID: "x", Rep: 1, Order: 2, Workload: proto.Workload{Kind: proto.KindBTree}, Status: proto.StatusFailed, Error: "e",
		Ops: 1, Checked: 2, Wrong: 3, ElapsedNs: 4, IOPS: 5, IOPSWindowNs: 6, Latency: h, Summary: &s,
		ClocksourceBefore: "tsc", ClocksourceAfter: "hpet", Tests: []proto.TestResult{{Name: "t"}}, Steal: &proto.Steal{Guest: f64(1)},
		Layers: &proto.Layers{Reads: 1}, Fio: &proto.Fio{Version: "v"}, BTree: &proto.BTree{Depth: 1}, Hops: &proto.Hops{Hops: 1}, URing: &proto.URing{Batch: 1},
		Counters: &proto.Counters{Commands: 1}}
	v := reflect.ValueOf(*p)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("proto.Point.%s is not set in this test: set it, and carry it in FromWire", v.Type().Field(i).Name)
		}
	}
	var wire, disk map[string]json.RawMessage
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &wire)
	b, _ = json.Marshal(FromWire(p))
	json.Unmarshal(b, &disk)
	for k, v := range wire {
		if !bytes.Equal(disk[k], v) {
			t.Errorf("%s: wire %s, recorded %s", k, v, disk[k])
		}
	}
}

// v1 extra keys by the section they go to.
var v1Keys = map[string][]string{
	"layers": {"layers"},
	"fio":    {"fio_version", "latency_source"},
	"btree":  {"tree_depth", "tree_keys", "tree_fanout", "dist", "threads", "found", "not_found", "scan_checked", "op", "span"},
	"hops":   {"hops", "driver_hops"},
	"uring":  {"batch", "uring_submits"},
}

// asV1 is p's sections as SchemaV1 extra keys.
func asV1(p *Point) map[string]any {
	m := map[string]any{}
	if p.Layers != nil {
		m["layers"] = p.Layers
	}
	if f := p.Fio; f != nil {
		m["fio_version"], m["latency_source"] = f.Version, f.LatencySource
	}
	if b := p.BTree; b != nil {
		m["tree_depth"], m["tree_keys"], m["tree_fanout"], m["dist"], m["threads"] = b.Depth, b.Keys, b.Fanout, b.Dist, b.Threads
		m["found"], m["not_found"], m["scan_checked"], m["op"], m["span"] = b.Found, b.NotFound, b.ScanChecked, b.Op, b.Span
	}
	if h := p.Hops; h != nil {
		m["hops"], m["driver_hops"] = h.Hops, h.DriverHops
	}
	if u := p.URing; u != nil {
		m["batch"], m["uring_submits"] = u.Batch, u.Submits
	}
	var out map[string]any
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &out)
	return out
}

// Every committed v1 run converts without loss: each extra key of each
// point is in its section with the same value, and a section is there
// only when some of its keys were.
func TestV1RecordedLossless(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recorded, "*", FileName))
	more, _ := filepath.Glob(filepath.Join(recorded, "*", "*", "*", FileName))
	files = append(files, more...)
	v1 := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Schema string `json:"schema"`
			Points []struct {
				Extra map[string]any `json:"extra"`
			} `json:"points"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Schema != SchemaV1 {
			continue // recorded by a later bpfstor: nothing to convert
		}
		v1++
		r, err := Read(f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Schema != Schema || len(r.Points) != len(raw.Points) {
			t.Fatalf("%s: read as %s with %d points, want %s with %d", f, r.Schema, len(r.Points), Schema, len(raw.Points))
		}
		for i, p := range r.Points {
			got := asV1(p)
			for k, v := range raw.Points[i].Extra {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s %s: extra %s = %v, converted %v", f, p.ID, k, v, got[k])
				}
			}
			for sec, keys := range v1Keys {
				had := false
				for _, k := range keys {
					_, ok := raw.Points[i].Extra[k]
					had = had || ok
				}
				has := !reflect.ValueOf(p).Elem().FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, sec) }).IsNil()
				if has != had {
					t.Errorf("%s %s: section %s present %v, v1 had its keys %v", f, p.ID, sec, has, had)
				}
			}
		}
	}
	if v1 < 10 {
		t.Fatalf("%d recorded v1 runs found under %s, want the committed ones (at least 10)", v1, recorded)
	}
}

// Named points of committed v1 runs, one of every kind with sections, read
// into the sections they should have.
func TestV1Conversion(t *testing.T) {
	tests := []struct {
		run, point string
		check      func(*Point) bool
	}{
		{"20261125-150056-baseline", "pread-0/rep0", func(p *Point) bool {
			return p.Layers == nil && p.Fio == nil && p.BTree == nil && p.Hops == nil && p.URing == nil
		}},
		{"20261125-150056-baseline", "fio-1/rep0", func(p *Point) bool {
			return *p.Fio == proto.Fio{Version: "fio-3.33", LatencySource: "fio lat_ns percentiles (no histogram)"}
		}},
		{"20261125-150124-breakdown", "pread-0/rep0", func(p *Point) bool {
			l := p.Layers
			return l.Reads == 10000 && l.Discarded == 2 && l.Overlapped == 90 && len(l.Segments) == 9 &&
				l.Segments[0].Name == proto.SegCrossIn && l.Segments[0].Count == 9998 && l.TracedMeanNs == 215264.5921 &&
				reflect.DeepEqual(l.Missing, map[string]int64{"nvme_irq": 2, "submit_bio_wait_endio": 2}) && p.BTree == nil
		}},
		{"20261125-150149-chain", "chain-0-d1-pread/rep0", func(p *Point) bool { return p.Hops == nil }},
		{"20261125-150149-chain", "chain-0-d1-driver/rep0", func(p *Point) bool { return *p.Hops == proto.Hops{Hops: 1000} }},
		{"20261125-150443-uring-d3", "btree-0-uring-b1-uniform/rep0", func(p *Point) bool {
			return *p.BTree == proto.BTree{Depth: 3, Keys: 30000, Fanout: 31, Dist: "uniform", Threads: 1, Found: 4484, NotFound: 516} &&
				*p.Hops == proto.Hops{Hops: 19484} && *p.URing == proto.URing{Batch: 1, Submits: 19484}
		}},
		{"20261125-150443-uring-d3", "btree-1-driver-uniform/rep0", func(p *Point) bool {
			return *p.BTree == proto.BTree{Depth: 3, Keys: 30000, Fanout: 31, Dist: "uniform", Threads: 1, Found: 4484, NotFound: 516, ScanChecked: 40} &&
				*p.Hops == proto.Hops{Hops: 19484, DriverHops: 14484} && p.URing == nil
		}},
		{"20261125-150732-range", "btree-0-driver-range-s8/rep0", func(p *Point) bool {
			return *p.BTree == proto.BTree{Depth: 3, Keys: 30000, Fanout: 31, Dist: "uniform", Threads: 1, Op: "range", Span: 8} &&
				*p.Hops == proto.Hops{Hops: 1500, DriverHops: 1200}
		}},
	}
	runs := map[string]*Result{}
	for _, tt := range tests {
		t.Run(tt.run+"/"+tt.point, func(t *testing.T) {
			r, ok := runs[tt.run]
			if !ok {
				var err error
				if r, err = Read(filepath.Join(recorded, tt.run)); err != nil {
					t.Fatal(err)
				}
				runs[tt.run] = r
			}
			for _, p := range r.Points {
				if p.ID == tt.point {
					if !tt.check(p) {
						b, _ := json.Marshal(struct {
							L *proto.Layers
							F *proto.Fio
							B *proto.BTree
							H *proto.Hops
							U *proto.URing
						}{p.Layers, p.Fio, p.BTree, p.Hops, p.URing})
						t.Errorf("sections %s", b)
					}
					return
				}
			}
			t.Fatalf("no point %s", tt.point)
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown schema", `{"schema": "bpfstor.result/v9", "points": []}`,
			[]string{FileName, `schema "bpfstor.result/v9" is not supported`, Schema, SchemaV1}},
		{"no schema", `{"points": []}`, []string{`schema "" is not supported`}},
		{"v1 unknown extra key", `{"schema": "bpfstor.result/v1", "points": [{"id": "p1", "extra": {"tree_depth": 3, "colour": "red"}}]}`,
			[]string{FileName, "point p1", `unknown field "colour"`}},
		{"v1 mistyped extra", `{"schema": "bpfstor.result/v1", "points": [{"id": "p1", "extra": {"hops": "many"}}]}`,
			[]string{"point p1", "extra"}},
		{"not json", `{`, []string{FileName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(dir)
			if err == nil {
				t.Fatal("read without error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
