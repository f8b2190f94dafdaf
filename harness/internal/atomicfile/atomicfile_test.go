package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/internal/testfs"
)

// On a full disk the report is not written and the error says so; an
// empty report.md used to be renamed into place and the command exited 0.
func TestWriteFileFullDisk(t *testing.T) {
	dir, _ := testfs.Full(t)
	path := filepath.Join(dir, "report.md")
	err := Write(path, func(w io.Writer) error {
		fmt.Fprint(w, strings.Repeat("a report line that does not fit\n", 4096))
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ENOSPC naming %s", err, path)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s exists after a failed write", path)
	}
	if _, err := os.Stat(path + ".tmp"); err == nil {
		t.Errorf("%s.tmp left behind", path)
	}
}
