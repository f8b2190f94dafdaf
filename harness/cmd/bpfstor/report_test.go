package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/report/suite"
	"github.com/bpfstor/bpfstor/harness/results"
)

// copyRuns copies the result.json of the recorded runs into a results
// directory of the test's own.
func copyRuns(t *testing.T) (root string, dirs []string) {
	t.Helper()
	src, err := filepath.Glob(filepath.Join("..", "..", "..", "experiments", "recorded", "2*btree*"))
	if err != nil || len(src) < 2 {
		t.Fatalf("recorded runs: %v %v", src, err)
	}
	root = t.TempDir()
	for _, s := range src {
		r, err := results.Read(s)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(root, filepath.Base(s))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(d); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return root, dirs
}

func TestReportCLI(t *testing.T) {
	root, dirs := copyRuns(t)
	out := filepath.Join(root, "suite-out")
	run := func(args ...string) error {
		return app().RunContext(context.Background(), append([]string{"bpfstor", "report"}, args...))
	}
	// Several run directories: each run's report and a suite report.
	if err := run(append([]string{"--suite-out", out}, dirs...)...); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, report.MarkdownFile)); err != nil {
			t.Error(err)
		}
	}
	idx, err := os.ReadFile(filepath.Join(out, suite.Index))
	if err != nil || !strings.Contains(string(idx), "depth-speedup.png") {
		t.Fatalf("index.md: %v\n%s", err, idx)
	}
	// The suite directory alone regenerates it in place.
	os.Remove(filepath.Join(out, "depth-latency.png"))
	if err := run(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "depth-latency.png")); err != nil {
		t.Error("suite not regenerated:", err)
	}
	// Without --suite-out, a new suite directory beside the first run.
	if err := run(dirs...); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "*-suite-report", suite.Index)); len(m) != 1 {
		t.Errorf("suite reports beside the runs: %v", m)
	}
	// A flag after the directories is the command's (it used to be refused).
	out2 := filepath.Join(root, "suite-out-2")
	if err := runCLI(t, "report", dirs[0], "--suite-out", out2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out2, suite.Index)); err != nil {
		t.Errorf("report RUNDIR --suite-out DIR: %v", err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "give a run directory"},
		{[]string{filepath.Join(root, "nope")}, "no such file"},
	} {
		if err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("report %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}
