// Command bpfstor is the experiment harness for BPF storage functions:
// it builds the patched kernel and guest image, boots them in QEMU with an
// emulated NVMe device, runs the experiment specs and reports the results.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bpfstor/bpfstor/harness/compare"
	"github.com/bpfstor/bpfstor/harness/guest"
	"github.com/bpfstor/bpfstor/harness/host"
	"github.com/bpfstor/bpfstor/harness/kbuild"
	"github.com/bpfstor/bpfstor/harness/proto"
	"github.com/bpfstor/bpfstor/harness/report"
	"github.com/bpfstor/bpfstor/harness/report/suite"
	"github.com/bpfstor/bpfstor/harness/results"
	"github.com/bpfstor/bpfstor/harness/runner"
	"github.com/bpfstor/bpfstor/harness/spec"
	"github.com/bpfstor/bpfstor/harness/vm"
	"github.com/bpfstor/bpfstor/images/guestimg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := app()
	if err := a.RunContext(ctx, reorderArgs(a, os.Args)); err != nil {
		fmt.Fprintf(os.Stderr, "bpfstor: %s\n", oneLine(err))
		os.Exit(exitCode(err))
	}
}

// oneLine is err's message on one line (errors.Join puts each on its own).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func app() *cli.App {
	return &cli.App{
		Name:  "bpfstor",
		Usage: "reproducible experiments with BPF storage functions (HotOS'21 / XRP) on Linux 6.12",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "repo", Usage: "bpfstor source tree (default: found from the working directory)"},
			&cli.StringFlag{Name: "cache", Usage: "cache directory", Value: runner.DefaultCache()},
			&cli.StringFlag{Name: "results", Usage: "results directory (default REPO/results)"},
			&cli.StringFlag{Name: "accel", Usage: "force the accelerator: kvm or tcg (default: the spec's, auto = probe KVM)"},
		},
		Commands: []*cli.Command{
			doctorCmd(), kernelCmd(), imageCmd(), vmCmd(), runCmd(), testCmd(), reportCmd(), compareCmd(),
		},
	}
}

// reorderArgs lets flags go where users put them: global flags after the
// subcommand (run --results X) and command flags after the positional
// arguments (run a.toml --force) are moved to where urfave/cli parses
// them (global flags after the program name, command flags before the
// arguments). Everything after "--" stays an argument.
func reorderArgs(a *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	takesValue := func(flags []cli.Flag, name string) (found, value bool) {
		for _, f := range flags {
			for _, n := range f.Names() {
				if n == name {
					_, isBool := f.(*cli.BoolFlag)
					return true, !isBool
				}
			}
		}
		return false, false
	}
	flagName := func(tok string) (string, bool) {
		if len(tok) < 2 || tok[0] != '-' || tok == "--" {
			return "", false
		}
		n, _, hasEq := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		return n, hasEq
	}
	global := []string{}
	rest := args[1:]
	// Global flags before the command stay global.
	for len(rest) > 0 {
		n, hasEq := flagName(rest[0])
		if n == "" {
			break
		}
		global = append(global, rest[0])
		rest = rest[1:]
		if ok, val := takesValue(a.Flags, n); ok && val && !hasEq && len(rest) > 0 {
			global, rest = append(global, rest[0]), rest[1:]
		}
	}
	// The command path: command and subcommand names.
	var path []string
	cmds := a.Commands
	var cmd *cli.Command
	for len(rest) > 0 {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(rest[0]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, path, rest, cmds = next, append(path, rest[0]), rest[1:], next.Subcommands
	}
	if cmd == nil {
		return args
	}
	var local, positional []string
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		if tok == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		n, hasEq := flagName(tok)
		if n == "" {
			positional = append(positional, tok)
			continue
		}
		dst := &local
		ok, val := takesValue(cmd.Flags, n)
		if !ok {
			if ok, val = takesValue(a.Flags, n); ok {
				dst = &global
			}
		}
		*dst = append(*dst, tok)
		if val && !hasEq && i+1 < len(rest) {
			i++
			*dst = append(*dst, rest[i])
		}
	}
	out := append([]string{args[0]}, global...)
	out = append(append(out, path...), local...)
	return append(out, positional...)
}

func env(c *cli.Context) (*runner.Env, error) {
	repo := c.String("repo")
	if repo == "" {
		wd, _ := os.Getwd()
		r, err := runner.FindRepo(wd)
		if err != nil {
			return nil, err
		}
		repo = r
	}
	res := c.String("results")
	if res == "" {
		res = filepath.Join(repo, "results")
	}
	accel := c.String("accel")
	if accel != "" && accel != "kvm" && accel != "tcg" {
		return nil, fmt.Errorf("--accel %q: want kvm or tcg", accel)
	}
	return &runner.Env{Repo: repo, Cache: c.String("cache"), Results: res, Accel: accel, Progress: os.Stderr}, nil
}

