// Package atomicfile writes the report files: through path.tmp and a
// rename, so that a reader never sees half a file.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Write writes path through path.tmp and a rename, so that a reader
// never sees half a file; write makes the content.
func Write(path string, write func(io.Writer) error) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	// The writers print with fmt and do not check each write: a buffered
	// writer keeps the first error (a full disk) for Flush to report.
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return fmt.Errorf("report: %s: %w", path, err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
