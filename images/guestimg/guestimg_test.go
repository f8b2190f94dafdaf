package guestimg

import (
	"os"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/images/btree"
	"github.com/bpfstor/bpfstor/images/pattern"
)

func TestParseBTree(t *testing.T) {
	tests := []struct {
		in      string
		want    btree.Params
		wantErr string
	}{
		{"keys=1000", btree.Params{Keys: 1000, Fanout: 31, Seed: 1}, ""},
		{"keys=100,fanout=2,seed=9", btree.Params{Keys: 100, Fanout: 2, Seed: 9}, ""},
		{"fanout=3", btree.Params{}, "keys=N is required"},
		{"keys=x", btree.Params{}, "is not a number"},
		{"keys=10,colour=2", btree.Params{}, "unknown key"},
		{"keys", btree.Params{}, "not key=value"},
		{"keys=10,fanout=40", btree.Params{}, "fanout"},
	}
	for _, tt := range tests {
		got, err := ParseBTree(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseBTree(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBTree(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestBuildData(t *testing.T) {
	dir := t.TempDir()
	d, err := BuildPattern(dir, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(d.Path)
	if len(b) != 1<<20 || pattern.Check(b[:4096], 0, 5) != nil {
		t.Errorf("pattern image wrong (%d bytes)", len(b))
	}
	if _, err := BuildPattern(dir, 0, 5); err == nil {
		t.Error("zero-size image accepted")
	}
	bt, info, err := BuildBTree(dir, btree.Params{Keys: 500, Fanout: 4, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	tr, f, err := btree.OpenFile(bt.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tr.Verify(); err != nil || info.Depth != int(tr.Superblock().Depth) {
		t.Errorf("tree: %v", err)
	}
}
