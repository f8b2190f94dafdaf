// Package spec reads declarative experiment specs (TOML, one experiment per
// file, in the spirit of fio job files) and expands them into the points a
// guest runs. Unknown keys and bad values are errors naming file:line.
package spec

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/workload"
	"github.com/bpfstor/bpfstor/images/btree"
)

// Spec is one experiment.
type Spec struct {
	Name        string     `toml:"name"`
	Description string     `toml:"description"`
	Paper       string     `toml:"paper"`
	Kernel      Kernel     `toml:"kernel"`
	VM          VM         `toml:"vm"`
	Data        Data       `toml:"data"`
	Run         Run        `toml:"run"`
	Workloads   []Workload `toml:"workload"`

	// File is where the spec was read from.
	File string `toml:"-"`
}

// Kernel selects the kernel build.
type Kernel struct {
	// Variant is "default" (base config) or "debug" (base + debug config).
	Variant string `toml:"variant"`
}

// VM is the machine shape.
type VM struct {
	CPUs        int      `toml:"cpus"`
	MemoryMB    int      `toml:"memory_mb"`
	Accel       string   `toml:"accel"`
	BootTimeout Duration `toml:"boot_timeout"`
	JobTimeout  Duration `toml:"job_timeout"`
	// TraceNVMe records QEMU's NVMe doorbell and interrupt events and
	// reports the device-side latency of each command.
	TraceNVMe bool `toml:"trace_nvme"`
	// NVMePaths attaches the data disk as a namespace shared by this many
	// controllers of one NVMe subsystem (2..4: multipath in the guest;
	// 0 or 1: one controller).
	NVMePaths int `toml:"nvme_paths"`
	// Cmdline is added to the guest kernel's command line
	// (e.g. "nvme.use_threaded_interrupts=1").
	Cmdline []string `toml:"cmdline"`
}

// Data is the NVMe backing image.
type Data struct {
	// Kind is "pattern" or "btree".
	Kind   string `toml:"kind"`
	SizeMB int    `toml:"size_mb"`
	Seed   uint64 `toml:"seed"`
	Cache  string `toml:"cache"`
	// Keys and Fanout shape a btree image (images/btree).
	Keys   uint64 `toml:"keys"`
	Fanout int    `toml:"fanout"`
	// FS is the file system the data disk holds the image in: "" (the
	// default: none, the image is the raw device) or "ext4" (the image is
	// the regular file proto.DataFile on an ext4 file system), proto.FSNames.
	FS string `toml:"fs"`
}

// Run holds run-wide parameters.
type Run struct {
	Repetitions int `toml:"repetitions"`
	// Seed seeds every random draw of the workloads (blocks, keys, chain
	// starts) and the order of the points in each repetition.
	Seed int64 `toml:"seed"`
	// Order is the order of the points inside each repetition: "shuffle"
	// (the default: a new order per repetition, drawn with Seed, so that
	// no variant always runs first) or "spec" (as written: for harness
	// tests whose points must run in sequence).
	Order string `toml:"order"`
}

// Point orders inside a repetition (Run.Order).
const (
	OrderShuffle = "shuffle"
	OrderSpec    = "spec"
)

// Workload is one measured workload. Threads, Depth, Mode, Batch, Dist, Op
// and Span take a value or a list: a list sweeps it, and the workload
// expands into the cross product (depth outermost, mode innermost, so the
// modes compared at one point of the sweep run next to each other). Each expansion × repetition is a point.
type Workload struct {
	Kind      string  `toml:"kind"`
	BlockSize int     `toml:"block_size"`
	Ops       int     `toml:"ops"`
	Warmup    int     `toml:"warmup"`
	Threads   IntList `toml:"threads"`
	Depth     IntList `toml:"depth"`
	Mode      StrList `toml:"mode"`
	Batch     IntList `toml:"batch"`
	Dist      StrList `toml:"dist"`
	Op        StrList `toml:"op"`
	Span      IntList `toml:"span"`
	// On is where the workload reads the data: "device" or "file" (the
	// data image as a file on data.fs; the default when data.fs is set).
	On StrList `toml:"on"`
	// TraceLayers (pread, one thread) runs the reads again with BPF
	// kprobes on the read path and reports the per-layer split; on a
	// chain, its driver-mode points run their chains again and split the
	// driver-resubmitted hops (proto.Hops.Split).
	TraceLayers bool `toml:"trace_layers"`
	// Tests (ktest) is a regular expression selecting the in-guest tests
	// to run by full name, as go test's -run ("verifier/"); "" runs all.
	Tests string `toml:"tests"`
}

