package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const good = `name = "baseline"
description = "512 B O_DIRECT preads"

[vm]
cpus = 1
boot_timeout = "30s"

[run]
repetitions = 2
seed = 7

[[workload]]
kind = "pread"
ops = 1000
warmup = 100

[[workload]]
kind = "fio"
ops = 500
`

func TestParseGood(t *testing.T) {
	s, err := Parse("b.toml", strings.Replace(good, "seed = 7", "seed = 7\norder = \"spec\"", 1))
	if err != nil {
		t.Fatal(err)
	}
	if s.VM.CPUs != 1 || s.VM.MemoryMB != 512 || s.Run.Seed != 7 || s.Workloads[0].BlockSize != 512 {
		t.Errorf("unexpected spec %+v", s)
	}
	ps := s.Points()
	if len(ps) != 4 {
		t.Fatalf("%d points, want 4", len(ps))
	}
	// repetition-major interleaving
	want := []string{"pread-0/rep0", "fio-1/rep0", "pread-0/rep1", "fio-1/rep1"}
	for i, p := range ps {
		if p.ID != want[i] {
			t.Errorf("point %d = %s, want %s", i, p.ID, want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"syntax", "name = \n", "x.toml:1:"},
		{"unknown top key", "colour = \"red\"\n" + good, `x.toml:1: unknown key "colour"`},
		{"unknown workload key", good + "colour = \"red\"\n", `x.toml:20: unknown key "workload.colour"`},
		{"unknown nested key", strings.Replace(good, "cpus = 1", "cpus = 1\nvcpus = 2", 1), `x.toml:6: unknown key "vm.vcpus"`},
		{"bad type", strings.Replace(good, "cpus = 1", `cpus = "one"`, 1), "x.toml:5"},
		{"bad duration", strings.Replace(good, `"30s"`, `"soon"`, 1), "bad duration"},
		{"bad cpus", strings.Replace(good, "cpus = 1", "cpus = 99", 1), "x.toml:5: vm.cpus: 99 is outside 1..8"},
		{"bad kind", strings.Replace(good, `kind = "fio"`, `kind = "fiio"`, 1), `"fiio" is not a workload kind`},
		{"bad block size", strings.Replace(good, "ops = 500", "ops = 500\nblock_size = 100", 1), "block_size: 100 is not a multiple of 512"},
		{"bad name", strings.Replace(good, `"baseline"`, `"Base Line"`, 1), "x.toml:1: name"},
		{"no workloads", "name = \"x\"\n", "no [[workload]]"},
		{"pread on a btree image", strings.Replace(good, "[run]", "[data]\nkind = \"btree\"\nkeys = 100\n[run]", 1), `needs data.kind = "pattern", not "btree"`},
		{"bad accel", strings.Replace(good, "cpus = 1", `accel = "hvf"`, 1), `vm.accel: "hvf" is not auto, kvm or tcg`},
		{"layer trace on fio", good + "trace_layers = true\n", `x.toml:20: trace_layers: the layer trace follows one reading thread: it needs kind = "pread" or "chain" and threads = 1`},
		{"bad nvme paths", strings.Replace(good, "cpus = 1", "cpus = 1\nnvme_paths = 5", 1), "x.toml:6: vm.nvme_paths: 5 is outside 0..4"},
		{"cmdline with a space", strings.Replace(good, "cpus = 1", "cpus = 1\ncmdline = [\"a b\"]", 1), `vm.cmdline: "a b" is not one kernel parameter`},
		{"layer trace with threads", strings.Replace(good, "warmup = 100", "warmup = 100\nthreads = 2\ntrace_layers = true", 1), "trace_layers: the layer trace follows one reading thread"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestSweep(t *testing.T) {
	s, err := Parse("c.toml", `name = "chain"
[run]
repetitions = 2
order = "spec"
[[workload]]
kind = "chain"
ops = 10
depth = [1, 2]
mode = ["pread", "syscall", "driver"]
`)
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Points()
	if len(ps) != 12 {
		t.Fatalf("%d points, want 2 depths x 3 modes x 2 reps", len(ps))
	}
	want := []string{"chain-0-d1-pread/rep0", "chain-0-d1-syscall/rep0", "chain-0-d1-driver/rep0", "chain-0-d2-pread/rep0"}
	for i, w := range want {
		if ps[i].ID != w {
			t.Errorf("point %d = %s, want %s", i, ps[i].ID, w)
		}
	}
	if ps[6].ID != "chain-0-d1-pread/rep1" || ps[0].Workload.BlockSize != 512 {
		t.Errorf("rep order or defaults wrong: %s %+v", ps[6].ID, ps[0].Workload)
	}
	for _, bad := range []struct{ text, want string }{
		{"depth = [0]\nmode = \"pread\"", "depth: 0 is outside"},
		{"depth = 3\nmode = \"nvme\"", `mode: "nvme" is not pread`},
		{"depth = [\"x\"]\nmode = \"pread\"", "not an integer"},
		{"mode = \"pread\"", "needs depth and mode"},
		{"depth = 3\nmode = \"driver-poll\"", `driver-poll needs poll queues in the guest: add cmdline = ["nvme.poll_queues=1"] to [vm]`},
		{"depth = 3\nmode = [\"pread\", \"syscall\"]\ntrace_layers = true", `trace_layers: on a chain it splits the hops the NVMe driver resubmits: add mode "driver" or "driver-poll"`},
	} {
		_, err := Parse("c.toml", "name = \"c\"\n[[workload]]\nkind = \"chain\"\nops = 1\n"+bad.text+"\n")
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.text, err, bad.want)
		}
	}
	for _, cmdline := range []string{`["nvme.poll_queues=1"]`, `["quiet", "nvme.poll_queues=2"]`} {
		if _, err := Parse("c.toml", "name = \"c\"\n[vm]\ncmdline = "+cmdline+"\n[[workload]]\nkind = \"chain\"\nops = 1\ndepth = 3\nmode = \"driver-poll\"\n"); err != nil {
			t.Errorf("driver-poll with cmdline %s: %v", cmdline, err)
		}
	}
	if _, err := Parse("c.toml", "name = \"c\"\n[vm]\ncmdline = [\"nvme.poll_queues=0\"]\n[[workload]]\nkind = \"chain\"\nops = 1\ndepth = 3\nmode = \"driver-poll\"\n"); err == nil {
		t.Error("driver-poll with nvme.poll_queues=0 accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(good)
	f.Add("name = \"x\"\n[[workload]]\nkind = \"sleep\"\n")
	f.Add("[vm]\ncpus = -1\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse("fuzz.toml", text)
		if err != nil {
			return
		}
		// A spec that parses must be valid and expand to points.
		if err := s.Validate(text); err != nil {
			t.Fatalf("parsed spec fails validation: %v", err)
		}
		n := 0
		for _, w := range s.Workloads {
			n += len(w.Expand())
		}
		if len(s.Points()) != n*s.Run.Repetitions {
			t.Fatalf("points mismatch")
		}
	})
}

func TestBTreeWorkloads(t *testing.T) {
	const head = "name = \"b\"\n[run]\norder = \"spec\"\n[data]\nkind = \"btree\"\nkeys = 3000\n[[workload]]\nkind = \"btree\"\nops = 10\n"
	s, err := Parse("b.toml", head+"op = [\"range\", \"sum\"]\nspan = [8, 63]\nmode = [\"pread\", \"driver\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Points()
	if len(ps) != 8 || ps[0].ID != "btree-0-pread-range-s8/rep0" || ps[7].ID != "btree-0-driver-sum-s63/rep0" {
		t.Fatalf("points %v", ps)
	}
	s, err = Parse("b.toml", head+"mode = \"uring\"\nbatch = [1, 32]\nthreads = [1, 2]\n")
	if err != nil {
		t.Fatal(err)
	}
	if ps := s.Points(); len(ps) != 4 || ps[3].ID != "btree-0-t2-uring-b32/rep0" {
		t.Fatalf("points %v", ps)
	}
	for _, bad := range []struct{ text, want string }{
		{"mode = \"uring\"", "mode uring needs batch"},
		{"mode = \"pread\"\nbatch = 4", "batch is the io_uring batch"},
		{"mode = \"uring\"\nbatch = 0", "batch: 0 is outside 1..256"},
		{"mode = \"pread\"\nop = \"scan\"\nspan = 3", `op: "scan" is not lookup, range or sum`},
		{"mode = \"pread\"\nop = \"sum\"", "need span"},
		{"mode = \"pread\"\nspan = 8", "span is the keys of a range or sum query"},
		{"mode = \"pread\"\nop = \"range\"\nspan = 64", "a range query collects at most 63 values"},
		{"mode = \"pread\"\nop = \"sum\"\nspan = 121", "span: 121 is outside 1..120"},
		{"mode = \"uring\"\nbatch = 2\nop = \"sum\"\nspan = 8", "sum queries have no uring mode"},
	} {
		_, err := Parse("b.toml", head+bad.text+"\n")
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.text, err, bad.want)
		}
	}
	if _, err := Parse("c.toml", "name = \"c\"\n[[workload]]\nkind = \"pread\"\nops = 1\nop = \"sum\"\n"); err == nil || !strings.Contains(err.Error(), "op is for btree workloads only") {
		t.Errorf("op on pread: err = %v", err)
	}
}

// TestCommittedSpecs parses every spec in experiments/: a spec that a
// suite or the README names must not fail at run time on a typo.
func TestCommittedSpecs(t *testing.T) {
	files, err := filepath.Glob("../../experiments/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no specs in experiments/ (%v)", err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Error(err)
		}
	}
}

func TestTraceLayers(t *testing.T) {
	s, err := Parse("b.toml", "name = \"b\"\n[[workload]]\nkind = \"pread\"\nops = 10\ntrace_layers = true\n")
	if err != nil {
		t.Fatal(err)
	}
	if ps := s.Points(); len(ps) != 1 || !ps[0].Workload.TraceLayers || ps[0].Workload.Threads != 1 {
		t.Fatalf("points %+v", ps)
	}
}

// TestPointsShuffled: inside each repetition the points run in an order
// drawn from the run seed, a new one per repetition; the same seed gives
// the same order, another seed another; Order records it.
func TestPointsShuffled(t *testing.T) {
	text := func(seed int) string {
		return fmt.Sprintf("name = \"c\"\n[run]\nrepetitions = 3\nseed = %d\n[[workload]]\nkind = \"pread\"\nops = 1\n[[workload]]\nkind = \"chain\"\nops = 10\ndepth = [1, 2, 3]\nmode = [\"pread\", \"syscall\", \"driver\"]\n", seed)
	}
	order := func(seed int) [][]string {
		s, err := Parse("c.toml", text(seed))
		if err != nil {
			t.Fatal(err)
		}
		if s.Run.Order != OrderShuffle {
			t.Fatalf("default order %q, want %q", s.Run.Order, OrderShuffle)
		}
		reps := make([][]string, s.Run.Repetitions)
		for _, p := range s.Points() {
			if p.Order != len(reps[p.Rep]) {
				t.Fatalf("%s: order %d at place %d of repetition %d", p.ID, p.Order, len(reps[p.Rep]), p.Rep)
			}
			reps[p.Rep] = append(reps[p.Rep], strings.TrimSuffix(p.ID, fmt.Sprintf("/rep%d", p.Rep)))
		}
		return reps
	}
	a, again, b := order(1), order(1), order(2)
	if fmt.Sprint(a) != fmt.Sprint(again) {
		t.Error("the same run seed gave two orders")
	}
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Error("run seeds 1 and 2 gave the same order")
	}
	written := []string{"pread-0", "chain-1-d1-pread", "chain-1-d1-syscall", "chain-1-d1-driver", "chain-1-d2-pread"}
	firsts := map[string]bool{}
	for r, rep := range a {
		if len(rep) != 10 {
			t.Fatalf("repetition %d: %d points, want 10", r, len(rep))
		}
		sorted := slices.Clone(rep)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != 10 {
			t.Errorf("repetition %d repeats a point: %v", r, rep)
		}
		firsts[rep[0]] = true
		if slices.Equal(rep[:5], written) {
			t.Errorf("repetition %d runs in the written order", r)
		}
	}
	if fmt.Sprint(a[0]) == fmt.Sprint(a[1]) && fmt.Sprint(a[1]) == fmt.Sprint(a[2]) {
		t.Error("every repetition has the same order")
	}
	s, err := Parse("c.toml", strings.Replace(text(1), "seed = 1", "seed = 1\norder = \"spec\"", 1))
	if err != nil {
		t.Fatal(err)
	}
	if ps := s.Points(); ps[0].ID != "pread-0/rep0" || ps[1].ID != "chain-1-d1-pread/rep0" || ps[10].ID != "pread-0/rep1" {
		t.Errorf("order = \"spec\" does not keep the written order: %s %s %s", ps[0].ID, ps[1].ID, ps[10].ID)
	}
	if _, err := Parse("c.toml", strings.Replace(text(1), "seed = 1", "seed = 1\norder = \"random\"", 1)); err == nil || !strings.Contains(err.Error(), `c.toml:5: run.order: "random" is not shuffle or spec`) {
		t.Errorf("bad order: err = %v", err)
	}
}

