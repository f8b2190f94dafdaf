package compare

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/results"
)

// reps makes n repetitions of a chain workload around mean.
func reps(seed uint64, depth int, mode string, n int, mean time.Duration) []*results.Point {
	rng := rand.New(rand.NewPCG(seed, uint64(depth)))
	w := proto.Workload{Kind: "chain", BlockSize: 512, Depth: depth, Mode: mode, Ops: 300}
	var ps []*results.Point
	for i := 0; i < n; i++ {
		m := time.Duration(float64(mean) * (1 + 0.01*rng.NormFloat64()))
		ps = append(ps, fixture.Synth(rng, fmt.Sprintf("chain/d%d/%s/rep%d", depth, mode, i), i, w, m, 300))
	}
	return ps
}

func run(name string, pss ...[]*results.Point) *results.Result {
	r := &results.Result{Schema: results.Schema, Name: name, Status: results.StatusOK, Meta: fixture.Meta("kvm")}
	for _, ps := range pss {
		r.Points = append(r.Points, ps...)
	}
	return r
}

func TestCompare(t *testing.T) {
	// 8 repetitions: the smallest p, 2/C(16, 8) = 0.00016, survives Holm
	// over the 8 tests (2 workloads × 4 statistics).
	same := reps(1, 1, "pread", 8, 12*time.Microsecond)
	a := run("before",
		reps(2, 3, "driver", 8, 24*time.Microsecond), // regresses by 30 % in b
		same,
		reps(3, 2, "syscall", 8, 20*time.Microsecond), // b has only 2 ok reps
		reps(4, 4, "driver", 8, 30*time.Microsecond),  // only in a
	)
	bFew := reps(5, 2, "syscall", 3, 20*time.Microsecond)
	bFew[2].Status, bFew[2].Error = proto.StatusFailed, "guest crashed"
	b := run("after",
		reps(6, 3, "driver", 8, 31200*time.Nanosecond),
		same,
		bFew,
		reps(7, 5, "driver", 8, 30*time.Microsecond), // only in b
	)
	b.Meta.PatchSeriesHash = "0therpatchseries"
	b.Meta.DataFS = proto.FSExt4
	lo, hi := 0.01, 0.097
	a.Meta.HostSteal, b.Meta.HostSteal = &lo, &hi

	c := Runs(a, b)
	verdict := map[string]string{}
	for _, ch := range c.Changes {
		verdict[ch.Workload+" "+ch.Stat.Name] = ch.Verdict
	}
	tests := []struct{ key, want string }{
		{"chain bs=512 depth=3 mode=driver p50", VerdictWorse},
		{"chain bs=512 depth=3 mode=driver mean", VerdictWorse},
		{"chain bs=512 depth=3 mode=driver IOPS", VerdictWorse},
		{"chain bs=512 depth=1 mode=pread p50", VerdictSame},
		{"chain bs=512 depth=1 mode=pread IOPS", VerdictSame},
		{"chain bs=512 depth=2 mode=syscall p50", VerdictTooFew},
	}
	for _, tt := range tests {
		if got := verdict[tt.key]; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.key, got, tt.want)
		}
	}
	// A clear improvement is called better.
	c2 := Runs(b, a)
	for _, ch := range c2.Changes {
		// p99 of 300 ops is too noisy to survive Holm (checked above: it is left out).
		if strings.HasPrefix(ch.Workload, "chain bs=512 depth=3") && ch.Stat.Name != "p99" && ch.Verdict != VerdictBetter {
			t.Errorf("reverse %s %s: %q, want %q", ch.Workload, ch.Stat.Name, ch.Verdict, VerdictBetter)
		}
	}
	if strings.Join(c.OnlyA, ",") != "chain bs=512 depth=4 mode=driver" || strings.Join(c.OnlyB, ",") != "chain bs=512 depth=5 mode=driver" {
		t.Errorf("only in A %v, only in B %v", c.OnlyA, c.OnlyB)
	}

	var out bytes.Buffer
	if err := Write(&out, a, b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"A = before (ok, 32 points), B = after (ok, 27 points)",
		"after Holm's correction for 8 tests",
		"+7.2 µs (+6.9 µs … +7.7 µs)", // the Hodges–Lehmann shift of p50
		"differs: patch series p47c4e5e71e5 → 0therpatchs",
		"differs: data file system none (raw device) → ext4",
		"differs: hypervisor steal 1.0 % → 9.7 % of the host's CPU time",
		"exact (permutation distribution",
		"smallest possible p is 0.10",
		"not enough repetitions",
		"8,2", // the n<3 side is shown
		"+31.",
		"failed in B (left out): chain/d2/syscall/rep2 (chain bs=512 depth=2 mode=syscall): guest crashed",
		"significant: worse",
		"only in A: chain bs=512 depth=4 mode=driver",
		"only in B: chain bs=512 depth=5 mode=driver",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("compare output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestCompareRecorded compares the recorded runs: nothing in common but
// nothing breaks, and a run compared with itself shows no change.
func TestCompareRecorded(t *testing.T) {
	chain, partial := fixture.Read(t, "chain"), fixture.Read(t, "partial")
	c := Runs(chain, chain)
	if len(c.Changes) == 0 {
		t.Fatal("no changes compared")
	}
	for _, ch := range c.Changes { // 3 repetitions: p ≥ 0.1, nothing can be significant
		if ch.Verdict != VerdictUnreachable || ch.Pct != 0 || ch.Shift.Estimate != 0 {
			t.Errorf("%s %s against itself: %q %+.1f%%", ch.Workload, ch.Stat.Name, ch.Verdict, ch.Pct)
		}
	}
	var out bytes.Buffer
	if err := Write(&out, chain, partial); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "differs: accel kvm → tcg") || !strings.Contains(out.String(), "only in B: pread bs=4096") {
		t.Errorf("compare chain/partial:\n%s", out.String())
	}
	out.Reset()
	if err := Write(&out, chain, chain); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"WARNING: with 3 repetitions per side the smallest reachable p is 0.100 ≥ 0.05",
		"+0.0 µs (no 95% interval)", "Repetitions to detect a 10 % change (power 80 %, α 0.05, before Holm)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("compare chain/chain lacks %q:\n%s", s, out.String())
		}
	}
}
