package kbuild

import (
	"bufio"
	"fmt"
	"io"
	"os"
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
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(f, path)
}

// CheckConfig returns an error naming every requested option that did not
// end up in the final config with the requested value (Kconfig silently
// drops options whose dependencies are not met).
func CheckConfig(requested, final []Option) error {
	have := map[string]string{}
	for _, o := range final {
		have[o.Name] = o.Value
	}
	var bad []string
	for _, o := range requested {
		got, ok := have[o.Name]
		if !ok {
			got = "n" // absent means unset
		}
		if got != o.Value {
			bad = append(bad, fmt.Sprintf("%s=%s requested at %s, got %s", o.Name, o.Value, o.Where, got))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("kernel config: %d option(s) could not be set (a dependency is missing: add it to the fragment): %s",
			len(bad), strings.Join(bad, "; "))
	}
	return nil
}