// TestWorkloadErrorLines: a workload's error names the line in its own
// [[workload]] table, not the first line anywhere with the same key (a
// bad kind used to be reported at [data]'s kind).
func TestWorkloadErrorLines(t *testing.T) {
	text := `name = "x"
[data]
kind = "pattern"
[[workload]]
kind = "pread"
ops = 10
[[workload]]
ops = 5
threads = 2
kind = "preed"
[[workload]]
kind = "pread"
ops = 1
threads = 99
`
	_, err := Parse("x.toml", text)
	for _, want := range []string{`x.toml:10: kind: "preed" is not a workload kind`, "x.toml:14: threads: 99 is outside 1..64"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want containing %q", err, want)
		}
	}
	// The second workload's kind, not the first's.
	_, err = Parse("x.toml", "name = \"x\"\n[[workload]]\nkind = \"sleep\"\n[[workload]]\nkind = \"chain\"\nops = 1\n")
	if err == nil || !strings.Contains(err.Error(), "x.toml:5: kind: a chain workload needs depth and mode") {
		t.Errorf("err = %v, want at line 5", err)
	}
}

// data.fs: "" (the raw device) by default, "ext4" for a btree image as a
// file; anything else is an error on its line naming the allowed values.
func TestDataFS(t *testing.T) {
	const head = "name = \"f\"\n[data]\nkind = \"btree\"\nkeys = 3000\n"
	const wl = "[[workload]]\nkind = \"btree\"\nops = 10\nmode = [\"pread\", \"syscall\"]\n"
	tests := []struct {
		name, data, want, err string
	}{
		{"default is the raw device", "", "", ""},
		{"raw spelled out", "fs = \"\"\n", "", ""},
		{"ext4", "fs = \"ext4\"\n", "ext4", ""},
		{"unknown", "fs = \"xfs\"\n", "", `f.toml:5: data.fs: "xfs" is not a data file system ("" (the raw device, the default) or "ext4")`},
		{"case matters", "fs = \"EXT4\"\n", "", `data.fs: "EXT4" is not a data file system`},
		{"not a string", "fs = 4\n", "", "f.toml:5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("f.toml", head+tt.data+wl)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is more than one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Data.FS != tt.want {
				t.Errorf("data.fs = %q, want %q", s.Data.FS, tt.want)
			}
		})
	}
	// ext4 holds a btree image: a pattern image on it is an error naming why.
	_, err := Parse("p.toml", "name = \"p\"\n[data]\nfs = \"ext4\"\n[[workload]]\nkind = \"pread\"\nops = 1\n")
	if want := `p.toml:3: data.fs: "ext4" holds a btree image as a file: it needs data.kind = "btree", not "pattern"`; err == nil || err.Error() != want {
		t.Errorf("ext4 on a pattern image: err = %v, want %q", err, want)
	}
}

