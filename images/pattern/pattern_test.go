package pattern

import (
	"bytes"
	"testing"
)

func TestWriteCheck(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, 64, 7); err != nil {
		t.Fatal(err)
	}
	img := buf.Bytes()
	tests := []struct {
		name    string
		first   uint64
		n       int
		seed    uint64
		corrupt int // byte offset to flip, -1 for none
		wantErr bool
	}{
		{"one block", 5, 1, 7, -1, false},
		{"4 KiB", 8, 8, 7, -1, false},
		{"wrong seed", 5, 1, 8, -1, true},
		{"wrong block", 6, 1, 7, -1, true},
		{"flipped tail byte", 9, 2, 7, 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), img[tt.first*BlockSize:(tt.first+uint64(tt.n))*BlockSize]...)
			if tt.corrupt >= 0 {
				b[tt.corrupt] ^= 1
			}
			first := tt.first
			if tt.name == "wrong block" {
				first++
			}
			err := Check(b, first, tt.seed)
			if (err != nil) != tt.wantErr {
				t.Errorf("Check err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if err := Check(make([]byte, 100), 0, 7); err == nil {
		t.Error("Check of a short buffer succeeded")
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	_ = Write(&a, 16, 3)
	_ = Write(&b, 16, 3)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed gave different images")
	}
}