func doctorCmd() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check every host requirement; prints the fix for each failure",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "no-probe", Usage: "skip the accelerator boot probe (it builds the kernel if needed)"}},
		Action: func(c *cli.Context) error {
			e, err := env(c)
			if err != nil {
				return err
			}
			probe := func() (string, error) {
				if v, ok := e.CachedAccel(); ok {
					return v + " (cached)", nil
				}
				if err := host.KVMUsable(); err != nil {
					return "tcg: " + err.Error(), nil
				}
				return "not probed (--no-probe): /dev/kvm opens; run bpfstor doctor to boot-probe KVM", nil
			}
			if !c.Bool("no-probe") {
				probe = func() (string, error) {
					e.Progress = nil
					k, err := e.Kernel(c.Context, "default")
					if err != nil {
						return "", fmt.Errorf("cannot probe without a kernel: %v", err)
					}
					img, err := e.Initramfs(c.Context, nil)
					if err != nil {
						return "", fmt.Errorf("cannot probe without a guest image: %v", err)
					}
					a, note := e.ResolveAccel(c.Context, "auto", k, img)
					return a + ": " + note, nil
				}
			}
			if _, ok := host.RunChecks(os.Stdout, host.Checks(kbuild.DefaultTarball, e.Cache, e.Results, probe)); !ok {
				return errors.New("doctor: required checks failed (make deps installs the packages)")
			}
			return nil
		},
	}
}

func kernelCmd() *cli.Command {
	return &cli.Command{
		Name:  "kernel",
		Usage: "kernel commands",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build (or find cached) the patched guest kernel",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "src", Usage: "kernel tree to build instead of Debian's linux-source-6.12 tarball"},
				&cli.StringFlag{Name: "patches", Usage: "patch series directory (default REPO/kernel/patches; '' for none)"},
				&cli.StringSliceFlag{Name: "config", Usage: "config fragment(s) merged onto tinyconfig (default: the variant's)"},
				&cli.StringFlag{Name: "variant", Value: "default", Usage: "default or debug"},
				&cli.BoolFlag{Name: "force", Usage: "rebuild even if cached"},
			},
			Action: func(c *cli.Context) error {
				e, err := env(c)
				if err != nil {
					return err
				}
				if err := e.CheckDirs(false); err != nil {
					return err
				}
				e.KernelSrc, e.ConfigFragments, e.ForceKernel = c.String("src"), c.StringSlice("config"), c.Bool("force")
				if c.IsSet("patches") {
					p := c.String("patches")
					e.Patches = &p
				}
				start := time.Now()
				k, err := e.Kernel(c.Context, c.String("variant"))
				if err != nil {
					return err
				}
				state := "built"
				if k.Cached {
					state = "cached"
				}
				fmt.Printf("kernel %s %s in %.1fs: %s\n  release %s, %d patch(es), series %s, config %s\n",
					k.Key, state, time.Since(start).Seconds(), k.BzImage, k.Release, len(k.Patches), k.PatchHash, k.ConfigHash)
				return nil
			},
		}},
	}
}

func imageCmd() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "guest image commands",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build the initramfs (guest agent with the BPF objects embedded, bpfstor-ktest, tools) and the NVMe data image",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "tool", Usage: "host tool to include with its libraries (e.g. fio)"},
				&cli.IntFlag{Name: "data-size-mb", Value: 64, Usage: "size of the NVMe data image"},
				&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "data image seed"},
				&cli.StringFlag{Name: "btree", Usage: "also build a B+-tree image: keys=N,fanout=F,seed=S"},
				&cli.StringFlag{Name: "fs", Usage: "with --btree, also the tree as the file /" + proto.DataFile + " on this file system (ext4), as a spec's data.fs"},
			},
			Action: func(c *cli.Context) error {
				e, err := env(c)
				if err != nil {
					return err
				}
				if err := e.CheckDirs(false); err != nil {
					return err
				}
				img, err := e.Initramfs(c.Context, c.StringSlice("tool"))
				if err != nil {
					return err
				}
				d, err := guestimg.BuildPattern(filepath.Join(e.Cache, "images"), c.Int("data-size-mb"), c.Uint64("seed"))
				if err != nil {
					return err
				}
				fmt.Printf("initramfs %s (%d files)\nnvme image %s (%s, %d MiB)\n", img.Path, len(img.Files), d.Path, d.Kind, d.SizeBytes>>20)
				if bt := c.String("btree"); bt != "" {
					p, err := guestimg.ParseBTree(bt)
					if err != nil {
						return err
					}
					start := time.Now()
					d, info, err := guestimg.BuildBTree(filepath.Join(e.Cache, "images"), p)
					if err != nil {
						return err
					}
					fmt.Printf("btree image %s (%s) in %v\n", d.Path, info, time.Since(start).Round(time.Millisecond))
					if fs := c.String("fs"); fs != "" {
						start = time.Now()
						if d, err = guestimg.WithFS(c.Context, d, fs); err != nil {
							return err
						}
						fmt.Printf("%s image %s (%d MiB, the tree as /%s) in %v\n", d.FS, d.Path, d.SizeBytes>>20, proto.DataFile, time.Since(start).Round(time.Millisecond))
					}
				} else if c.String("fs") != "" {
					return fmt.Errorf("image build: --fs %s holds a B+-tree image: give --btree keys=N too", c.String("fs"))
				}
				return nil
			},
		}},
	}
}

