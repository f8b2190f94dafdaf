package proto

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bpfstor/bpfstor/harness/hist"
)

func TestConnRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	c := NewConn(nil, &buf)
	h := hist.New()
	h.Record(123 * time.Microsecond)
	msgs := []*Message{
		{Type: TypeHello, Hello: &Hello{KernelRelease: "6.12.117", Clocksource: "tsc"}},
		{Type: TypePoint, Point: &Point{ID: "pread-0/rep0", Status: StatusOK, Latency: h}},
		{Type: TypeDone},
	}
	for _, m := range msgs {
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	// Noise before and between messages (a port opened mid-line) is skipped.
	in := "garbage\n\n" + buf.String()
	r := NewConn(strings.NewReader(in), io.Discard)
	for i, want := range msgs {
		got, err := r.Recv()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Type != want.Type {
			t.Errorf("message %d type %s, want %s", i, got.Type, want.Type)
		}
	}
	if p := msgsPoint(t, buf.String()); p.Latency.Count() != 1 {
		t.Error("histogram lost on the wire")
	}
	if _, err := r.Recv(); err != io.EOF {
		t.Errorf("after the last message: %v, want EOF", err)
	}
}

func msgsPoint(t *testing.T, s string) *Point {
	r := NewConn(strings.NewReader(s), io.Discard)
	for {
		m, err := r.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.Point != nil {
			return m.Point
		}
	}
}

func TestRecvErrors(t *testing.T) {
	for _, in := range []string{`{"type":`, `{"text":"no type"}`} {
		if _, err := NewConn(strings.NewReader(in+"\n"), io.Discard).Recv(); err == nil || err == io.EOF {
			t.Errorf("Recv(%q) = %v, want a decode error", in, err)
		}
	}
}
