package runner

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows points done/total with an ETA on a terminal, and one
// line per point otherwise (logs, CI).
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	n   int
	tot int
}

func newProgress(w io.Writer, total int, name string) *progress {
	p := &progress{w: w, tot: total}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) point(line string) {
	p.n++
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.w, "run: [%d/%d] %s\n", p.n, p.tot, line)
	if p.bar != nil {
		p.bar.Add(1)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