func vmCmd() *cli.Command {
	return &cli.Command{
		Name:  "vm",
		Usage: "virtual machine commands",
		Subcommands: []*cli.Command{{
			Name:  "run",
			Usage: "boot the guest with an emulated NVMe device, check the agent reports, and stop it",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "kernel", Usage: "bzImage (default: the cached default kernel, built if needed)"},
				&cli.StringFlag{Name: "initramfs", Usage: "initramfs (default: built)"},
				&cli.StringFlag{Name: "nvme-image", Usage: "NVMe backing image (default: the 64 MiB pattern image)"},
				&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "boot timeout"},
				&cli.IntFlag{Name: "cpus", Value: 2},
				&cli.IntFlag{Name: "memory-mb", Value: 512},
				&cli.IntFlag{Name: "boots", Value: 1, Usage: "boot this many times and report boot-to-agent times"},
				&cli.IntFlag{Name: "preads", Usage: "also run this many 512 B preads and print their percentiles"},
			},
			Action: vmRun,
		}},
	}
}

func vmRun(c *cli.Context) error {
	e, err := env(c)
	if err != nil {
		return err
	}
	kernel, initrd, nvme := c.String("kernel"), c.String("initramfs"), c.String("nvme-image")
	if n := c.Int("boots"); n < 1 {
		return fmt.Errorf("vm run: --boots %d: want at least 1", n)
	}
	if n := c.Int("preads"); n < 0 {
		return fmt.Errorf("vm run: --preads %d: want 0 (none) or more", n)
	}
	if nvme != "" {
		if err := guestimg.CheckData(nvme); err != nil {
			return fmt.Errorf("vm run: --nvme-image: %w", err)
		}
	}
	if err := e.CheckDirs(false); err != nil {
		return err
	}
	if kernel == "" {
		k, err := e.Kernel(c.Context, "default")
		if err != nil {
			return err
		}
		kernel = k.BzImage
	}
	var img *guestimg.Initramfs
	if initrd == "" {
		if img, err = e.Initramfs(c.Context, nil); err != nil {
			return err
		}
		initrd = img.Path
	} else {
		img = &guestimg.Initramfs{Path: initrd}
	}
	if nvme == "" {
		d, err := guestimg.BuildPattern(filepath.Join(e.Cache, "images"), 64, 1)
		if err != nil {
			return err
		}
		nvme = d.Path
	}
	accel := e.Accel
	if accel == "" {
		accel, _ = e.ResolveAccel(c.Context, "auto", &kbuild.Kernel{BzImage: kernel}, img)
	}
	job := &proto.Job{Name: "vm-run", Device: runner.GuestDevice, Seed: 1}
	if n := c.Int("preads"); n > 0 {
		job.Points = []proto.PointSpec{{ID: "pread", Workload: proto.Workload{Kind: proto.KindPread, BlockSize: 512, Ops: n, Warmup: n / 10}}}
	}
	var boots []time.Duration
	for i := 0; i < c.Int("boots"); i++ {
		dir, err := os.MkdirTemp("", "bpfstor-vm-run-")
		if err != nil {
			return err
		}
		out, err := guest.Run(c.Context, vm.Config{
			Kernel: kernel, Initramfs: initrd, CPUs: c.Int("cpus"), MemoryMB: c.Int("memory-mb"), Accel: accel,
			Disks: []vm.Disk{{Path: nvme}}, Dir: dir,
		}, job, guest.Options{BootTimeout: c.Duration("timeout"), JobTimeout: 10 * time.Minute})
		if err != nil {
			os.RemoveAll(dir) // nothing ran: nothing to keep
			return err
		}
		if !out.Complete { // the reason names the console kept in dir
			return fmt.Errorf("vm run: boot %d: %s", i+1, out.Reason)
		}
		h := out.Hello
		fmt.Printf("boot %d: agent ready in %v (kernel uptime at /init %v, clocksource %s after waiting %v), kernel %s, %d vCPU, %d MiB, accel %s, devices %v\n",
			i+1, out.BootTime.Round(time.Millisecond), time.Duration(h.UptimeNs).Round(time.Millisecond), h.Clocksource, time.Duration(h.ClocksourceWaitNs).Round(time.Millisecond),
			h.KernelRelease, h.CPUs, h.MemTotalKB>>10, accel, h.Devices)
		var bad []string
		for _, p := range out.Points {
			fmt.Println("  " + runner.PointLine(results.FromWire(p)))
			if p.Status != proto.StatusOK {
				bad = append(bad, runner.PointLine(results.FromWire(p)))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("vm run: boot %d: %s (console: %s)", i+1, strings.Join(bad, "; "), out.Console)
		}
		if len(out.Points) < len(job.Points) {
			return fmt.Errorf("vm run: boot %d: the agent sent %d of %d point(s) (console: %s)", i+1, len(out.Points), len(job.Points), out.Console)
		}
		os.RemoveAll(dir)
		boots = append(boots, out.BootTime)
	}
	if len(boots) > 1 {
		sort.Slice(boots, func(i, j int) bool { return boots[i] < boots[j] })
		fmt.Printf("boot to agent over %d boots: median %v, min %v, max %v\n", len(boots),
			boots[len(boots)/2].Round(time.Millisecond), boots[0].Round(time.Millisecond), boots[len(boots)-1].Round(time.Millisecond))
	}
	return nil
}

func runCmd() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run experiment specs (TOML) and write results/<time>-<name>/",
		ArgsUsage: "SPEC.toml...",
		Description: "With --suite NAME, runs the specs listed in experiments/NAME.suite (after any given), goes on when one\n" +
			"fails, and ends with a suite report in results/<time>-suite-NAME/ (index.md, cross-run figures), marked\n" +
			"partial when a spec failed or made no run.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "src", Usage: "kernel tree to build instead of Debian's tarball"},
			&cli.BoolFlag{Name: "force", Usage: "measure every point again, even those measured before with the same inputs"},
			&cli.StringFlag{Name: "suite", Usage: "run the specs listed in experiments/NAME.suite (e.g. default) and write a suite report"},
			&cli.Float64Flag{Name: "remeasure-steal", Usage: "measure again, once, every point during which the hypervisor stole more than this share of the host's CPU time (e.g. 0.05)"},
		},
		Action: func(c *cli.Context) error {
			e, err := env(c)
			if err != nil {
				return err
			}
			files := c.Args().Slice()
			suiteName := c.String("suite")
			if suiteName != "" {
				more, err := runner.Suite(e.Repo, suiteName)
				if err != nil {
					return err
				}
				files = append(files, more...)
			}
			if len(files) == 0 {
				return errors.New("run: no spec given (e.g. bpfstor run experiments/baseline.toml, or --suite default)")
			}
			e.KernelSrc = c.String("src")
			var specs []*spec.Spec
			for _, f := range files {
				s, err := spec.Load(f)
				if err != nil {
					return err // every spec is checked before anything runs
				}
				specs = append(specs, s)
			}
			if err := e.CheckDirs(true); err != nil {
				return err
			}
			start := time.Now()
			var failed, dirs []string
			var missing []suite.Missing
			for i, s := range specs {
				if c.Context.Err() != nil {
					for _, rest := range specs[i:] {
						missing = append(missing, suite.Missing{Spec: rest.File, Error: "not run: interrupted"})
					}
					break
				}
				res, dir, err := runner.Run(c.Context, e, s, runner.Options{Force: c.Bool("force"), RemeasureSteal: c.Float64("remeasure-steal")})
				if err != nil {
					err = fmt.Errorf("run %s: %w", s.Name, err)
					if suiteName == "" && res == nil {
						return err
					}
					// A suite goes on: the rest of it is still worth measuring.
					fmt.Fprintf(os.Stderr, "bpfstor: %v\n", err)
					failed = append(failed, err.Error())
					if dir == "" || res == nil {
						missing = append(missing, suite.Missing{Spec: s.File, Error: err.Error()})
						continue
					}
				}
				dirs = append(dirs, dir)
				// Printed even when result.json could not be written: the
				// points measured are on the terminal, never lost.
				report.Text(os.Stdout, res)
				if err := report.Write(dir, res); err != nil {
					fmt.Fprintf(os.Stderr, "bpfstor: %v\n", err)
					failed = append(failed, fmt.Sprintf("%s: %v", s.Name, err))
				}
				fmt.Printf("\nresults: %s (report.md, results.csv, figures)\n", dir)
				if res.Status != results.StatusOK {
					failed = append(failed, fmt.Sprintf("%s: %s (%s)", s.Name, res.Status, res.Reason))
				}
			}
			if suiteName != "" {
				out, err := results.NewRunDir(e.Results, "suite-"+suiteName, start)
				if err == nil {
					err = suite.Write(out, dirs, suite.Options{Name: suiteName, Missing: missing})
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "bpfstor: suite report: %v\n", err)
					failed = append(failed, "suite report: "+err.Error())
				} else {
					fmt.Printf("\nsuite report: %s (%d run(s), %d spec(s) without a run)\n", filepath.Join(out, suite.Index), len(dirs), len(missing))
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("run: %s", strings.Join(failed, "; "))
			}
			return nil
		},
	}
}

