package splitmix

import "testing"

// TestReference pins the first outputs of splitmix64 seeded with 0, as
// Vigna's reference splitmix64.c prints them, and the finalizer of 1.
func TestReference(t *testing.T) {
	var s uint64
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := Next(&s); got != want {
			t.Errorf("output %d = %#x, want %#x", i, got, want)
		}
	}
	if got := Mix(1); got != 0x5692161d100b05e5 {
		t.Errorf("Mix(1) = %#x", got)
	}
	if Mix(0) != 0 {
		t.Error("Mix(0) != 0")
	}
}
