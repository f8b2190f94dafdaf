package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfstor/bpfstor/harness/internal/fixture"
	"github.com/bpfstor/bpfstor/harness/results"
)

// The committed runs (all bpfstor.result/v1, read by converting) render
// today to the report.md and results.csv committed beside them, byte for
// byte: reading an older schema changes nothing a report shows.
func TestRecordedRunsRenderAsCommitted(t *testing.T) {
	for _, d := range fixture.RecordedRuns(t) {
		t.Run(filepath.Base(d), func(t *testing.T) {
			r, err := results.Read(d)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := Write(out, r); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{MarkdownFile, CSVFile} {
				want, err := os.ReadFile(filepath.Join(d, f))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s renders differently from the committed one", f)
				}
			}
		})
	}
}
