package workload

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
	"github.com/bpfstor/bpfstor/harness/proto"
)

// FioPath is where the image builder puts fio in the initramfs.
const FioPath = "/usr/bin/fio"

// fioOutput is the part of fio's JSON output we read.
type fioOutput struct {
	Version string `json:"fio version"`
	Jobs    []struct {
		Error int `json:"error"`
		Read  struct {
			TotalIOs  int64   `json:"total_ios"`
			IOPS      float64 `json:"iops"`
			RuntimeMs int64   `json:"runtime"`
			LatNs     struct {
				Min        int64              `json:"min"`
				Max        int64              `json:"max"`
				Mean       float64            `json:"mean"`
				Percentile map[string]float64 `json:"percentile"`
			} `json:"lat_ns"`
		} `json:"read"`
	} `json:"jobs"`
}

// fioArgs is the fio command line for a workload: psync random reads with
// O_DIRECT, exactly the I/O pattern of the pread workload.
func fioArgs(dev string, w proto.Workload, seed int64) []string {
	threads := max(w.Threads, 1)
	return []string{
		"--name=bpfstor", "--filename=" + dev, "--rw=randread",
		"--bs=" + strconv.Itoa(w.BlockSize), "--direct=1", "--ioengine=psync",
		"--numjobs=" + strconv.Itoa(threads), "--group_reporting",
		"--number_ios=" + strconv.Itoa(w.Ops/threads),
		"--randseed=" + strconv.FormatInt(seed, 10),
		"--lat_percentiles=1", "--clat_percentiles=0",
		"--percentile_list=50:90:99:99.9",
		"--output-format=json",
	}
}

// parseFio turns fio's JSON into the point's summary.
func parseFio(out []byte, p *proto.Point) error {
	// fio may print warnings before the JSON document.
	if i := strings.IndexByte(string(out), '{'); i > 0 {
		out = out[i:]
	}
	var fo fioOutput
	if err := json.Unmarshal(out, &fo); err != nil {
		return fmt.Errorf("fio: parse output: %w", err)
	}
	if len(fo.Jobs) != 1 {
		return fmt.Errorf("fio: %d job results, want 1 (group_reporting)", len(fo.Jobs))
	}
	j := fo.Jobs[0]
	if j.Error != 0 {
		return fmt.Errorf("fio: job error %d", j.Error)
	}
	pct := func(k string) (int64, error) {
		v, ok := j.Read.LatNs.Percentile[k]
		if !ok {
			return 0, fmt.Errorf("fio: no %s percentile in output", k)
		}
		return int64(v), nil
	}
	s := hist.Summary{Count: j.Read.TotalIOs, MinNs: j.Read.LatNs.Min, MeanNs: j.Read.LatNs.Mean, MaxNs: j.Read.LatNs.Max}
	var err error
	for _, q := range []struct {
		key string
		dst *int64
	}{{"50.000000", &s.P50Ns}, {"90.000000", &s.P90Ns}, {"99.000000", &s.P99Ns}, {"99.900000", &s.P999Ns}} {
		if *q.dst, err = pct(q.key); err != nil {
			return err
		}
	}
	p.Ops = j.Read.TotalIOs
	p.IOPS = j.Read.IOPS
	p.ElapsedNs = j.Read.RuntimeMs * int64(time.Millisecond)
	p.Summary = &s
	p.Fio = &proto.Fio{Version: fo.Version, LatencySource: "fio lat_ns percentiles (no histogram)"}
	return nil
}

// runFio runs Debian's fio on the same device as an external check of the
// pread workload's numbers. fio does not check data, so Checked stays 0.
func runFio(env *Env, ps proto.PointSpec, p *proto.Point) error {
	args := fioArgs(env.dataPath(ps.Workload), ps.Workload, env.Job.RunSeed+int64(ps.Rep))
	out, err := exec.Command(FioPath, args...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return fmt.Errorf("fio: %s", msg)
	}
	return parseFio(out, p)
}
