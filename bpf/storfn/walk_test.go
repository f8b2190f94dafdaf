package storfn

import "testing"

func TestClassify(t *testing.T) {
	s := WalkScratch{File: 7}
	periodic := WalkScratch{File: 7, Period: 4096}
	unit := func(magic, file, off, period, ver uint64) []byte {
		b := make([]byte, WalkUnit)
		FillWalk(b, magic, file, off, period, ver)
		return b
	}
	for _, tc := range []struct {
		name  string
		block []byte
		s     WalkScratch
		off   uint64
		want  int
	}{
		{"ours", unit(WalkMagicFile, 7, 1024, 0, 3), s, 1024, WalkOurs},
		{"ours, any version", unit(WalkMagicFile, 7, 1024, 0, 9), s, 1024, WalkOurs},
		{"another offset's", unit(WalkMagicFile, 7, 512, 0, 0), s, 1024, WalkWrong},
		{"another file's", unit(WalkMagicFile, 8, 1024, 0, 0), s, 1024, WalkWrong},
		{"victim", unit(WalkMagicVictim, 0, 1024, 0, 0), s, 1024, WalkVictim},
		{"zeros", make([]byte, WalkUnit), s, 1024, WalkZero},
		{"periodic, shifted by the period", unit(WalkMagicFile, 7, 4096+512, 4096, 0), periodic, 8192 + 512, WalkOurs},
		{"periodic, shifted by less", unit(WalkMagicFile, 7, 1024, 4096, 0), periodic, 512, WalkWrong},
		{"garbage", append([]byte("not a header at all, just bytes!"), make([]byte, WalkUnit-32)...), s, 0, WalkWrong},
	} {
		if got := Classify(tc.block, tc.s, tc.off); got != tc.want {
			t.Errorf("%s: kind %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestFillWalkUnitsDiffer(t *testing.T) {
	a, b := make([]byte, 2*WalkUnit), make([]byte, 2*WalkUnit)
	FillWalk(a, WalkMagicFile, 1, 0, 0, 0)
	FillWalk(b, WalkMagicFile, 1, 0, 0, 1)
	if string(a[:WalkUnit]) == string(a[WalkUnit:]) || string(a) == string(b) {
		t.Fatal("units of different offsets or versions are equal")
	}
	s, err := UnmarshalWalkScratch(WalkScratch{File: 3, Depth: 9}.Marshal())
	if err != nil || s.File != 3 || s.Depth != 9 {
		t.Fatalf("scratch round trip: %+v %v", s, err)
	}
}