// IntList is an integer or a list of integers.
type IntList []int

// UnmarshalTOML accepts 3 or [1, 2, 3].
func (l *IntList) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*l = IntList{int(x)}
	case []any:
		*l = nil
		for _, e := range x {
			i, ok := e.(int64)
			if !ok {
				return fmt.Errorf("list element %v is not an integer", e)
			}
			*l = append(*l, int(i))
		}
	default:
		return fmt.Errorf("%v is not an integer or a list of integers", v)
	}
	return nil
}

// StrList is a string or a list of strings.
type StrList []string

// UnmarshalTOML accepts "a" or ["a", "b"].
func (l *StrList) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		*l = StrList{x}
	case []any:
		*l = nil
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("list element %v is not a string", e)
			}
			*l = append(*l, s)
		}
	default:
		return fmt.Errorf("%v is not a string or a list of strings", v)
	}
	return nil
}

func orZero[T any](l []T) []T {
	if len(l) == 0 {
		var zero T
		return []T{zero}
	}
	return l
}

// Expand returns the workload's sweep as concrete workloads.
func (w Workload) Expand() []proto.Workload {
	var out []proto.Workload
	for _, d := range orZero(w.Depth) {
		for _, t := range orZero(w.Threads) {
			for _, b := range orZero(w.Batch) {
				for _, ds := range orZero(w.Dist) {
					for _, op := range orZero(w.Op) {
						for _, sp := range orZero(w.Span) {
							for _, on := range orZero(w.On) {
								if on == workload.OnDevice {
									on = "" // the workload's identity as before data.fs
								}
								for _, m := range orZero(w.Mode) {
									out = append(out, proto.Workload{
										Kind: w.Kind, BlockSize: w.BlockSize, Ops: w.Ops, Warmup: w.Warmup,
										Threads: t, Depth: d, Mode: m, Batch: b, Dist: ds, Op: op, Span: sp, On: on,
										TraceLayers: w.TraceLayers, Tests: w.Tests,
									})
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// Duration is a time.Duration written as "90s" or "5m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. \"90s\" or \"5m\")", b)
	}
	if v <= 0 {
		return fmt.Errorf("duration %q must be positive", b)
	}
	d.Duration = v
	return nil
}

// Defaults fills unset fields.
func (s *Spec) Defaults() {
	if s.Kernel.Variant == "" {
		s.Kernel.Variant = "default"
	}
	if s.VM.CPUs == 0 {
		s.VM.CPUs = 2
	}
	if s.VM.MemoryMB == 0 {
		s.VM.MemoryMB = 512
	}
	if s.VM.Accel == "" {
		s.VM.Accel = "auto"
	}
	if s.VM.BootTimeout.Duration == 0 {
		s.VM.BootTimeout.Duration = 60 * time.Second
	}
	if s.VM.JobTimeout.Duration == 0 {
		s.VM.JobTimeout.Duration = 20 * time.Minute
	}
	if s.Data.Kind == "" {
		s.Data.Kind = "pattern"
	}
	if s.Data.SizeMB == 0 {
		s.Data.SizeMB = 64
	}
	if s.Data.Kind == "btree" && s.Data.Fanout == 0 {
		s.Data.Fanout = 31
	}
	if s.Data.Seed == 0 {
		s.Data.Seed = 1
	}
	if s.Data.Cache == "" {
		s.Data.Cache = "writeback"
	}
	if s.Run.Repetitions == 0 {
		s.Run.Repetitions = 1
	}
	if s.Run.Seed == 0 {
		s.Run.Seed = 1
	}
	if s.Run.Order == "" {
		s.Run.Order = OrderShuffle
	}
	for i := range s.Workloads {
		w := &s.Workloads[i]
		if len(w.Threads) == 0 {
			w.Threads = IntList{1}
		}
		if k, ok := workload.Lookup(w.Kind); ok && w.BlockSize == 0 {
			w.BlockSize = k.DefaultBlockSize
		}
		// with a data file system the workloads read the file unless
		// they say otherwise
		if k, ok := workload.Lookup(w.Kind); ok && k.Uses(workload.FieldOn) && s.Data.FS != proto.FSRaw && len(w.On) == 0 {
			w.On = StrList{workload.OnFile}
		}
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// pollQueues reports whether the guest's NVMe driver gets poll queues.
func (s *Spec) pollQueues() bool {
	for _, a := range s.VM.Cmdline {
		if v, ok := strings.CutPrefix(a, "nvme.poll_queues="); ok && v != "0" && v != "" {
			return true
		}
	}
	return false
}

// MaxRangeSpan and MaxSumSpan bound a range and a sum query's span
// (workload.MaxRangeSpan, workload.MaxSumSpan).
const (
	MaxRangeSpan = workload.MaxRangeSpan
	MaxSumSpan   = workload.MaxSumSpan
)

// quote quotes each name, for a TOML value in an error message.
func quote(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// fsChoices lists proto.FSNames for an error message: "" is the raw device.
func fsChoices() string {
	var out []string
	for _, n := range proto.FSNames {
		if n == proto.FSRaw {
			out = append(out, `"" (the raw device, the default)`)
		} else {
			out = append(out, fmt.Sprintf("%q", n))
		}
	}
	return strings.Join(out, " or ")
}

// Validate checks values; errors name file:line where the key is.
func (s *Spec) Validate(text string) error {
	at := func(key string) string { return s.File + ":" + lineOf(text, key) }
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", at(key), key, fmt.Sprintf(format, args...)))
	}
	if !nameRE.MatchString(s.Name) {
		bad("name", "%q must be lower-case letters, digits, - or _ (it names the result directory)", s.Name)
	}
	switch s.Kernel.Variant {
	case "default", "debug":
	default:
		bad("kernel.variant", "%q is not default or debug", s.Kernel.Variant)
	}
	if s.VM.CPUs < 1 || s.VM.CPUs > 8 {
		bad("vm.cpus", "%d is outside 1..8", s.VM.CPUs)
	}
	if s.VM.MemoryMB < 128 || s.VM.MemoryMB > 16384 {
		bad("vm.memory_mb", "%d is outside 128..16384", s.VM.MemoryMB)
	}
	if s.VM.NVMePaths < 0 || s.VM.NVMePaths > 4 {
		bad("vm.nvme_paths", "%d is outside 0..4", s.VM.NVMePaths)
	}
	for _, a := range s.VM.Cmdline {
		if a == "" || strings.ContainsAny(a, " \t\n") {
			bad("vm.cmdline", "%q is not one kernel parameter (no spaces; give a list)", a)
		}
	}
	switch s.VM.Accel {
	case "auto", "kvm", "tcg":
	default:
		bad("vm.accel", "%q is not auto, kvm or tcg", s.VM.Accel)
	}
	switch s.Data.Kind {
	case "pattern":
	case "btree":
		if s.Data.Keys == 0 {
			bad("data.kind", "a btree image needs data.keys (and data.fanout, default 31)")
		} else if _, err := (btree.Params{Keys: s.Data.Keys, Fanout: s.Data.Fanout, Seed: s.Data.Seed}).Check(); err != nil {
			bad("data.keys", "%v", err)
		}
	default:
		bad("data.kind", "%q is not a known data image kind (pattern, btree)", s.Data.Kind)
	}
	switch s.Data.FS {
	case proto.FSRaw:
	case proto.FSExt4:
		if s.Data.Kind != workload.DataBTree {
			bad("data.fs", "%q holds a btree image as a file: it needs data.kind = %q, not %q", s.Data.FS, workload.DataBTree, s.Data.Kind)
		}
	default:
		bad("data.fs", "%q is not a data file system (%s)", s.Data.FS, fsChoices())
	}
	if s.Data.SizeMB < 1 || s.Data.SizeMB > 64<<10 {
		bad("data.size_mb", "%d is outside 1..65536", s.Data.SizeMB)
	}
	switch s.Data.Cache {
	case "writeback", "none", "writethrough", "directsync", "unsafe":
	default:
		bad("data.cache", "%q is not a QEMU cache mode (writeback, none, writethrough, directsync, unsafe)", s.Data.Cache)
	}
	if s.Run.Repetitions < 1 || s.Run.Repetitions > 1000 {
		bad("run.repetitions", "%d is outside 1..1000", s.Run.Repetitions)
	}
	if s.Run.Order != OrderShuffle && s.Run.Order != OrderSpec {
		bad("run.order", "%q is not shuffle or spec", s.Run.Order)
	}
	if len(s.Workloads) == 0 {
		errs = append(errs, fmt.Errorf("%s: no [[workload]]: add at least one", s.File))
	}
	for i, w := range s.Workloads {
		// A workload's errors name the line in its own [[workload]] table.
		bad := func(key, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%s: %s: %s", s.File, workloadLine(text, i, key), key, fmt.Sprintf(format, args...)))
		}
		k, ok := workload.Lookup(w.Kind)
		if !ok {
			bad("kind", "%v", workload.UnknownKind(w.Kind))
			continue
		}
		set := map[string]bool{
			workload.FieldDepth: len(w.Depth) > 0, workload.FieldMode: len(w.Mode) > 0, workload.FieldBatch: len(w.Batch) > 0,
			workload.FieldDist: len(w.Dist) > 0, workload.FieldOp: len(w.Op) > 0, workload.FieldSpan: len(w.Span) > 0,
			workload.FieldOn: len(w.On) > 0,
		}
		for _, f := range []string{workload.FieldDepth, workload.FieldMode, workload.FieldBatch, workload.FieldDist, workload.FieldOp, workload.FieldSpan, workload.FieldOn} {
			if set[f] && !k.Uses(f) {
				bad(f, "%s is for %s workloads only", f, workload.Or(workload.KindsWhere(func(k workload.Kind) bool { return k.Uses(f) })))
			}
		}
		if slices.ContainsFunc(k.Required, func(f string) bool { return !set[f] }) {
			need := strings.Join(k.Required, " and ")
			if k.Requires(workload.FieldMode) {
				need += " (" + workload.Or(k.ModeNames()) + ")"
			}
			bad("kind", "a %s workload needs %s", k.Name, need)
		}
		if k.Data != "" && s.Data.Kind != k.Data {
			bad("kind", "a %s workload reads the %s image: it needs data.kind = %q, not %q", k.Name, k.Data, k.Data, s.Data.Kind)
		}
		ints := map[string][]int{workload.FieldDepth: w.Depth, workload.FieldBatch: w.Batch, workload.FieldSpan: w.Span}
		for _, f := range []string{workload.FieldDepth, workload.FieldBatch, workload.FieldSpan} {
			if !k.Uses(f) {
				continue
			}
			for _, v := range ints[f] {
				if err := workload.Ranges[f].Check(v); err != nil {
					bad(f, "%v", err)
				}
			}
		}
		strs := map[string][]string{workload.FieldDist: w.Dist, workload.FieldOp: w.Op, workload.FieldOn: w.On}
		for _, f := range []string{workload.FieldDist, workload.FieldOp, workload.FieldOn} {
			if !k.Uses(f) {
				continue
			}
			for _, v := range strs[f] {
				if err := workload.CheckValue(f, v); err != nil {
					bad(f, "%v", err)
				}
			}
		}
		if slices.Contains(w.On, workload.OnFile) && s.Data.FS == proto.FSRaw {
			bad(workload.FieldOn, "%q reads the data image as a file on data.fs: set data.fs = %q", workload.OnFile, proto.FSExt4)
		}
		var batched []string // the modes in the list that need batch
		for _, m := range w.Mode {
			md, ok := k.Mode(m)
			if !ok {
				if k.Uses(workload.FieldMode) {
					bad("mode", "%v", k.UnknownMode(m))
				}
				continue
			}
			if md.NeedsPollQueues && !s.pollQueues() {
				bad("mode", "%s needs poll queues in the guest: add cmdline = [\"nvme.poll_queues=1\"] to [vm]", m)
			}
			if md.NeedsBatch {
				batched = append(batched, m)
			}
			for _, op := range w.Op {
				if md.Ops != nil && !slices.Contains(md.Ops, op) {
					bad("op", "%s queries have no %s mode (only %s queries do): use %s", op, m, workload.Or(md.Ops),
						workload.Or(k.ModesWhere(func(m workload.Mode) bool { return m.Ops == nil || slices.Contains(m.Ops, op) })))
				}
			}
		}
		if k.Uses(workload.FieldBatch) {
			if len(batched) > 0 && len(w.Batch) == 0 {
				bad("mode", "mode %s needs batch (lookups in flight, e.g. batch = [1, 4, 16])", workload.Or(batched))
			}
			if len(batched) == 0 && len(w.Batch) > 0 {
				bad("batch", "batch is the io_uring batch: it needs mode = %s in the list",
					workload.Or(quote(k.ModesWhere(func(m workload.Mode) bool { return m.NeedsBatch }))))
			}
		}
		if k.Uses(workload.FieldOp) {
			ranges := slices.ContainsFunc(w.Op, func(op string) bool { return op != workload.OpLookup })
			if ranges && len(w.Span) == 0 {
				bad("op", "range and sum queries need span (keys per query, e.g. span = [8, 32])")
			}
			if !ranges && len(w.Span) > 0 {
				bad("span", "span is the keys of a range or sum query: it needs op = \"range\" or \"sum\"")
			}
			for _, sp := range w.Span {
				if sp > MaxRangeSpan && slices.Contains(w.Op, workload.OpRange) {
					bad("span", "%d: a range query collects at most %d values (the BPF scratch); use op = \"sum\" for longer spans", sp, MaxRangeSpan)
				}
			}
		}
		if w.TraceLayers && (!k.Uses(workload.FieldTraceLayers) || len(w.Threads) != 1 || w.Threads[0] != 1) {
			bad("trace_layers", "the layer trace follows one reading thread: it needs kind = %s and threads = 1",
				workload.Or(quote(workload.KindsWhere(func(k workload.Kind) bool { return k.Uses(workload.FieldTraceLayers) }))))
		}
		if w.TraceLayers && k.Name == workload.KindChain && !slices.ContainsFunc(w.Mode, func(m string) bool {
			return m == workload.ModeDriver || m == workload.ModeDriverPoll
		}) {
			bad("trace_layers", "on a chain it splits the hops the NVMe driver resubmits: add mode %q or %q", workload.ModeDriver, workload.ModeDriverPoll)
		}
		if w.Tests != "" {
			if !k.Uses(workload.FieldTests) {
				bad("tests", "tests selects in-guest tests: it is for %s workloads only", workload.Or(workload.KindsWhere(func(k workload.Kind) bool { return k.Uses(workload.FieldTests) })))
			} else if _, err := regexp.Compile(w.Tests); err != nil {
				bad("tests", "%q is not a regular expression: %v", w.Tests, err)
			}
		}
		if k.Uses(workload.FieldBlockSize) {
			if w.BlockSize < 512 || w.BlockSize%512 != 0 || w.BlockSize > 1<<20 {
				bad("block_size", "%d is not a multiple of 512 in 512..1048576", w.BlockSize)
			}
			if k.MaxBlockSize > 0 && w.BlockSize > k.MaxBlockSize {
				bad("block_size", "%d: %s reads are at most %d bytes", w.BlockSize, k.Name, k.MaxBlockSize)
			}
		}
		if k.NeedsOps && w.Ops < 1 {
			bad("ops", "%d: a %s workload needs ops >= 1", w.Ops, w.Kind)
		}
		for _, t := range w.Threads {
			if err := workload.Ranges[workload.FieldThreads].Check(t); err != nil {
				bad("threads", "%v", err)
			}
		}
		if w.Warmup < 0 {
			bad("warmup", "%d is negative", w.Warmup)
		}
	}
	return errors.Join(errs...)
}

// workloadLine returns the line number (as text) where key is assigned in
// the i-th [[workload]] table, else that table's header line, or "?".
func workloadLine(text string, i int, key string) string {
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=`)
	n, header := -1, "?"
	for l, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			if strings.HasPrefix(t, "[[workload]]") {
				n++
				if n == i {
					header = fmt.Sprint(l + 1)
				}
			} else if n == i {
				break
			}
			if n > i {
				break
			}
			continue
		}
		if n == i && re.MatchString(line) {
			return fmt.Sprint(l + 1)
		}
	}
	return header
}

// lineOf returns the line number (as text) where key's last component is
// assigned, or "?" if not found.
func lineOf(text, key string) string {
	parts := strings.Split(key, ".")
	last := parts[len(parts)-1]
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(last) + `\s*=`)
	section := ""
	if len(parts) > 1 {
		section = strings.Join(parts[:len(parts)-1], ".")
	}
	inSection := section == ""
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			name := strings.Trim(t, "[] ")
			inSection = section == "" || name == section
			continue
		}
		if inSection && re.MatchString(l) {
			return fmt.Sprint(i + 1)
		}
	}
	return "?"
}

var tomlLineRE = regexp.MustCompile(`^toml: line (\d+) (.*)$`)

// Parse reads a spec from text; file names it in errors.
func Parse(file, text string) (*Spec, error) {
	s := &Spec{File: file}
	md, err := toml.Decode(text, s)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		switch {
		case errors.As(err, &pe):
			return nil, fmt.Errorf("%s:%d: %s", file, pe.Position.Line, pe.Message)
		case errors.As(err, &ppe):
			return nil, fmt.Errorf("%s:%d: %s", file, ppe.Position.Line, ppe.Message)
		}
		if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", file, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var errs []error
		for _, k := range und {
			errs = append(errs, fmt.Errorf("%s:%s: unknown key %q (see experiments/README.md for the spec format)", file, lineOf(text, k.String()), k.String()))
		}
		return nil, errors.Join(errs...)
	}
	s.Defaults()
	if err := s.Validate(text); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads a spec file.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return Parse(path, string(b))
}

// Points expands the spec into points, repetition-major: every workload's
// repetition r runs before any workload's repetition r+1, so drift in the
// machine hits every variant alike. Inside a repetition the points run in
// an order drawn from the run seed, a new one per repetition (Run.Order
// "shuffle"), so that no variant always runs first, after the same
// neighbour or on a cold device; PointSpec.Order records it.
func (s *Spec) Points() []proto.PointSpec {
	var ps []proto.PointSpec
	for r := 0; r < s.Run.Repetitions; r++ {
		var rep []proto.PointSpec
		for i, w := range s.Workloads {
			for j, x := range w.Expand() {
				rep = append(rep, proto.PointSpec{ID: pointID(i, j, x, r), Rep: r, Workload: x})
			}
		}
		if s.Run.Order != OrderSpec {
			rng := rand.New(rand.NewPCG(uint64(s.Run.Seed), 0x6f72646572<<16|uint64(r))) // "order"
			rng.Shuffle(len(rep), func(a, b int) { rep[a], rep[b] = rep[b], rep[a] })
		}
		for k := range rep {
			rep[k].Order = k
		}
		ps = append(ps, rep...)
	}
	return ps
}

// pointID names a point: kind, workload index, the swept values
// (proto.Workload.Params, the same identity analysis.WorkloadKey groups by),
// repetition.
func pointID(i, j int, w proto.Workload, rep int) string {
	id := fmt.Sprintf("%s-%d", w.Kind, i)
	for _, p := range w.Params() {
		if p.Swept {
			id += "-" + p.Short + p.Value
		}
	}
	return fmt.Sprintf("%s/rep%d", id, rep)
}

// HostTools are the host tools the spec's workloads need in the guest
// (workload.Kind.HostTools), each once, in workload order.
func (s *Spec) HostTools() []string {
	var out []string
	for _, w := range s.Workloads {
		if k, ok := workload.Lookup(w.Kind); ok {
			for _, t := range k.HostTools {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}
