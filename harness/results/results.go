// Package results holds the result of a run: every point the guest measured
// plus the metadata needed to trust and recompute it (inputs' hashes and
// versions, accelerator, clocksource, host load). A run directory holds
// result.json (rewritten after every point, so an interrupted run keeps
// what it measured) and console.log.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/nvmetrace"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// Schema versions result.json: what Write writes. Read also reads the
// older SchemaV2 (as it is) and SchemaV1 (converting it, see v1.go).
const Schema = "bpfstor.result/v3"

// SchemaV2 is result.json before a point's counters section (device
// commands and guest CPU time over the measured window) and its device
// service time: a v2 file is a v3 file without them.
const SchemaV2 = "bpfstor.result/v2"

// SchemaV1 is result.json before typed per-kind sections: every point was
// the wire's proto.Point, its per-kind data in an untyped "extra" map.
const SchemaV1 = "bpfstor.result/v1"

// Schemas are the schemas Read reads, newest first.
var Schemas = []string{Schema, SchemaV2, SchemaV1}

// Run statuses.
const (
	StatusOK      = "ok"      // every point measured and ok
	StatusPartial = "partial" // some points missing or failed; the rest kept
	StatusFailed  = "failed"  // nothing measured
	StatusRunning = "running" // being written
)

// Meta is what a result was measured with.
type Meta struct {
	Spec       string `json:"spec"`
	SpecSHA256 string `json:"spec_sha256"`

	KernelRelease   string   `json:"kernel_release"`
	KernelVersion   string   `json:"kernel_version"`
	KernelKey       string   `json:"kernel_key"`
	KernelSource    string   `json:"kernel_source"`
	KernelVariant   string   `json:"kernel_variant"`
	PatchSeriesHash string   `json:"patch_series_hash"`
	Patches         []string `json:"patches"`
	FragmentHash    string   `json:"config_fragment_hash"`
	ConfigHash      string   `json:"config_hash"`
	Toolchain       string   `json:"toolchain"`

	QEMUVersion string   `json:"qemu_version"`
	QEMUCmdline []string `json:"qemu_cmdline"`
	Accel       string   `json:"accel"`
	AccelNote   string   `json:"accel_note"`

	GuestCmdline     string `json:"guest_cmdline"`
	GuestCPUs        int    `json:"guest_cpus"`
	GuestMemKB       int64  `json:"guest_mem_kb"`
	GuestClocksource string `json:"guest_clocksource_at_boot"`
	BootNs           int64  `json:"boot_to_agent_ns"`

	InitramfsHash string `json:"initramfs_hash"`
	DataImage     string `json:"data_image"`
	DataKind      string `json:"data_kind"`
	// DataFS is the file system holding the data image as a file
	// (proto.FSExt4); "" (omitted: every result before it) is the raw
	// device.
	DataFS   string `json:"data_fs,omitempty"`
	DataSeed uint64 `json:"data_seed"`

	HostName      string     `json:"host_name"`
	HostKernel    string     `json:"host_kernel"`
	HostCPU       string     `json:"host_cpu"`
	HostCPUs      int        `json:"host_cpus"`
	HostLoadStart [3]float64 `json:"host_loadavg_start"`
	HostLoadEnd   [3]float64 `json:"host_loadavg_end"`
	// HostOtherCPUs is the average number of host CPUs that processes
	// other than bpfstor and its VM kept busy while the VM ran (host
	// /proc/stat minus bpfstor's own CPU time): the interference the
	// measurements may include. Nil if not measured (older results).
	HostOtherCPUs *float64 `json:"host_other_cpus,omitempty"`
	// HostSteal is the share of the host's CPU time the hypervisor stole
	// while the VM ran (the steal column of /proc/stat); every point has
	// its own in Point.Steal.
	HostSteal *float64 `json:"host_steal,omitempty"`

	Seed        int64  `json:"seed"`
	Repetitions int    `json:"repetitions"`
	BpfstorRev  string `json:"bpfstor_rev"`

	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// Result is one run of one spec.
type Result struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Expected is the number of points the spec asked for.
	Expected int      `json:"expected_points"`
	Meta     Meta     `json:"meta"`
	Points   []*Point `json:"points"`
	// Device is the device-side latency of the run's NVMe commands, from
	// QEMU's trace (vm.trace_nvme), when recorded.
	Device *nvmetrace.Result `json:"device,omitempty"`
}

// Finish sets the status from the points and the reason the run stopped
// ("" when the guest completed the job).
func (r *Result) Finish(reason string) {
	r.Meta.Finished = time.Now().UTC()
	r.Reason = reason
	failed := 0
	for _, p := range r.Points {
		if p.Status != proto.StatusOK {
			failed++
		}
	}
	switch {
	case len(r.Points) == 0:
		r.Status = StatusFailed
		if r.Reason == "" {
			r.Reason = "no point was measured"
		}
	case reason != "" || failed > 0 || len(r.Points) < r.Expected:
		r.Status = StatusPartial
		if r.Reason == "" {
			r.Reason = fmt.Sprintf("%d of %d points failed, %d missing", failed, r.Expected, r.Expected-len(r.Points))
		}
	default:
		r.Status = StatusOK
	}
}

// FileName is the result file in a run directory.
const FileName = "result.json"

// Write writes the result atomically into dir.
func (r *Result) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	p := filepath.Join(dir, FileName)
	if err := os.WriteFile(p+".tmp", append(b, '\n'), 0o644); err != nil {
		os.Remove(p + ".tmp") // a short write must not fill what space is left
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// Read reads a result file, or the result.json in a directory, of any
// schema in Schemas (older ones converted to the current one).
func Read(path string) (*Result, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w (is this a run directory made by bpfstor run?)", err)
	}
	r, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return r, nil
}

// decode decodes a result of any schema in Schemas.
func decode(b []byte) (*Result, error) {
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	switch head.Schema {
	case Schema, SchemaV2:
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		r.Schema = Schema
		return &r, nil
	case SchemaV1:
		return decodeV1(b)
	}
	return nil, fmt.Errorf("schema %q is not supported (this bpfstor reads %s)", head.Schema, strings.Join(Schemas, ", "))
}

// maxRunDirs bounds the run directories of one name made in one second.
const maxRunDirs = 1000

// NewRunDir makes results/<time>-<name> below root (…-<name>.2, .3, … when
// it exists). Any other filesystem error ends it with the path and the
// errno: it never retries what cannot succeed.
func NewRunDir(root, name string, now time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("results: %w (make it writable, or pass --results DIR)", err)
	}
	base := filepath.Join(root, now.UTC().Format("20060102-150405")+"-"+name)
	dir := base
	for i := 2; i <= maxRunDirs; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("results: %w (make %s writable, or pass --results DIR)", err, root)
		}
		dir = fmt.Sprintf("%s.%d", base, i)
	}
	return "", fmt.Errorf("results: %s: %d run directories of this name in one second already exist", base, maxRunDirs)
}
