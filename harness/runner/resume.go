package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sort"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/spec"
)

// Inputs is everything a point's measurement depends on besides the host.
// specInputs says where each spec field enters it.
type Inputs struct {
	KernelKey     string         `json:"kernel_key"`
	InitramfsHash string         `json:"initramfs_hash"`
	DataImage     string         `json:"data_image"`
	DataCache     string         `json:"data_cache"`
	CPUs          int            `json:"cpus"`
	MemoryMB      int            `json:"memory_mb"`
	Accel         string         `json:"accel"`
	NVMePaths     int            `json:"nvme_paths,omitempty"`
	Cmdline       []string       `json:"cmdline,omitempty"`
	TraceNVMe     bool           `json:"trace_nvme"`
	Seed          int64          `json:"seed"`
	RunSeed       int64          `json:"run_seed"`
	Workload      proto.Workload `json:"workload"`
	Rep           int            `json:"rep"`
}

// built is what the pipeline made of a spec before the guest runs: the
// inputs of every point that are not spec fields.
type built struct {
	KernelKey, InitramfsHash, DataImage, Accel string
	DataSeed                                   uint64
}

// pointInputs is point ps's Inputs.
func pointInputs(s *spec.Spec, b built, ps proto.PointSpec) Inputs {
	return Inputs{KernelKey: b.KernelKey, InitramfsHash: b.InitramfsHash, DataImage: b.DataImage, DataCache: s.Data.Cache,
		CPUs: s.VM.CPUs, MemoryMB: s.VM.MemoryMB, Accel: b.Accel, NVMePaths: s.VM.NVMePaths, Cmdline: s.VM.Cmdline,
		TraceNVMe: s.VM.TraceNVMe,
		Seed:      int64(b.DataSeed), RunSeed: s.Run.Seed, Workload: ps.Workload, Rep: ps.Rep}
}

// specInputs is how each field of spec.Spec (by Go path; Workloads[] is
// every workload) enters a point's input hash: "hashed" (pointInputs puts
// it in), "built:F" (it changes Inputs.F, which a build step makes of it),
// or "exempt: why" (it cannot change a measurement). A test walks the spec
// types and fails on a field missing here, so a new field has to say.
var specInputs = map[string]string{
	"Name":            "exempt: names the run directory; resume looks only at runs of the same name",
	"Description":     "exempt: text",
	"Paper":           "exempt: text",
	"File":            "exempt: where the spec was read from",
	"Kernel.Variant":  "built:KernelKey",
	"VM.CPUs":         "hashed",
	"VM.MemoryMB":     "hashed",
	"VM.Accel":        "built:Accel",
	"VM.BootTimeout":  "exempt: how long to wait for the guest, not what it measures",
	"VM.JobTimeout":   "exempt: how long to wait for the guest, not what it measures",
	"VM.TraceNVMe":    "hashed",
	"VM.NVMePaths":    "hashed",
	"VM.Cmdline":      "hashed",
	"Data.Kind":       "built:DataImage",
	"Data.SizeMB":     "built:DataImage",
	"Data.Seed":       "built:DataImage",
	"Data.Keys":       "built:DataImage",
	"Data.Fanout":     "built:DataImage",
	"Data.FS":         "built:DataImage",
	"Data.Cache":      "hashed",
	"Run.Repetitions": "exempt: how many points there are; each point hashes its own repetition index",
	"Run.Seed":        "hashed",
	"Run.Order": "exempt: the order is a randomisation over the run seed (hashed); a point measured at another place " +
		"in its repetition is an equally valid draw, and hashing its place would make any added workload re-measure all",
	"Workloads[].Kind":        "hashed",
	"Workloads[].BlockSize":   "hashed",
	"Workloads[].Ops":         "hashed",
	"Workloads[].Warmup":      "hashed",
	"Workloads[].Threads":     "hashed",
	"Workloads[].Depth":       "hashed",
	"Workloads[].Mode":        "hashed",
	"Workloads[].Batch":       "hashed",
	"Workloads[].Dist":        "hashed",
	"Workloads[].Op":          "hashed",
	"Workloads[].Span":        "hashed",
	"Workloads[].On":          "hashed",
	"Workloads[].TraceLayers": "hashed",
	"Workloads[].Tests":       "hashed",
}

// Hash is the point's input hash.
func (in Inputs) Hash() string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:24]
}

// measured indexes the ok points of earlier runs of a spec by input hash.
// Newer runs win. Partial runs count: their ok points are real.
func measured(resultsDir, name string) map[string]*reused {
	dirs, _ := filepath.Glob(filepath.Join(resultsDir, "*-"+name))
	more, _ := filepath.Glob(filepath.Join(resultsDir, "*-"+name+".*"))
	dirs = append(dirs, more...)
	sort.Strings(dirs)
	out := map[string]*reused{}
	for _, d := range dirs {
		r, err := results.Read(d)
		if err != nil || r.Name != name {
			continue
		}
		for _, p := range r.Points {
			if p.Status == proto.StatusOK && p.InputHash != "" {
				src := d
				if p.ReusedFrom != "" {
					src = p.ReusedFrom
				}
				out[p.InputHash] = &reused{point: p, dir: src}
			}
		}
	}
	return out
}

type reused struct {
	point *results.Point
	dir   string
}
