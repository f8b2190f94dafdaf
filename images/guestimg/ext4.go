package guestimg

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/images/ext4img"
)

// Ext4Suffix ends the name of a data image wrapped in ext4 (WithFS): the
// raw image's name with .img replaced, so that a raw and an ext4 image of
// the same data never share a cache entry or a point's input hash
// (runner.Inputs.DataImage).
const Ext4Suffix = ".ext4.img"

// Ext4SizeMB is the size of the ext4 file system that holds a file of
// size bytes: the file, a quarter more for the file system's metadata
// (inode tables, journal, extent blocks) and 8 MiB besides.
func Ext4SizeMB(size int64) int {
	const mib = 1 << 20
	return int((size+size/4+mib-1)/mib) + 8
}

// WithFS returns the data image d as the spec's data.fs holds it:
// d itself for proto.FSRaw; for proto.FSExt4, an ext4 image (built from
// d each time, as BuildBTree builds d: ext4img makes the same bytes from
// the same file) whose root holds d's bytes as the file proto.DataFile.
func WithFS(ctx context.Context, d *Data, fs string) (*Data, error) {
	switch fs {
	case proto.FSRaw:
		return d, nil
	case proto.FSExt4:
		return buildExt4(ctx, d)
	default:
		return nil, fmt.Errorf("image build: data file system %q is not one of %q", fs, proto.FSNames)
	}
}

func buildExt4(ctx context.Context, d *Data) (*Data, error) {
	if d.FS != proto.FSRaw {
		return nil, fmt.Errorf("image build: %s is already on %s", d.Path, d.FS)
	}
	dir := filepath.Dir(d.Path)
	dst := strings.TrimSuffix(d.Path, ".img") + Ext4Suffix
	// Everything in a temporary directory of its own beside the image:
	// concurrent runs of one spec build the same image at once.
	tmp, err := os.MkdirTemp(dir, "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	file := filepath.Join(root, proto.DataFile)
	// The modes are set, not left to the umask: they are bytes of the image.
	if err := os.Mkdir(root, 0o755); err == nil {
		err = os.Chmod(root, 0o755)
	}
	if err == nil {
		err = linkOrCopy(d.Path, file)
	}
	if err == nil {
		err = os.Chmod(file, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("image build: %s: %w", dst, err)
	}
	o := ext4img.Defaults
	o.SizeMB = Ext4SizeMB(d.SizeBytes)
	out := filepath.Join(tmp, "fs.img")
	if err := ext4img.Build(ctx, out, root, o); err != nil {
		return nil, fmt.Errorf("image build: %s: %w", dst, err)
	}
	if err := os.Rename(out, dst); err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	return &Data{Path: dst, Kind: d.Kind, FS: proto.FSExt4, SizeBytes: int64(o.SizeMB) << 20, Seed: d.Seed, FileBytes: d.SizeBytes}, nil
}

// linkOrCopy makes dst hold src's bytes: a hard link, or a copy where
// links cannot be made.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
