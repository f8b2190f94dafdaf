package suite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/results"
)

// TestSuiteRecorded writes the suite report of the recorded default-suite
// runs (the default suite: baseline, breakdown, chain with a device trace,
// B+-tree lookups at depths 1..6 and 10, uring, threads, range, kv) and
// checks what index.md says and that the figures decode.
func TestSuiteRecorded(t *testing.T) {
	runs := fixture.RecordedRuns(t)
	out := t.TempDir()
	start := time.Now()
	if err := Write(out, runs, Options{Name: "default"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("suite report took %v, want < 10 s", el)
	}
	for _, f := range []string{"depth-latency.png", "depth-speedup.png"} {
		fixture.PNGOK(t, filepath.Join(out, f))
	}
	want := []string{
		"# bpfstor suite: default", "Status **ok**: 14 run(s) ok",
		"**TCG (software CPU emulation) in at least one run",
		"![B+-tree lookup latency vs tree depth (depth experiment, across runs)](depth-latency.png)",
		"![B+-tree lookup speedup vs tree depth beside the papers (depth experiment, across runs)](depth-speedup.png)",
		"unjoined markers are runs at another fanout",
		"| 1 | 31 | 31 | btree-d1-f31 | driver | 3 |", "| 3 | 31 | 30000 | btree | syscall | 3 |",
		"| 10 | 2 | 39366 | btree-d10-f2 | driver | 3 |",
		"XRP (OSDI'22) latency 1.25x (13.4→10.7 µs)", // XRP Table 3 at depth 1
		"HotOS'21 IOPS 2.53x (109→276 K IOPS)",       // HotOS at depth 10
		"### baseline — ok", "### chain — ok", "### btree-d10-f2 — ok",
		"[report](", "20261125-150149-chain/report.md)",
		"the first kept: pread at depth 3 (run btree kept; also in uring-d3, threads)",
		"| chain bs=512 depth=10 mode=driver | 3 |",
		"| btree mode=driver dist=uniform | 3 |",
	}
	idx := fixture.CheckFile(t, filepath.Join(out, Index), want, []string{"NaN", "Inf", "partial"})
	// No invented XRP number at depths 2..5: the depth-2 rows carry only the stated maxima.
	for _, l := range strings.Split(idx, "\n") {
		if strings.HasPrefix(l, "| 2 | 31 |") && strings.Contains(l, "XRP") {
			t.Errorf("an XRP number at depth 2: %s", l)
		}
	}

	// suite.json names the runs relative to the suite directory; read back
	// they are the same directories.
	m, got, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "default" || m.Status != results.StatusOK || len(got) != len(runs) {
		t.Fatalf("manifest %+v, runs %v", m, got)
	}
	for i := range runs {
		a, _ := filepath.Abs(runs[i])
		if b, _ := filepath.Abs(got[i]); a != b {
			t.Errorf("run %d: %s, want %s", i, b, a)
		}
	}
	if !IsDir(out) || IsDir(runs[0]) {
		t.Error("IsDir")
	}
}

// A suite with a spec that made no run and a run directory that cannot be
// read is reported, marked partial, with what is there.
func TestSuitePartial(t *testing.T) {
	runs := fixture.RecordedRuns(t)
	tests := []struct {
		name    string
		dirs    []string
		missing []Missing
		status  string
		md      []string
		files   []string
	}{
		{"missing spec", []string{fixture.RunNamed(t, runs, "baseline"), fixture.RunNamed(t, runs, "btree")}, []Missing{{Spec: "experiments/btree-d4-f31.toml", Error: "kernel build: linux-source-6.12 not found"}},
			"partial", []string{"Status **partial** (partial suite: experiments/btree-d4-f31.toml produced no run)",
				"## Specs that produced no run", "- `experiments/btree-d4-f31.toml`: kernel build: linux-source-6.12 not found",
				"### btree — ok"}, []string{"depth-latency.png"}},
		{"unreadable run", append([]string{t.TempDir()}, runs[0]), nil,
			"partial", []string{"— unreadable", "is this a run directory made by bpfstor run?",
				"No run has plain B+-tree point lookups"}, nil},
		{"nothing", nil, []Missing{{Spec: "experiments/baseline.toml", Error: "interrupted"}},
			"failed", []string{"Status **failed**"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			if err := Write(out, tt.dirs, Options{Name: "default", Missing: tt.missing}); err != nil {
				t.Fatal(err)
			}
			fixture.CheckFile(t, filepath.Join(out, Index), tt.md, nil)
			for _, f := range tt.files {
				fixture.PNGOK(t, filepath.Join(out, f))
			}
			m, _, err := Read(out)
			if err != nil || m.Status != tt.status || len(m.Missing) != len(tt.missing) {
				t.Errorf("manifest %+v, %v; want status %s", m, err, tt.status)
			}
		})
	}
}

// TestSuiteView writes the suite report of the recorded runs, and every
// run's own report, for looking at:
// BPFSTOR_SUITE_VIEW=/tmp/suite go test ./harness/report/suite/ -run TestSuiteView -v
func TestSuiteView(t *testing.T) {
	out := os.Getenv("BPFSTOR_SUITE_VIEW")
	if out == "" {
		t.Skip("set BPFSTOR_SUITE_VIEW=DIR to write the suite report of experiments/recorded to look at")
	}
	start := time.Now()
	var dirs []string
	for _, src := range fixture.RecordedRuns(t) {
		r, err := results.Read(src)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(out, filepath.Base(src))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
		if err := report.Write(dir, r); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	if err := Write(filepath.Join(out, "suite-default"), dirs, Options{Name: "default"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d run reports and the suite report in %v: %s", len(dirs), time.Since(start), filepath.Join(out, "suite-default", Index))
}
