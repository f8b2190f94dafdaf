package host

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// Check is one host requirement.
type Check struct {
	Name     string
	Required bool
	// Run returns what was found, or an error.
	Run func() (string, error)
	// Fix is the command that fixes a failure.
	Fix string
}

// CheckResult is a check's outcome.
type CheckResult struct {
	Check
	OK     bool
	Detail string
}

// Packages are the Debian packages bpfstor needs (installed by make deps).
var Packages = []string{
	"qemu-system-x86", "linux-source-6.12", "build-essential", "bc", "flex", "bison",
	"libelf-dev", "libssl-dev", "cpio", "kmod", "clang", "llvm", "libbpf-dev", "fio", "git",
	"libxml2-utils", // xmllint: the JUnit schema test (harness/testreport)
}

func lookCmd(name, versionArg string) func() (string, error) {
	return func() (string, error) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s not found", name)
		}
		if versionArg == "" {
			return p, nil
		}
		out, err := exec.Command(p, versionArg).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v", p, versionArg, err)
		}
		l, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return l, nil
	}
}

// Checks returns the host checks. kernelTarball is the source tarball;
// cacheDir is where builds go (its free space is checked); kvm reports the
// accelerator probe's verdict (it boots a VM) and may be nil.
func Checks(kernelTarball, cacheDir, resultsDir string, kvm func() (string, error)) []Check {
	cs := []Check{
		{Name: "cache directory", Required: true, Run: func() (string, error) {
			return cacheDir + " writable by " + UserName(), WritableDir(cacheDir, "cache", "--cache")
		}, Fix: "make it writable by this user, or pass --cache DIR (or set XDG_CACHE_HOME)"},
		{Name: "results directory", Required: true, Run: func() (string, error) {
			return resultsDir + " writable by " + UserName(), WritableDir(resultsDir, "results", "--results")
		}, Fix: "make it writable by this user, or pass --results DIR"},
		{Name: "/dev/kvm", Required: false, Run: func() (string, error) {
			if err := KVMUsable(); err != nil {
				return "", fmt.Errorf("%w; TCG (slower) is used", err)
			}
			return "opened read-write by " + UserName(), nil
		}, Fix: "add the user to group kvm (sudo adduser " + userShort() + " kvm, then log in again), or ignore: TCG works"},
		{Name: "qemu", Required: true, Run: func() (string, error) {
			v, err := QEMUVersion("qemu-system-x86_64")
			if err != nil {
				return "", err
			}
			return "qemu-system-x86_64 " + v, nil
		}, Fix: "apt-get install qemu-system-x86"},
		{Name: "kernel source", Required: true, Run: func() (string, error) {
			fi, err := os.Stat(kernelTarball)
			if err != nil {
				return "", fmt.Errorf("%s not found", kernelTarball)
			}
			return fmt.Sprintf("%s (%d MiB)", kernelTarball, fi.Size()>>20), nil
		}, Fix: "apt-get install linux-source-6.12 (or pass --src DIR to kernel build)"},
		{Name: "gcc", Required: true, Run: lookCmd("gcc", "--version"), Fix: "apt-get install build-essential"},
		{Name: "make", Required: true, Run: lookCmd("make", "--version"), Fix: "apt-get install build-essential"},
		{Name: "flex", Required: true, Run: lookCmd("flex", "--version"), Fix: "apt-get install flex"},
		{Name: "bison", Required: true, Run: lookCmd("bison", "--version"), Fix: "apt-get install bison"},
		{Name: "bc", Required: true, Run: lookCmd("bc", ""), Fix: "apt-get install bc"},
		{Name: "libelf", Required: true, Run: fileCheck("/usr/include/libelf.h"), Fix: "apt-get install libelf-dev"},
		{Name: "openssl headers", Required: true, Run: fileCheck("/usr/include/openssl/ssl.h"), Fix: "apt-get install libssl-dev"},
		// The BPF objects are generated and committed (bpf/objs): clang and
		// libbpf's headers are needed only to regenerate them (make generate,
		// and make lint, which checks they are up to date).
		{Name: "clang (make generate)", Required: false, Run: lookCmd("clang", "--version"), Fix: "apt-get install clang llvm"},
		{Name: "libbpf headers (make generate)", Required: false, Run: fileCheck("/usr/include/bpf/bpf_helpers.h"), Fix: "apt-get install libbpf-dev"},
		{Name: "go", Required: true, Run: lookCmd("go", "version"), Fix: "install Go >= 1.26 (https://go.dev/dl)"},
		{Name: "git", Required: true, Run: lookCmd("git", "--version"), Fix: "apt-get install git"},
		{Name: "fio (fidelity check)", Required: false, Run: lookCmd("fio", "--version"), Fix: "apt-get install fio"},
		{Name: "disk space", Required: true, Run: func() (string, error) {
			dir := cacheDir
			for dir != "/" {
				if _, err := os.Stat(dir); err == nil {
					break
				}
				dir = parent(dir)
			}
			var st unix.Statfs_t
			if err := unix.Statfs(dir, &st); err != nil {
				return "", err
			}
			free := st.Bavail * uint64(st.Bsize) >> 30
			if free < 8 {
				return "", fmt.Errorf("%d GiB free under %s, need 8 GiB (a kernel tree and its build)", free, dir)
			}
			return fmt.Sprintf("%d GiB free under %s", free, dir), nil
		}, Fix: "free disk space or set XDG_CACHE_HOME to a larger disk"},
	}
	if kvm != nil {
		cs = append(cs, Check{Name: "accelerator", Required: true, Run: kvm, Fix: "apt-get install qemu-system-x86"})
	}
	return cs
}

func parent(p string) string {
	i := strings.LastIndexByte(strings.TrimRight(p, "/"), '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func fileCheck(p string) func() (string, error) {
	return func() (string, error) {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s not found", p)
		}
		return p, nil
	}
}

// RunChecks runs the checks, printing one line each, and reports whether
// every required check passed.
func RunChecks(w io.Writer, cs []Check) ([]CheckResult, bool) {
	ok := true
	var rs []CheckResult
	for _, c := range cs {
		detail, err := c.Run()
		r := CheckResult{Check: c, OK: err == nil, Detail: detail}
		switch {
		case err == nil:
			fmt.Fprintf(w, "ok    %-22s %s\n", c.Name, detail)
		case c.Required:
			ok = false
			r.Detail = err.Error()
			fmt.Fprintf(w, "FAIL  %-22s %s; fix: %s\n", c.Name, err, c.Fix)
		default:
			r.Detail = err.Error()
			fmt.Fprintf(w, "warn  %-22s %s; fix: %s\n", c.Name, err, c.Fix)
		}
		rs = append(rs, r)
	}
	return rs, ok
}
