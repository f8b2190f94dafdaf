package testreport

import (
	"bytes"
	"io"
	"sort"
	"testing"
)

var writers = []struct {
	ext   string
	write func(io.Writer, *Suite) error
}{
	{"ktap", WriteKTAP},
	{"tap", WriteTAP},
	{"xml", WriteJUnit},
}

// render returns every golden suite's output in one format, by file name.
func render(t *testing.T, ext string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, w := range writers {
		if w.ext != ext {
			continue
		}
		for name, s := range goldenSuites(t) {
			var b bytes.Buffer
			if err := w.write(&b, s); err != nil {
				t.Fatalf("%s %s: %v", ext, name, err)
			}
			out[name+"."+ext] = b.Bytes()
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestWritersGolden(t *testing.T) {
	for _, w := range writers {
		files := render(t, w.ext)
		for _, name := range sortedKeys(files) {
			t.Run(name, func(t *testing.T) { golden(t, name, files[name]) })
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestWritersReportWriteErrors(t *testing.T) {
	for _, w := range writers {
		if err := w.write(failWriter{}, sampleSuite()); err == nil {
			t.Errorf("%s: no error from a failing writer", w.ext)
		}
	}
}
