package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sort"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

// Inputs is everything a point's measurement depends on besides the host.
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
	Seed          int64          `json:"seed"`
	Workload      proto.Workload `json:"workload"`
	Rep           int            `json:"rep"`
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
	point *proto.Point
	dir   string
}
