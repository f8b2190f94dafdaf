package kbuild

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Option is one kernel config request: Name (CONFIG_X) and Value ("y",
// "m", a number or quoted string, or "n" for "# CONFIG_X is not set").
type Option struct {
	Name  string
	Value string
	// Where is file:line of the request.
	Where string
}

// ParseConfig reads config lines (a fragment or a full .config). Comments
// other than "# CONFIG_X is not set" and blank lines are skipped.
func ParseConfig(r io.Reader, file string) ([]Option, error) {
	var opts []Option
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		where := fmt.Sprintf("%s:%d", file, n)
		switch {
		case l == "":
		case strings.HasPrefix(l, "# CONFIG_") && strings.HasSuffix(l, " is not set"):
			name := strings.TrimSuffix(strings.TrimPrefix(l, "# "), " is not set")
			opts = append(opts, Option{Name: name, Value: "n", Where: where})
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "CONFIG_"):
			name, val, ok := strings.Cut(l, "=")
			if !ok || val == "" {
				return nil, fmt.Errorf("%s: %q is not CONFIG_NAME=value", where, l)
			}
			opts = append(opts, Option{Name: name, Value: val, Where: where})
		default:
			return nil, fmt.Errorf("%s: %q is not a config line (CONFIG_NAME=value or # CONFIG_NAME is not set)", where, l)
		}
	}
	return opts, sc.Err()
}

// ParseConfigFile reads a config file.
func ParseConfigFile(path string) ([]Option, error) {
	return parseConfigAs(path, path)
}

// parseConfigAs reads the config file path, naming it name in Where (a
// snapshot is named by the user's file).
func parseConfigAs(path, name string) ([]Option, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(f, name)
}

var kconfigRE = regexp.MustCompile(`(?m)^[ \t]*(?:menu)?config[ \t]+([A-Za-z0-9_]+)[ \t]*$`)

// KconfigSymbols returns the CONFIG_ names the Kconfig files of a kernel
// tree define.
func KconfigSymbols(tree string) (map[string]bool, error) {
	syms := map[string]bool{}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != tree && (strings.HasPrefix(n, ".") || n == "Documentation" || n == "tools") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), "Kconfig") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range kconfigRE.FindAllSubmatch(b, -1) {
			syms["CONFIG_"+string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read Kconfig files: %w", err)
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("%s has no Kconfig files", tree)
	}
	return syms, nil
}

// CheckConfig returns an error naming every requested option that did not
// end up in the final config with the requested value: options this kernel
// does not have (known, the tree's Kconfig symbols, unless nil) apart from
// those Kconfig dropped because a dependency is not met.
func CheckConfig(requested, final []Option, known map[string]bool) error {
	have := map[string]string{}
	for _, o := range final {
		have[o.Name] = o.Value
	}
	var unknown, bad []string
	for _, o := range requested {
		got, ok := have[o.Name]
		if !ok {
			got = "n" // absent means unset
		}
		switch {
		case got == o.Value:
		case known != nil && !known[o.Name]:
			unknown = append(unknown, fmt.Sprintf("%s at %s", o.Name, o.Where))
		default:
			bad = append(bad, fmt.Sprintf("%s=%s requested at %s, got %s", o.Name, o.Value, o.Where, got))
		}
	}
	var msgs []string
	if len(unknown) > 0 {
		sort.Strings(unknown)
		msgs = append(msgs, fmt.Sprintf("%d option(s) unknown to this kernel (misspelt, or removed from it: fix or delete the line): %s",
			len(unknown), strings.Join(unknown, "; ")))
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		msgs = append(msgs, fmt.Sprintf("%d option(s) could not be set (a dependency is missing: add it to the fragment): %s",
			len(bad), strings.Join(bad, "; ")))
	}
	if len(msgs) > 0 {
		return fmt.Errorf("kernel config: %s", strings.Join(msgs, "; "))
	}
	return nil
}