func reportCmd() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write report.md, PNG figures and results.csv into run directories (and a suite report over several)",
		ArgsUsage: "RUNDIR... | SUITEDIR",
		Description: "One RUNDIR: its report. Several RUNDIRs (or --suite-out): each run's report, then a suite report\n" +
			"(index.md, cross-run figures such as lookup latency vs B+-tree depth) in --suite-out DIR, by default a new\n" +
			"<time>-suite-report directory beside the first run. A SUITEDIR (made by run --suite, or an earlier suite\n" +
			"report) regenerates its runs' reports and its index in place.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "text", Usage: "only print the text summary, write no files"},
			&cli.StringFlag{Name: "suite-out", Usage: "write the suite report of the given runs into DIR"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return errors.New("report: give a run directory (e.g. results/20261125-120000-baseline), several, or a suite directory")
			}
			for _, a := range args {
				if _, err := os.Stat(a); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			start := time.Now()
			suiteOut, opts := c.String("suite-out"), suite.Options{}
			var runs []string
			for _, a := range args {
				if !suite.IsDir(a) {
					runs = append(runs, a)
					continue
				}
				if len(args) > 1 {
					fmt.Fprintf(os.Stderr, "report: %s is a suite directory, not a run: skipped (give it alone to regenerate it)\n", a)
					continue
				}
				m, rs, err := suite.Read(a)
				if err != nil {
					return err
				}
				runs, suiteOut, opts = rs, a, suite.Options{Name: m.Name, Missing: m.Missing}
			}
			multi := len(runs) > 1 || suiteOut != ""
			var errs []error
			for _, dir := range runs {
				if err := reportRun(dir, !multi || c.Bool("text"), c.Bool("text")); err != nil {
					if !multi {
						return err
					}
					errs = append(errs, err) // the suite report names the run too
				}
			}
			if !multi || c.Bool("text") {
				return errors.Join(errs...)
			}
			if suiteOut == "" {
				out, err := results.NewRunDir(filepath.Dir(filepath.Clean(runs[0])), "suite-report", time.Now())
				if err != nil {
					return err
				}
				suiteOut = out
			}
			if err := suite.Write(suiteOut, runs, opts); err != nil {
				errs = append(errs, err)
			}
			fmt.Printf("suite report: %s (%d run(s), %v in all)\n", filepath.Join(suiteOut, suite.Index), len(runs), time.Since(start).Round(time.Millisecond))
			return errors.Join(errs...)
		},
	}
}

// reportRun prints a run's text summary (when verbose) and writes its
// report files (unless textOnly).
func reportRun(dir string, verbose, textOnly bool) error {
	r, err := results.Read(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir) // given result.json itself
	}
	if verbose {
		report.Text(os.Stdout, r)
	}
	if textOnly {
		return nil
	}
	start := time.Now()
	err = report.Write(dir, r) // writes what it can even when a figure fails
	if verbose {
		fmt.Println()
	}
	fmt.Printf("report: %s (%v)\n", filepath.Join(dir, report.MarkdownFile), time.Since(start).Round(time.Millisecond))
	return err
}

func compareCmd() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "point-by-point change from run A to run B, with a Mann-Whitney U test over the repetitions",
		ArgsUsage: "RUNDIR_A RUNDIR_B",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return errors.New("compare: give two run directories, the reference first (e.g. bpfstor compare results/A results/B)")
			}
			a, err := results.Read(c.Args().Get(0))
			if err != nil {
				return err
			}
			b, err := results.Read(c.Args().Get(1))
			if err != nil {
				return err
			}
			return compare.Write(os.Stdout, a, b)
		},
	}
}
