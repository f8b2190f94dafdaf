package initramfs

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cavaliergopher/cpio"
)

func readAll(t *testing.T, b []byte) map[string]string {
	t.Helper()
	r := cpio.NewReader(bytes.NewReader(b))
	out := map[string]string{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		switch {
		case h.Mode.IsDir():
			out[h.Name] = "dir"
		case h.Linkname != "":
			out[h.Name] = "-> " + h.Linkname
		default:
			out[h.Name] = string(data)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f")
	os.WriteFile(src, []byte("hello"), 0o644)
	b := New()
	if err := b.AddFile("/bin/f", src, 0o755); err != nil {
		t.Fatal(err)
	}
	b.AddData("etc/job.json", []byte("{}"), 0o644)
	b.AddSymlink("/sbin/init", "/bin/f")
	b.AddDir("/proc")
	var buf bytes.Buffer
	if err := b.Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, buf.Bytes())
	want := map[string]string{"bin": "dir", "bin/f": "hello", "etc": "dir", "etc/job.json": "{}", "sbin": "dir", "sbin/init": "-> /bin/f", "proc": "dir"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries %v, want %d", len(got), got, len(want))
	}
}

func TestReproducible(t *testing.T) {
	mk := func() []byte {
		b := New()
		b.AddData("b", []byte("2"), 0o644)
		b.AddData("a/x", []byte("1"), 0o644)
		var buf bytes.Buffer
		if err := b.Write(&buf, true); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a1, a2 := mk(), mk()
	if !bytes.Equal(a1, a2) {
		t.Error("two builds of the same archive differ")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a1))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if readAll(t, raw)["a/x"] != "1" {
		t.Error("gzip archive content wrong")
	}
}

func TestAddELF(t *testing.T) {
	exe := "/bin/true"
	if _, err := os.Stat(exe); err != nil {
		t.Skip("no /bin/true")
	}
	b := New()
	if err := b.AddELF("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	var hasLibc, hasInterp bool
	for _, p := range b.Paths() {
		switch filepath.Base(p) {
		case "libc.so.6":
			hasLibc = true
		case "ld-linux-x86-64.so.2":
			hasInterp = true
		}
	}
	if !hasLibc || !hasInterp {
		t.Errorf("AddELF(/bin/true) = %v, want libc and the loader", b.Paths())
	}
}

func TestAddFileErrors(t *testing.T) {
	b := New()
	if err := b.AddFile("x", "/nonexistent/file", 0o644); err == nil {
		t.Error("AddFile of a missing file succeeded")
	}
	if err := b.AddFile("x", t.TempDir(), 0o644); err == nil {
		t.Error("AddFile of a directory succeeded")
	}
}
