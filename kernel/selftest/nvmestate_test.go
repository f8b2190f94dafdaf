package selftest

import (
	"fmt"
	"strings"
	"testing"
)

func traceLine(name string, qid int, cid uint16) string {
	if name == "nvme_setup_cmd" {
		return fmt.Sprintf("  bpfstor-ktest-91 [001] ..... 12.5: nvme_setup_cmd: nvme1: disk=nvme0c1n1, qid=%d, cmdid=%d, nsid=1, flags=0x0, meta=0x0, cmd=(nvme_cmd_read slba=8, len=0)", qid, cid)
	}
	return fmt.Sprintf("  <idle>-0 [001] d.h1. 12.6: nvme_chain_resubmit: nvme1: disk=nvme0c1n1, qid=%d, cmdid=%d, slba=16, sectors=1, hop=1", qid, cid)
}

func TestChainCIDs(t *testing.T) {
	setup := func(qid int, cid uint16) string { return traceLine("nvme_setup_cmd", qid, cid) }
	hop := func(qid int, cid uint16) string { return traceLine("nvme_chain_resubmit", qid, cid) }
	for _, tc := range []struct {
		name  string
		lines []string
		hops  int
		want  string // substring of the error; "" = ok
	}{
		{"advances", []string{setup(1, 0x1005), hop(1, 0x2005), hop(1, 0x3005)}, 2, ""},
		{"wraps", []string{setup(1, 0xe007), hop(1, 0xf007), hop(1, 0x0007), hop(1, 0x1007)}, 3, ""},
		{"other commands between", []string{setup(1, 0x1005), setup(1, 0x4003), hop(1, 0x2005), setup(2, 0x9001), hop(1, 0x3005)}, 2, ""},
		{"no generation (today's bug)", []string{setup(1, 0x1005), hop(1, 0x1005), hop(1, 0x1005)}, 2, "did not advance"},
		{"skipped generation", []string{setup(1, 0x1005), hop(1, 0x3005)}, 1, "did not advance"},
		{"other tag", []string{setup(1, 0x1005), hop(1, 0x2005), hop(1, 0x3006)}, 2, "same queue and tag"},
		{"other queue", []string{setup(1, 0x1005), hop(1, 0x2005), hop(2, 0x3005)}, 2, "same queue and tag"},
		{"missing hop", []string{setup(1, 0x1005), hop(1, 0x2005)}, 2, "traced 1 resubmitted commands for 2"},
		{"no driver hops", []string{setup(1, 0x1005)}, 0, "traced 0"},
		{"no setup", []string{hop(1, 0x2005)}, 1, "no nvme_setup_cmd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chainCIDs(parseNVMeEvents(strings.Join(tc.lines, "\n")), tc.hops)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