func TestWorkloadOn(t *testing.T) {
	const head = "name = \"f\"\n[data]\nkind = \"btree\"\nkeys = 3000\n"
	const wl = "[[workload]]\nkind = \"btree\"\nops = 10\nmode = \"pread\"\n"
	tests := []struct {
		name, data, on string
		want           []string // the points' On
		err            string
	}{
		{"raw: the device", "", "", []string{""}, ""},
		{"ext4: the file by default", "fs = \"ext4\"\n", "", []string{"file"}, ""},
		{"ext4: both, device first", "fs = \"ext4\"\n", "on = [\"device\", \"file\"]\n", []string{"", "file"}, ""},
		{"ext4: the device only", "fs = \"ext4\"\n", "on = \"device\"\n", []string{""}, ""},
		{"a file without data.fs", "", "on = \"file\"\n", nil, `on: "file" reads the data image as a file on data.fs: set data.fs = "ext4"`},
		{"unknown", "fs = \"ext4\"\n", "on = \"disk\"\n", nil, `on: "disk" is not device or file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("f.toml", head+tt.data+wl+tt.on)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range s.Points() {
				if p.Rep == 0 {
					got = append(got, p.Workload.On)
				}
			}
			slices.Sort(got) // the run order is shuffled
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("points on %q, want %q", got, tt.want)
			}
		})
	}
}
