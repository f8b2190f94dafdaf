package runner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var suiteNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Suite returns the spec files listed in REPO/experiments/NAME.suite (one
// path per line, relative to the repository; # starts a comment).
func Suite(repo, name string) ([]string, error) {
	if !suiteNameRE.MatchString(name) {
		return nil, fmt.Errorf("suite %q: not a suite name (e.g. default)", name)
	}
	path := filepath.Join(repo, "experiments", name+".suite")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("suite %s: %w (suites are experiments/*.suite)", name, err)
	}
	defer f.Close()
	var specs []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		if l == "" {
			continue
		}
		p := filepath.Join(repo, l)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s:%d: spec %s not found", path, n, l)
		}
		specs = append(specs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%s: lists no spec", path)
	}
	return specs, nil
}
